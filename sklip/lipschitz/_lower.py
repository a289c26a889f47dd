"""An empirical lower bound of the Lipschitz constant: a value the model attains.

For a differentiable ``f``, ``Lip(f) = sup_x ||J_f(x)||_2`` (Virmaux & Scaman,
2018), so the spectral norm of the Jacobian at *any* point is a lower bound.
We take the best over the data, then climb from the best rows. Any certified
upper bound must be at least this value, which is what makes it a useful test
oracle and a measure of how tight the upper bounds are.
"""

import numpy as np
import scipy.sparse as sp
from sklearn.utils import check_random_state

from .._core.inputs import Inputs
from .._core.network import Network
from .._core.view import _check_estimator
from .._validation import (
    SEED,
    SHARED,
    check_count,
    check_samples,
    count,
    public,
    resolve_features,
)

# Rows per Jacobian batch are chosen so that a batch holds about this many
# floats: bounded memory without a Python loop over samples.
_BATCH_FLOATS = 2**22


def _float64_network(network):
    return Network(
        [np.asarray(W, dtype=np.float64) for W in network.coefs],
        [np.asarray(b, dtype=np.float64) for b in network.intercepts],
        network.activation,
    )


def _top_singular(network, X, k):
    """Per row: top singular value and vectors ``(sigma, u, v)`` of ``J_S(x)``,
    the Jacobian w.r.t. the first ``k`` inputs (the movable ones)."""
    J = network.jacobian(X)[:, :, :k]
    finite = np.isfinite(J).all(axis=(1, 2))
    if finite.all():
        U, S, Vt = np.linalg.svd(J, full_matrices=False)
        return S[:, 0], U[:, :, 0], Vt[:, 0, :]
    # A candidate so far out that the network overflows there is no point
    # of the ascent: it scores -inf (never accepted), and the SVD, which
    # cannot take NaN, sees only the finite rows.
    n, m = J.shape[:2]
    sigma, u, v = np.full(n, -np.inf), np.zeros((n, m)), np.zeros((n, k))
    if finite.any():
        U, S, Vt = np.linalg.svd(J[finite], full_matrices=False)
        sigma[finite], u[finite], v[finite] = S[:, 0], U[:, :, 0], Vt[:, 0, :]
    return sigma, u, v


