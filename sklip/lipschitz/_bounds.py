"""Certified upper bounds of the L2 Lipschitz constant of fitted models.

All bounds concern the map from the raw input to the raw outputs given by
:func:`~sklip.lipschitz.as_network`. Write the network with column vectors as
``f(x) = M_m phi(M_{m-1} ... phi(M_1 x + b_1) ... ) + b_m`` where
``M_l = W_l^T`` for scikit-learn's ``coefs_[l]`` (``||M_l||_2 = ||W_l||_2``),
and let ``c`` be the Lipschitz constant of the activation ``phi`` (1 for ReLU,
tanh and identity, 1/4 for the logistic sigmoid).

Certification: norms are computed by the SVD (never by the power-iteration
estimate used during training), and every computed quantity is inflated by a
rigorous bound on its floating-point error (see :func:`_segment_norms`), so the
returned numbers are upper bounds of the true constant, not approximations.
"""

import numpy as np

from .._core.network import Network
from .._core.view import ModelView, output_kind
from .._validation import resolve_features

METHODS = ("auto", "frobenius", "spectral", "combettes-pesquet")
_EPS = np.finfo(np.float64).eps
# From this smallest dimension on, norms go through the Gram matrix.
_GRAM_MIN_DIM = 64


def _check_method(method):
    if not isinstance(method, str) or method not in METHODS:
        raise ValueError(
            f"The 'method' parameter must be one of {list(METHODS)}; got {method!r}."
        )


def _gamma(n):
    """Higham's ``gamma_n = n u / (1 - n u)``, ``u = eps / 2``."""
    nu = n * _EPS / 2
    return nu / (1 - nu)


def _svd_norm(A):
    """Certified upper bound of ``||A||_2``.

    Small matrices: the SVD's top value plus its backward error; LAPACK
    returns the singular values of ``A + E`` with ``||E||_2 <= p(n) eps
    ||A||_2``, and ``p(n) = 8 max(A.shape)`` is a generous choice of the
    "modest" growth function.

    Large matrices: the top eigenvalue of the smaller Gram matrix ``G``
    (2-3 times faster than the SVD). The computed ``G_hat`` satisfies
    ``|G_hat - G| <= gamma_k |A|^T |A|`` elementwise (``k`` the inner
    dimension), so ``||G_hat - G||_2 <= gamma_k ||A||_F^2``, and the symmetric
    eigensolver is backward stable in the same sense as the SVD; both errors
    are added before taking the square root. Only the *top* eigenvalue is
    used, which the Gram matrix does not degrade relative to ``||A||_2^2``.
    """
    if A.size == 0:
        return 0.0
    if min(A.shape) < _GRAM_MIN_DIM:
        return float(np.linalg.norm(A, 2)) * (1 + 8 * max(A.shape) * _EPS)
    G = A.T @ A if A.shape[0] >= A.shape[1] else A @ A.T
    top = max(float(np.linalg.eigvalsh(G)[-1]), 0.0)
    fro2 = float(np.einsum("ij,ij->", A, A)) * (1 + _gamma(A.size))
    top = top * (1 + 8 * G.shape[0] * _EPS) + _gamma(max(A.shape)) * fro2
    return float(np.sqrt(top)) * (1 + _EPS)


def _frobenius_norm(A):
    """Upper bound of ``||A||_F`` (sum of squares error at most ``gamma_n``)."""
    return float(np.linalg.norm(A)) * (1 + _gamma(A.size + 2))


