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

from .._core.certified_norms import (
    Chain,
    certified_bound,
    chain_bounds,
    gamma,
    rescale,
    round_up,
)
from .._core.network import Network
from .._core.view import ModelView, output_kind
from .._validation import FEATURES, Choices, public, resolve_features

METHODS = ("auto", "frobenius", "spectral", "combettes-pesquet")
METHOD = [Choices(str, METHODS)]
# The estimator (or Network) is checked by as_network, which says what it
# must be.
BOUND_CONSTRAINTS = {
    "estimator": "no_validation",
    "method": METHOD,
    "features": FEATURES,
}


def _check_method(method):
    if not isinstance(method, str) or method not in METHODS:
        raise ValueError(
            f"The 'method' parameter must be one of {list(METHODS)}; got {method!r}."
        )


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


@public(BOUND_CONSTRAINTS)
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
    return certified_bound(_network_over(estimator, features), method)


def _column_distances(R, slack):
    """``D[a, b]``: upper bound of ``||R_exact[:, a] - R_exact[:, b]||_2``.

    ``slack[a]`` bounds the error of the computed column ``a``. Loops over
    classes (not samples), each step vectorised over the other classes.
    """
    k = R.shape[1]
    D = np.empty((k, k))
    for a in range(k):
        D[a] = np.linalg.norm(R - R[:, [a]], axis=0)
    D *= 1 + gamma(R.shape[0] + 3)
    D += slack[:, None] + slack[None, :]
    np.fill_diagonal(D, 0.0)
    return np.maximum(D, D.T)


@public(BOUND_CONSTRAINTS)
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

    chain = Chain(network)
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
        [round_up(c ** (m - 1) * Kc, 2 * m) for Kc in candidates.values()]
    )
    # Lip(f_i - f_j) <= ||e_i - e_j||_2 Lip(f) = sqrt(2) Lip(f): sometimes
    # tighter when the last-layer columns are far apart.
    bounds = chain_bounds(chain, method)
    L = min(bounds.values()) if method == "auto" else bounds[method]
    K = np.minimum(K, round_up(np.sqrt(2) * L, 2))
    np.fill_diagonal(K, 0.0)
    return rescale(K, chain.log2_scale)