def _jacobian_norms(network, X, k):
    """``||J_S(x)||_2`` for every row of ``X``, in batches of rows."""
    rows = max(1, _BATCH_FLOATS // (network.n_outputs * max(network.layer_units)))
    norms = [
        np.linalg.svd(
            network.jacobian(X[start : start + rows])[:, :, :k], compute_uv=False
        )[:, 0]
        for start in range(0, X.shape[0], rows)
    ]
    return np.concatenate(norms)


class _Space:
    """The coordinates the ascent moves: a network on ``Z = [x_S, z_rest]``
    whose first ``k`` inputs are the raw columns ``S`` and whose other
    inputs (what the held columns and offsets feed the first layer) stay
    at their value in the starting row, plus the way back to a raw row."""

    def __init__(self, estimator, X, features):
        if isinstance(estimator, Network):
            network = _float64_network(estimator)
            X = check_samples(X, network.n_features_in, accept_sparse=True)
            if sp.issparse(X):
                X = X.toarray()
            d = X.shape[1]
            columns = (
                np.arange(d) if features is None else resolve_features(features, d)
            )
            # Columns S first, the others after: the same network, its first
            # layer's rows permuted, so the ascent only moves the first k.
            order = np.concatenate([columns, np.setdiff1d(np.arange(d), columns)])
            coefs = [network.coefs[0][order]] + list(network.coefs[1:])
            self.network = Network(coefs, list(network.intercepts), network.activation)
            self.Z, self.k = X[:, order], columns.size
            self.inputs, self._X, self._columns = None, X, columns
            self.missing = None
            return
        _check_estimator(estimator)
        inputs = Inputs(estimator, X, features)
        network, Z, _ = inputs.attack_space()
        self.network, self.Z, self.k = _float64_network(network), Z, inputs.columns.size
        self.inputs, self._X, self._columns = inputs, None, inputs.columns
        # NaN behind an imputer: the ascent moves observed entries only, so
        # the returned point (NaN kept) is where the norm was measured.
        self.missing = inputs.missing

    def point(self, row, xs):
        """Raw row ``row`` of ``X`` with the columns ``S`` set to ``xs``."""
        if self.inputs is None:
            out = np.array(self._X[row], dtype=np.float64)
            out[self._columns] = xs
            return out
        out = self.inputs.assemble(xs[None, :], rows=[row])
        if hasattr(out, "iloc"):
            return out
        return out.toarray()[0] if sp.issparse(out) else out[0]


@public(
    {
        **SHARED,
        # Seeds sklearn's check_random_state, which takes no Generator.
        "random_state": SEED,
        "n_restarts": [count(1)],
        "n_iter": [count(0)],
        "return_point": ["boolean"],
    }
)
def lipschitz_lower_bound(
    estimator,
    X,
    *,
    n_restarts=10,
    n_iter=30,
    random_state=None,
    return_point=False,
    features=None,
):
    r"""Empirical lower bound of the L2 Lipschitz constant, attained by the model.

    Since ``Lip(f) = sup_x ||J_f(x)||_2`` for the raw input -> raw output map
    ``f`` of :func:`~sklip.lipschitz.as_network` (Virmaux & Scaman, 2018),
    the largest Jacobian spectral norm over any set of points is a lower
    bound. This function

    1. evaluates :math:`\|J_f(x)\|_2` on every row of ``X``;
    2. starts ``n_restarts`` ascents from the best rows. With ``u, v`` the
       top singular vectors of ``J(x)``, the gradient of
       :math:`\sigma(x) = u^\top J(x) v` is the directional derivative of the
       vector-Jacobian product along ``v``, estimated by the central
       difference :math:`(u^\top J(x + h v) - u^\top J(x - h v)) / (2h)`.
       The step ``h`` adapts per start (doubled on success, halved on
       failure); when the difference vanishes (piecewise-linear ReLU
       networks inside one linear region) a random direction is tried.
       Moves that do not decrease the norm are kept (so plateaus are
       crossed); all starts are advanced together, without a loop over
       samples.

    With ``features``, the constant is the one over the raw columns ``S``:
    :math:`\sup_x \|J_S(x)\|_2`, the Jacobian w.r.t. the columns ``S`` with
    every other column at its value in ``x``. Only the ``S`` columns move;
    the held columns (categorical, or entering through a non-affine step)
    keep their values in the starting row and shift the first layer as the
    pipeline does, so the activation pattern is the model's own.

    The returned value is the Jacobian norm at a concrete point, so it never
    exceeds the true constant (up to rounding in the Jacobian product), and
    every certified upper bound of :func:`lipschitz_bound` is at least it.

    Parameters
    ----------
    estimator : estimator or Network
        A fitted model accepted by :func:`~sklip.lipschitz.lipschitz_bound`
        (a pipeline may hold columns fixed, e.g. a ``ColumnTransformer`` with
        a ``OneHotEncoder``).
    X : array-like, DataFrame or sparse matrix of shape (n_samples, n_features)
        Starting points in the raw input space (e.g. the training data), as
        the model's ``predict`` takes them.
    n_restarts : int, default=10
        Number of ascents, started from the rows with the largest Jacobian
        norms (repeated with jitter if ``X`` has fewer rows).
    n_iter : int, default=30
        Ascent iterations; ``0`` returns the best row of ``X``.
    random_state : int, RandomState instance or None, default=None
        Seeds the jitter and the random directions.
    return_point : bool, default=False
        Also return the point where the bound is attained.
    features : str, int, array-like of str, int or bool, default=None
        Raw columns ``S`` the constant is taken over (names, indices or a
        boolean mask), as in :func:`~sklip.lipschitz.lipschitz_bound`.
        None: every column except the categorical ones (an encoder's input,
        or non-numeric in a DataFrame), which are held fixed.

    Returns
    -------
    lower_bound : float
        ``||J_S(x*)||_2`` at the best point ``x*`` found (raw output units
        per raw input unit).
    point : ndarray of shape (n_features,) or DataFrame of shape (1, n_features)
        ``x*`` in the caller's raw columns (all of them, held ones at their
        value in the starting row); a one-row DataFrame with the same
        columns and dtypes when ``X`` is a DataFrame (as
        :func:`~sklip.robustness.perturb` returns perturbed DataFrames),
        otherwise a 1-D array. Only when ``return_point=True``.

    Raises
    ------
    ValueError
        If a selected column of ``X`` contains infinity or NaN the model
        does not impute (behind a ``SimpleImputer`` a NaN entry is held at
        its imputed value and never moved), ``X`` has the
        wrong number of features, ``features`` is invalid or names a
        categorical column, or a parameter is out of range.

    References
    ----------
    A. Virmaux and K. Scaman, "Lipschitz regularity of deep neural networks:
    analysis and efficient estimation", NeurIPS 2018.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LinearRegression
    >>> from sklip.lipschitz import lipschitz_lower_bound
    >>> X = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    >>> reg = LinearRegression().fit(X, X @ [3.0, 4.0])
    >>> round(lipschitz_lower_bound(reg, X, random_state=0), 6)
    5.0
    >>> round(lipschitz_lower_bound(reg, X, features=[1], random_state=0), 6)
    4.0
    """
    check_count(n_restarts, "n_restarts", 1)
    check_count(n_iter, "n_iter", 0)
    space = _Space(estimator, X, features)
    network, Z, k = space.network, space.Z, space.k
    sigma = _jacobian_norms(network, Z, k)
    best_row = int(np.argmax(sigma))
    best, best_xs = float(sigma[best_row]), Z[best_row, :k].copy()
    if n_iter > 0:
        value, row, xs = _ascend(
            network, Z, k, sigma, n_restarts, n_iter, random_state, space.missing
        )
        if value > best:
            best, best_row, best_xs = value, row, xs
    if not return_point:
        return best
    return best, space.point(best_row, best_xs)


def _ascend(network, Z, k, sigma, n_restarts, n_iter, random_state, missing=None):
    """Vectorised hill climbing on ``||J_S(x)||_2`` from the best rows of
    ``Z``, moving only its first ``k`` coordinates (the columns ``S``; of a
    row's observed ones when ``missing``, (n, k) bool, says which are not).
    Returns the best value, the starting row it came from and its ``x_S``."""
    rng = check_random_state(random_state)
    n = Z.shape[0]
    X = Z[:, :k]
    # Step scale from the spread of the data; 1 when it has none. Scaled
    # by the largest deviation first: squares of inputs near 1e160 (or
    # 1e-160) overflow (underflow) and would make the step inf (or 1).
    D = X - X.mean(axis=0)
    top = float(np.abs(D).max(initial=0.0))
    spread = top * np.sqrt(np.mean(np.sum((D / top) ** 2, axis=1))) if top else 0.0
    radius = 0.1 * (spread if spread > 0 else 1.0)
    order = np.argsort(-sigma, kind="stable")
    rows = order[np.arange(n_restarts) % n]
    x, rest = X[rows].copy(), Z[rows, k:]
    moves = np.ones((n_restarts, k)) if missing is None else ~missing[rows]
    repeats = np.arange(n_restarts) >= n
    noise = rng.standard_normal((repeats.sum(), k)) * moves[repeats]
    x[repeats] += radius / np.sqrt(k) * noise

    def full(xs):
        return np.hstack([xs, rest]) if rest.shape[1] else xs

    value, u, v = _top_singular(network, full(x), k)
    step = np.full(n_restarts, radius)
    for _ in range(n_iter):
        h = step[:, None]
        grad = network.input_gradient(full(x + h * v), u)[:, :k]
        grad -= network.input_gradient(full(x - h * v), u)[:, :k]
        grad /= 2 * h
        norm = np.linalg.norm(grad, axis=1)
        flat = norm <= 1e-12 * np.maximum(value, 1e-300)
        direction = np.where(flat[:, None], rng.standard_normal((n_restarts, k)), grad)
        direction *= moves
        length = np.linalg.norm(direction, axis=1, keepdims=True)
        direction /= np.where(length > 0, length, 1.0)
        candidate = x + h * direction
        c_value, c_u, c_v = _top_singular(network, full(candidate), k)
        # Ties are accepted so that starts on a plateau (a linear region of
        # a ReLU network, a dead region) keep moving, with a growing step.
        better = c_value >= value
        x[better], value[better] = candidate[better], c_value[better]
        u[better], v[better] = c_u[better], c_v[better]
        step = np.where(better, np.minimum(2 * step, 1e3 * radius), 0.5 * step)
        # A start whose step has collapsed is stuck: explore again at full size.
        step[step < 1e-4 * radius] = radius
    best = int(np.argmax(value))
    return float(value[best]), int(rows[best]), x[best].copy()