class _Chain:
    """The weights of a network in float64 plus the products the bounds reuse.

    ``norms[i, j]`` (``i <= j``) bounds ``||W_i W_{i+1} ... W_j||_2``, each
    segment product formed once by extending ``W_i ... W_{j-1}`` on the right,
    so the ``m (m + 1) / 2`` segments cost ``O(m^2)`` products and norms.
    ``tails[i]`` is the computed product ``W_i ... W_{m-1}`` (used for the
    pairwise bounds) and ``tail_slack[i]`` bounds the error of each of its
    columns divided by the norm of the matching column of ``W_{m-1}``.

    Rounding: a computed product of matrices satisfies
    ``|P_hat - P| <= gamma_n |W_i| ... |W_j|`` elementwise with ``n`` the sum
    of the inner dimensions, hence ``||P_hat - P||_2 <= gamma_n prod ||W||_F``;
    this slack is added to the norm of ``P_hat``.
    """

    def __init__(self, network):
        coefs = [np.asarray(W, dtype=np.float64) for W in network.coefs]
        for layer, W in enumerate(coefs):
            if not np.all(np.isfinite(W)):
                raise ValueError(
                    f"Layer {layer} has non-finite (NaN or infinite) weights: "
                    "there is no finite Lipschitz bound to certify."
                )
        # Each layer is scaled by a power of two (exact) so that its largest
        # entry lies in [0.5, 1): products and sums of norms can neither
        # overflow (inf * 0 = NaN) nor underflow to 0, and every bound is the
        # normalised one times 2**log2_scale, applied once at the end by
        # :func:`_rescale`. Entries pushed into the subnormal range lose at
        # most 2**-1074 each, far below the relative slack every computed
        # norm already carries (the normalised norms are >= 0.5).
        self.exponents = [
            int(np.frexp(np.abs(W).max())[1]) if W.size and W.any() else 0
            for W in coefs
        ]
        self.coefs = [np.ldexp(W, -e) for W, e in zip(coefs, self.exponents)]
        self.log2_scale = sum(self.exponents)
        self.m = len(self.coefs)
        act = network.act
        self.c = float(act.lipschitz)
        self.averaged = bool(act.averaged)
        self.affine = network.activation == "identity"
        self.fro = np.array([_frobenius_norm(W) for W in self.coefs])
        self._norms = None

    @property
    def layer_norms(self):
        if self._norms is not None:
            return np.diag(self._norms).copy()
        return np.array([_svd_norm(W) for W in self.coefs])

    def segments(self):
        """``(norms, tails, tail_slack)``: every segment product and its bound, once.

        Computed on the first call and cached; see the class docstring.
        """
        if self._norms is not None:
            return self._norms, self.tails, self.tail_slack
        m = self.m
        norms = np.zeros((m, m))
        self.tails, self.tail_slack = [], np.zeros(m)
        for i in range(m):
            P = self.coefs[i]
            norms[i, i] = _svd_norm(P)
            inner = 0
            for j in range(i + 1, m):
                inner += P.shape[1]
                P = P @ self.coefs[j]
                fro = np.prod(self.fro[i : j + 1])
                norms[i, j] = _svd_norm(P) + _gamma(inner) * fro
            self.tails.append(P)
            self.tail_slack[i] = _gamma(inner) * np.prod(self.fro[i : m - 1])
        self._norms = norms
        return norms, self.tails, self.tail_slack

    def prefix_sums(self, norms, n_layers):
        """Combettes-Pesquet sums ``S[j]`` over the cut sets of the first ``j`` layers.

        ``S[0] = 1`` and ``S[j] = sum_{i < j} S[i] ||W_{i} ... W_{j-1}||``: the
        last segment of a cut set of layers ``0..j-1`` starts at some ``i``,
        and the cuts before it range over all cut sets of layers ``0..i-1``.
        This dynamic programme sums the ``2^(j-1)`` products in ``O(j^2)``.
        """
        S = np.zeros(n_layers + 1)
        S[0] = 1.0
        for j in range(1, n_layers + 1):
            S[j] = S[:j] @ norms[:j, j - 1]
        return S


def _round_up(value, n_ops):
    """Inflate a positive value by the error of ``n_ops`` float operations."""
    return value * (1 + _gamma(2 * n_ops + 2))


def _rescale(value, log2_scale):
    """``value * 2**log2_scale``, rounded up: exact in the normal range; a
    result in the subnormal range (or 0) is moved one step up so that a
    positive bound never underflows below the true value; a result beyond
    the float range is an error, not an infinite "certificate"."""
    value = np.asarray(value, dtype=np.float64)
    with np.errstate(over="ignore"):
        out = np.ldexp(value, log2_scale)
    if not np.all(np.isfinite(out)):
        raise ValueError(
            "The Lipschitz bound exceeds the float64 range (about 2**"
            f"{int(np.log2(np.max(value)) + log2_scale) if np.max(value) > 0 else 0}"
            "): the weights are too large for a finite certificate."
        )
    tiny = np.finfo(np.float64).tiny
    low = (value > 0) & (out < tiny)
    if np.any(low):
        out = np.where(low, np.nextafter(out, np.inf), out)
    return out if out.ndim else float(out)


