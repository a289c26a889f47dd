"""Certified norms of a network's weights: the arithmetic behind every Lipschitz bound.

Norms are computed by the SVD (or the Gram matrix's top eigenvalue), never by
the power-iteration estimate used during training, and every computed
quantity is inflated by a rigorous bound on its floating-point error, so the
results are upper bounds of the true norms, not approximations. Layers are
scaled by exact powers of two so that products neither overflow nor
underflow. :mod:`sklip.lipschitz` (the public bounds) and the training
engine's hard budget (:mod:`sklip.neural_network._certified_training`, which
verifies its own result) both stand on this module.
"""

import numpy as np

from .network import Network

_EPS = np.finfo(np.float64).eps
# From this smallest dimension on, norms go through the Gram matrix.
_GRAM_MIN_DIM = 64


def gamma(n):
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
    fro2 = float(np.einsum("ij,ij->", A, A)) * (1 + gamma(A.size))
    top = top * (1 + 8 * G.shape[0] * _EPS) + gamma(max(A.shape)) * fro2
    return float(np.sqrt(top)) * (1 + _EPS)


def _frobenius_norm(A):
    """Upper bound of ``||A||_F`` (sum of squares error at most ``gamma_n``)."""
    return float(np.linalg.norm(A)) * (1 + gamma(A.size + 2))


class Chain:
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
                norms[i, j] = _svd_norm(P) + gamma(inner) * fro
            self.tails.append(P)
            self.tail_slack[i] = gamma(inner) * np.prod(self.fro[i : m - 1])
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


def round_up(value, n_ops):
    """Inflate a positive value by the error of ``n_ops`` float operations."""
    return value * (1 + gamma(2 * n_ops + 2))


def rescale(value, log2_scale):
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


def chain_bounds(chain, method):
    """Dict of the certified bounds ``method`` needs (all of them for auto)."""
    m, c = chain.m, chain.c
    bounds = {}
    if method == "frobenius":
        bounds["frobenius"] = c ** (m - 1) * np.prod(chain.fro)
        return {k: round_up(v, 2 * m) for k, v in bounds.items()}
    if method == "spectral":
        bounds["spectral"] = c ** (m - 1) * np.prod(chain.layer_norms)
        return {k: round_up(v, 2 * m) for k, v in bounds.items()}
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
    return {k: round_up(v, 2 * m) for k, v in bounds.items()}


def certified_bound(network, method):
    """Certified upper bound of the L2 Lipschitz constant of ``network``.

    Parameters
    ----------
    network : Network
        The chain whose constant is bounded.
    method : {"auto", "frobenius", "spectral", "combettes-pesquet"}
        Which bound; ``"auto"`` is the smallest available.

    Returns
    -------
    bound : float
        An upper bound of the constant, rounded up.

    Examples
    --------
    >>> import numpy as np
    >>> from sklip._core.certified_norms import certified_bound
    >>> from sklip._core.network import Network
    >>> net = Network([np.array([[3.0], [4.0]])], [np.zeros(1)], "identity")
    >>> round(certified_bound(net, "spectral"), 6)
    5.0
    """
    if not isinstance(network, Network):
        raise TypeError(f"network must be a Network; got {type(network).__name__}.")
    chain = Chain(network)
    bounds = chain_bounds(chain, method)
    value = min(bounds.values()) if method == "auto" else bounds[method]
    return float(rescale(value, chain.log2_scale))