def _chain_bounds(chain, method):
    """Dict of the certified bounds ``method`` needs (all of them for auto)."""
    m, c = chain.m, chain.c
    bounds = {}
    if method == "frobenius":
        bounds["frobenius"] = c ** (m - 1) * np.prod(chain.fro)
        return {k: _round_up(v, 2 * m) for k, v in bounds.items()}
    if method == "spectral":
        bounds["spectral"] = c ** (m - 1) * np.prod(chain.layer_norms)
        return {k: _round_up(v, 2 * m) for k, v in bounds.items()}
    if method == "combettes-pesquet" and not chain.averaged:  # pragma: no cover
        raise ValueError("The Combettes-Pesquet bound needs averaged activations.")
    norms, _, _ = chain.segments()
    bounds["spectral"] = c ** (m - 1) * np.prod(np.diag(norms))
    if chain.averaged:
        S = chain.prefix_sums(norms, m)
        bounds["combettes-pesquet"] = (c / 2) ** (m - 1) * S[m]
    if chain.affine:
        # An affine network is exactly x -> x @ (W_1 ... W_m) + b.
        bounds["exact"] = norms[0, m - 1]
    return {k: _round_up(v, 2 * m) for k, v in bounds.items()}


def _network_over(estimator, features):
    """The network whose constant is bounded: the folded network, or for
    ``features`` the one seen from those raw columns (first layer
    ``A_S W_1``), which bounds the model over them whatever the others."""
    if isinstance(estimator, Network):
        if features is None:
            return estimator
        columns = resolve_features(features, estimator.n_features_in)
        coefs = [estimator.coefs[0][columns]] + list(estimator.coefs[1:])
        return Network(coefs, list(estimator.intercepts), estimator.activation)
    return ModelView(estimator).network_for(features)


def lipschitz_bound(estimator, *, method="auto", features=None):
    r"""Certified upper bound of the L2 Lipschitz constant of a fitted model.

    Bounds ``sup_{x != x'} ||f(x) - f(x')||_2 / ||x - x'||_2`` where ``f`` maps
    the raw input (before pipeline preprocessing) to the raw outputs (logits /
    decision function, or the regression outputs), see
    :func:`~sklip.lipschitz.as_network`. With ``m`` affine layers
    ``W_1, ..., W_m`` and an activation of Lipschitz constant ``c`` (1 for
    ReLU, tanh and identity; 1/4 for logistic):

    - ``"frobenius"``: :math:`c^{m-1} \prod_l \|W_l\|_F`, the loosest;
    - ``"spectral"``: :math:`c^{m-1} \prod_l \|W_l\|_2`;
    - ``"combettes-pesquet"``: for activations whose slopes lie in
      :math:`[0, c]` (after factoring out ``c``, averaged operators),

      .. math::

         L \le \left(\frac{c}{2}\right)^{m-1} \sum_{J \subseteq \{1..m-1\}}
         \prod_{\text{segments } [i, j] \text{ cut by } J}
         \|W_i W_{i+1} \cdots W_j\|_2,

      e.g. :math:`(\|W_1 W_2\| + \|W_1\| \|W_2\|) c / 2` for ``m = 2``.
      Each term is at most the spectral product, so it is never looser, and
      it is exact for linear models. The ``2^{m-1}`` terms are summed by
      dynamic programming over the last cut, from the ``m (m+1)/2`` segment
      norms;
    - ``"auto"``: the smallest certified bound available (the
      Combettes-Pesquet and spectral bounds, and for identity activations the
      exact norm :math:`\|W_1 \cdots W_m\|_2`).

    Norms are exact (SVD) and every computed quantity is inflated by a bound
    on its rounding error, so the result is certified, not estimated.

    Parameters
    ----------
    estimator : estimator or Network
        A fitted model accepted by :func:`~sklip.lipschitz.as_network`.
    method : {"auto", "frobenius", "spectral", "combettes-pesquet"}, default="auto"
        Which bound to compute.
    features : str, int, array-like of str, int or bool, default=None
        Raw input columns the constant is taken over (names, indices or a
        boolean mask); the others are held fixed at any value. The bound is
        that of the network seen from those columns, first layer ``A_S W_1``.
        None: every column except the inputs of encoders (``OneHotEncoder``
        and the like in a ``ColumnTransformer``), which are held fixed.

    Returns
    -------
    bound : float
        Certified upper bound of the Lipschitz constant: finite, and positive
        unless the model is constant in the columns.

    Raises
    ------
    ValueError
        If the model has NaN/infinite weights, or the bound exceeds the
        float64 range; if ``features`` is invalid or names a categorical
        column.
    TypeError
        If the model has no network view, or a selected column enters
        through a non-affine step (the message names the step).

    See Also
    --------
    pairwise_lipschitz_bounds : Bounds of the logit differences, for margins.
    lipschitz_lower_bound : An empirical lower bound (attained by the model).

    References
    ----------
    P. L. Combettes and J.-C. Pesquet, "Lipschitz certificates for layered
    network structures driven by averaged activation operators", SIAM Journal
    on Mathematics of Data Science 2(2), 529-557, 2020.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LinearRegression
    >>> from sklip.lipschitz import lipschitz_bound
    >>> X = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    >>> reg = LinearRegression().fit(X, X @ [3.0, 4.0])
    >>> round(lipschitz_bound(reg), 6)  # ||(3, 4)||_2, exact for linear models
    5.0
    >>> round(lipschitz_bound(reg, method="frobenius"), 6)
    5.0
    """
    _check_method(method)
    chain = _Chain(_network_over(estimator, features))
    bounds = _chain_bounds(chain, method)
    value = min(bounds.values()) if method == "auto" else bounds[method]
    return float(_rescale(value, chain.log2_scale))


def _column_distances(R, slack):
    """``D[a, b]``: upper bound of ``||R_exact[:, a] - R_exact[:, b]||_2``.

    ``slack[a]`` bounds the error of the computed column ``a``. Loops over
    classes (not samples), each step vectorised over the other classes.
    """
    k = R.shape[1]
    D = np.empty((k, k))
    for a in range(k):
        D[a] = np.linalg.norm(R - R[:, [a]], axis=0)
    D *= 1 + _gamma(R.shape[0] + 3)
    D += slack[:, None] + slack[None, :]
    np.fill_diagonal(D, 0.0)
    return np.maximum(D, D.T)


def pairwise_lipschitz_bounds(estimator, *, method="auto", features=None):
    r"""Certified bounds of the Lipschitz constants of logit differences.

    For a classifier with logits ``f_1, ..., f_k`` returns ``K`` with
    ``K[i, j] >= Lip(f_i - f_j)``, ``K[i, i] = 0`` and ``K = K^T``. A point
    ``x`` predicted as ``y`` keeps its prediction under any perturbation
    ``delta`` with ``f_y(x) - f_i(x) > ||delta||_2 K[y, i]`` for all ``i != y``;
    this is sharper than the global ``sqrt(2) L`` of
    :func:`lipschitz_bound`.

    ``f_i - f_j`` is the network with the last layer replaced by the column
    difference ``w_i - w_j``, so each bound of :func:`lipschitz_bound`
    carries over with ``||W_m||`` replaced by ``||w_i - w_j||_2``:

    - ``"frobenius"``: :math:`c^{m-1} \prod_{l<m} \|W_l\|_F \|w_i - w_j\|_2`;
    - ``"spectral"``: :math:`c^{m-1} \prod_{l<m} \|W_l\|_2 \|w_i - w_j\|_2`;
    - ``"combettes-pesquet"``: the sum over cut sets of the first ``m - 1``
      layers, each last segment being the vector
      :math:`W_s \cdots W_{m-1} (w_i - w_j)` (Combettes & Pesquet, 2020);
    - ``"auto"``: the elementwise minimum of the certified bounds.

    Each entry is also capped by ``sqrt(2)`` times the matching
    :func:`lipschitz_bound`, since ``||e_i - e_j||_2 = sqrt(2)``.

    For a binary classifier with a single logit ``z`` (positive for
    ``classes_[1]``) the margin is ``|z|``, and the 2 x 2 matrix has
    :func:`lipschitz_bound` off the diagonal.

    Parameters
    ----------
    estimator : estimator or Network
        A fitted binary or multiclass classifier accepted by
        :func:`~sklip.lipschitz.as_network` (a bare ``Network`` is read as
        binary with one output, multiclass otherwise). Rows and columns follow
        ``estimator.classes_``.
    method : {"auto", "frobenius", "spectral", "combettes-pesquet"}, default="auto"
        Which bound to compute.
    features : str, int, array-like of str, int or bool, default=None
        Raw input columns the constants are taken over, as in
        :func:`lipschitz_bound`.

    Returns
    -------
    K : ndarray of shape (n_classes, n_classes)
        Symmetric, zero diagonal.

    Raises
    ------
    ValueError
        For regressors and multilabel classifiers (whose outputs are not
        compared with each other), or an unknown ``method``.

    References
    ----------
    P. L. Combettes and J.-C. Pesquet, "Lipschitz certificates for layered
    network structures driven by averaged activation operators", SIAM Journal
    on Mathematics of Data Science 2(2), 529-557, 2020.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklip.lipschitz import pairwise_lipschitz_bounds
    >>> X = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    >>> clf = LogisticRegression().fit(X, [0, 1, 2, 2])
    >>> K = pairwise_lipschitz_bounds(clf)
    >>> K.shape
    (3, 3)
    >>> W = clf.coef_
    >>> bool(np.isclose(K[0, 1], np.linalg.norm(W[0] - W[1])))
    True
    """
    _check_method(method)
    network = _network_over(estimator, features)
    if isinstance(estimator, Network):
        kind = "binary" if network.n_outputs == 1 else "multiclass"
    else:
        kind = output_kind(estimator)
    if kind not in ("binary", "multiclass"):
        raise ValueError(
            "pairwise_lipschitz_bounds needs a binary or multiclass classifier; "
            f"got a model with {kind} outputs."
        )
    if kind == "binary":
        L = lipschitz_bound(network, method=method)
        return np.array([[0.0, L], [L, 0.0]])

    chain = _Chain(network)
    m, c = chain.m, chain.c
    W_last = chain.coefs[-1]
    exact_last = np.zeros(W_last.shape[1])  # W_m is not a computed product
    candidates = {}
    if method == "frobenius":
        head = np.prod(chain.fro[:-1])
        candidates["frobenius"] = head * _column_distances(W_last, exact_last)
    elif method == "spectral":
        head = np.prod(chain.layer_norms[:-1])
        candidates["spectral"] = head * _column_distances(W_last, exact_last)
    else:
        norms, tails, tail_slack = chain.segments()
        col_norms = np.linalg.norm(W_last, axis=0)
        dists = [
            _column_distances(R, s * col_norms)
            for R, s in zip(tails, tail_slack, strict=True)
        ]
        candidates["spectral"] = np.prod(np.diag(norms)[:-1]) * dists[-1]
        if chain.averaged:
            S = chain.prefix_sums(norms, m - 1)
            cp = sum(S[i] * dists[i] for i in range(m))
            candidates["combettes-pesquet"] = cp / 2 ** (m - 1)
        if chain.affine:
            candidates["exact"] = dists[0]
        if method != "auto":
            candidates = {method: candidates[method]}
    K = np.minimum.reduce(
        [_round_up(c ** (m - 1) * Kc, 2 * m) for Kc in candidates.values()]
    )
    # Lip(f_i - f_j) <= ||e_i - e_j||_2 Lip(f) = sqrt(2) Lip(f): sometimes
    # tighter when the last-layer columns are far apart.
    bounds = _chain_bounds(chain, method)
    L = min(bounds.values()) if method == "auto" else bounds[method]
    K = np.minimum(K, _round_up(np.sqrt(2) * L, 2))
    np.fill_diagonal(K, 0.0)
    return _rescale(K, chain.log2_scale)
