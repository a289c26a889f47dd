"""Backward linear bounds of specifications: CROWN and alpha-CROWN.

For ``g(x) = C f(x)`` the backward pass keeps, per sample and spec row, the
coefficients of a linear lower bound of ``g`` in the current layer's units
and a constant. Through an affine layer ``z = h W + b`` the coefficients on
``z`` become ``Lam W^T`` on ``h`` and the constant gains ``Lam b``; through
an activation ``h = phi(z)`` with relaxation ``aL z + bL <= phi(z) <= aU z + bU``
a positive coefficient takes the lower line and a negative one the upper
line. At the input the linear bound is concretised over the domain (dual
norm, box). Pre-activation bounds of hidden layers come from the same pass
applied to the rows ``+e_j`` and ``-e_j`` of each layer in turn (O(depth^2)),
intersected with interval bounds.
"""

import numpy as np

from .._core.network import Network
from .._validation import show
from ._alpha import optimise_alpha
from ._backward import backward_bound
from ._interval import (
    clamp_splits,
    first_layer_bounds,
    interval_pre_bounds,
    interval_specs,
    next_interval,
)
from ._relax import activation_lines

METHODS = ("interval", "crown", "alpha-crown")

# Elements of the largest per-chunk array (n_chunk * rows * width): 2^18
# float64 = 2 MiB, a few alive at once: cache-sized arrays ran fastest.
_CHUNK_ELEMENTS = 2**18


class BoundState:
    """What a bound computation learned, for warm starts and branching.

    Attributes
    ----------
    lower : ndarray of shape (n_samples, k)
        The lower bounds returned.
    pre_bounds : list of (ndarray, ndarray)
        Per hidden layer, the pre-activation bounds ``(l, u)`` used (after
        splits), each of shape (n_samples, h_layer).
    alpha : list of ndarray or None
        alpha-CROWN: per hidden layer the optimised ReLU lower slopes, each of
        shape (n_samples, k, h_layer) (CROWN's slope at stable neurons).
    infeasible : ndarray of bool of shape (n_samples,)
        Samples whose splits leave an empty domain (their bounds are +inf).
    points : ndarray of shape (n_samples, k, n_features) or None
        Per spec row, a point of the domain minimising the row's final linear
        lower bound (CROWN and alpha-CROWN): a candidate counterexample to
        check with the network (projected into the domain for L2 with a box).
    """

    def __init__(self, lower, pre_bounds, alpha, infeasible, points=None):
        self.lower = lower
        self.pre_bounds = pre_bounds
        self.alpha = alpha
        self.infeasible = infeasible
        self.points = points

    def subset(self, rows):
        """The state of the samples ``rows`` (index or boolean array)."""
        return BoundState(
            self.lower[rows],
            [(l[rows], u[rows]) for l, u in self.pre_bounds],
            None if self.alpha is None else [a[rows] for a in self.alpha],
            self.infeasible[rows],
            None if self.points is None else self.points[rows],
        )

    @staticmethod
    def concatenate(states):
        """One state from states of consecutive sample chunks."""
        first = states[0]
        return BoundState(
            np.concatenate([s.lower for s in states]),
            [
                (
                    np.concatenate([s.pre_bounds[j][0] for s in states]),
                    np.concatenate([s.pre_bounds[j][1] for s in states]),
                )
                for j in range(len(first.pre_bounds))
            ],
            None
            if first.alpha is None
            else [
                np.concatenate([s.alpha[j] for s in states])
                for j in range(len(first.alpha))
            ],
            np.concatenate([s.infeasible for s in states]),
            None
            if first.points is None
            else np.concatenate([s.points for s in states]),
        )


def crown_pre_bounds(network, dom, splits=None, prior=None, n_iter=0, lr=0.25):
    """Pre-activation bounds of every hidden layer by CROWN, layer by layer,
    each intersected with interval bounds from the layer below (and with
    ``prior`` bounds when given, e.g. a parent domain's). Splits clamp each
    layer before the next uses it. With ``n_iter > 0`` (ReLU) each layer's
    bounds are tightened by alpha-CROWN's slope optimisation, separately per
    bound (``lr`` its step size).

    Returns
    -------
    bounds : list of (l, u)
    lines : list of relaxations (``activation_lines`` tuples)
    """
    act = network.activation
    bounds, lines = [], []
    for layer in range(network.n_layers - 1):
        if layer == 0:
            l, u = first_layer_bounds(network.coefs[0], network.intercepts[0], dom)
        else:
            l, u = next_interval(network, layer, *bounds[-1])
            if prior is not None:
                l, u = np.maximum(l, prior[layer][0]), np.minimum(u, prior[layer][1])
            l, u = _hidden_pass(network, dom, layer, lines, l, u, n_iter, lr)
        if layer == 0 and prior is not None:
            l, u = np.maximum(l, prior[0][0]), np.minimum(u, prior[0][1])
        l, u = clamp_splits(l, u, None if splits is None else splits[layer])
        bounds.append((l, u))
        lines.append(activation_lines(act, l, u))
    return bounds, lines


def _hidden_pass(network, dom, layer, lines, l, u, n_iter, lr):
    """Bounds of hidden layer ``layer`` by the backward pass from its rows
    ``+e_j`` and ``-e_j``, intersected with ``(l, u)``.

    For ReLU only the neurons ``(l, u)`` leave unstable can change a
    relaxation, and each sample updates only its own: the rows are either
    the chunk's union of them (shared by all samples) or, when samples have
    markedly fewer, each sample's own (padded to the chunk's largest count;
    padding rows are computed and dropped). Either way a sample's bounds do
    not depend on its chunk-mates. Other activations bound every neuron.
    """
    W, b = network.coefs[layer], network.intercepts[layer]
    if network.activation != "relu":
        G = np.concatenate([W.T, -W.T])
        both = backward_bound(network, dom, G, np.concatenate([b, -b]), layer, lines)
        h = W.shape[1]
        return np.maximum(l, both[:, :h]), np.minimum(u, -both[:, h:])
    unstable = (l < 0) & (u > 0)
    r = int(unstable.sum(axis=1).max(initial=0))
    union = np.flatnonzero(unstable.any(axis=0))
    if r == 0:
        return l, u
    if r > 0.75 * union.size:
        # Rows shared by the chunk (the union): cheaper when each sample has
        # most of them; a sample keeps only its own unstable ones.
        Gp = W.T[union]
        G = np.concatenate([Gp, -Gp])
        const = np.concatenate([b[union], -b[union]])
        order = np.broadcast_to(union, (l.shape[0], union.size))
        valid = unstable[:, union]
        r = union.size
    else:
        # Each sample's own unstable neurons first (stable order), padded.
        order = np.argsort(~unstable, axis=1, kind="stable")[:, :r]
        valid = np.take_along_axis(unstable, order, axis=1)
        Gp = W.T[order]  # (n, r, h_prev)
        bp = b[order]
        G = np.concatenate([Gp, -Gp], axis=1)
        const = np.concatenate([bp, -bp], axis=1)
    both = backward_bound(network, dom, G, const, layer, lines)
    if n_iter:
        if G.ndim == 2:
            G = np.broadcast_to(G, (l.shape[0],) + G.shape)
        opt, _ = optimise_alpha(network, dom, G, const, layer, lines, n_iter, lr)
        both = np.maximum(both, opt)
    l, u = l.copy(), u.copy()
    lo = np.take_along_axis(l, order, axis=1)
    hi = np.take_along_axis(u, order, axis=1)
    np.put_along_axis(l, order, np.where(valid, np.maximum(lo, both[:, :r]), lo), 1)
    np.put_along_axis(u, order, np.where(valid, np.minimum(hi, -both[:, r:]), hi), 1)
    return l, u


def _infeasible(bounds, n):
    """Samples with a neuron whose (split-clamped) bounds cross: empty domain."""
    bad = np.zeros(n, bool)
    for l, u in bounds:
        bad |= np.any(l - u > 1e-10 * (1.0 + np.abs(l) + np.abs(u)), axis=1)
    return bad


def _bound_chunk(
    network, dom, C, method, splits, n_iter, init, lr, n_iter_hidden, want_points
):
    """:func:`bound_specs` on one chunk of samples; returns a BoundState."""
    n = dom.n_samples
    prior = None if init is None else init.pre_bounds
    alpha = points = None
    if method == "interval" or network.n_layers == 1:
        pre = interval_pre_bounds(network, dom, splits)
        if prior is not None:
            pre = [
                (np.maximum(l, pl), np.minimum(u, pu))
                for (l, u), (pl, pu) in zip(pre, prior)
            ]
        lower = interval_specs(network, dom, C, pre)
        lines = None
        if want_points and network.n_layers == 1 and method != "interval":
            W, b = network.coefs[0], network.intercepts[0]
            _, X = dom.concretize(np.matmul(C, W.T), C @ b, return_argmin=True)
            points = _project_points(dom, X)
    else:
        pre, lines = crown_pre_bounds(network, dom, splits, prior)
        W, b = network.coefs[-1], network.intercepts[-1]
        G = np.matmul(C, W.T)
        const = C @ b
        top = network.n_layers - 1
        lower = backward_bound(network, dom, G, const, top, lines)
        relu = network.activation == "relu"
        if method == "alpha-crown" and relu and n_iter_hidden and top > 1:
            # Optimised hidden bounds, intersected with CROWN's (both sound),
            # so they are never looser; the final bound keeps CROWN's too.
            pre, lines = crown_pre_bounds(network, dom, splits, pre, n_iter_hidden, lr)
            lower = np.maximum(
                lower, backward_bound(network, dom, G, const, top, lines)
            )
        if method == "alpha-crown" and relu:
            unstable = [ln[4] for ln in lines]
            if any(m.any() for m in unstable):
                alpha0 = None if init is None else init.alpha
                opt, alpha = optimise_alpha(
                    network, dom, G, const, top, lines, n_iter, lr, alpha0
                )
                lower = np.maximum(lower, opt)
        # IBP on the spec from the same pre-activation bounds is sometimes
        # tighter and always cheap; the max of two sound bounds is sound.
        lower = np.maximum(lower, interval_specs(network, dom, C, pre))
        if want_points:
            _, X = backward_bound(network, dom, G, const, top, lines, alpha, keep={})
            points = _project_points(dom, X)
    bad = _infeasible(pre, n)
    if bad.any():
        lower = np.where(bad[:, None], np.inf, lower)
    return BoundState(lower, pre, alpha, bad, points)


def _project_points(dom, X):
    """Minimisers (n, k, d) moved into the domain (only L2 with a box needs
    it: the box bound's minimiser is a corner of the box)."""
    if dom.norm == np.inf or dom.box is None:
        return X
    n, k, d = X.shape
    rep = dom.subset(np.repeat(np.arange(n), k))
    return rep.project(X.reshape(n * k, d)).reshape(n, k, d)


def _check(network, dom, C, method, splits, n_iter):
    """Validate :func:`bound_specs`' arguments; returns ``C`` as float64."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}; got {method!r}.")
    if network.n_features_in != dom.n_features:
        raise ValueError(
            f"the domain has {dom.n_features} features but the network takes "
            f"{network.n_features_in}."
        )
    C = np.asarray(C, dtype=np.float64)
    if C.ndim != 3 or C.shape[0] != dom.n_samples or C.shape[2] != network.n_outputs:
        raise ValueError(
            f"C must have shape (n_samples={dom.n_samples}, k, "
            f"n_outputs={network.n_outputs}); got {C.shape}."
        )
    if not isinstance(n_iter, (int, np.integer)) or n_iter < 0:
        raise ValueError(f"n_iter must be an int >= 0; got {show(n_iter)}.")
    if splits is not None:
        hidden = network.layer_units[1:-1]
        if len(splits) != len(hidden):
            raise ValueError(
                f"splits must hold one array per hidden layer ({len(hidden)}); "
                f"got {len(splits)}."
            )
        for j, (s, h) in enumerate(zip(splits, hidden)):
            if s is not None and np.shape(s) != (dom.n_samples, h):
                raise ValueError(
                    f"splits[{j}] must have shape ({dom.n_samples}, {h}); "
                    f"got {np.shape(s)}."
                )
    return C


def _float64(network):
    """The network with float64 parameters (bounds are computed in float64)."""
    if all(W.dtype == np.float64 for W in network.coefs):
        return network
    return Network(
        [np.asarray(W, np.float64) for W in network.coefs],
        [np.asarray(b, np.float64) for b in network.intercepts],
        network.activation,
    )


def chunk_size(network, dom, k):
    """Samples per chunk so that the largest per-chunk array (samples x rows
    x width, rows up to ``2 * width`` for hidden bounds) stays near
    ``_CHUNK_ELEMENTS`` elements."""
    widths = network.layer_units
    rows = max([k] + [2 * h for h in widths[1:-1]])
    return max(1, _CHUNK_ELEMENTS // (rows * max(widths[:-1])))


def bound_specs(
    network,
    dom,
    C,
    method="crown",
    splits=None,
    n_iter=20,
    return_state=False,
    *,
    init=None,
    lr=0.25,
    n_iter_hidden=5,
    chunk=None,
):
    """Sound lower bounds of ``C @ f(x)`` over each sample's domain.

    Parameters
    ----------
    network : Network
        The network on the domain's coordinates (the attack space).
    dom : Domain
        Per-sample input domains.
    C : array-like of shape (n_samples, k, n_outputs)
        Specification rows (see :mod:`~sklip.verification._specs`).
    method : {"interval", "crown", "alpha-crown"}, default="crown"
        Interval propagation, CROWN (backward linear bounds, intermediate
        bounds by CROWN), or alpha-CROWN (CROWN with the ReLU lower slopes
        optimised per sample, spec row and neuron; same as CROWN for other
        activations).
    splits : list of ndarray or None, default=None
        One int8 array (n_samples, h_layer) (or None) per hidden layer: +1
        restricts the domain to ``z >= 0`` at that neuron, -1 to ``z <= 0``.
        The bounds then hold on the restricted domain; samples whose
        restricted domain is provably empty get +inf.
    n_iter : int, default=20
        alpha-CROWN's projected-gradient (Adam) steps.
    return_state : bool, default=False
        Also return a :class:`BoundState`.
    init : BoundState, default=None
        A state for these samples (e.g. of a parent domain in branch and
        bound): its pre-activation bounds are intersected with the new ones
        (valid when this domain is a subset of that one) and its slopes warm
        start alpha-CROWN.
    lr : float, default=0.25
        alpha-CROWN's Adam step size.
    n_iter_hidden : int, default=5
        alpha-CROWN only: Adam steps that tighten every hidden layer's
        pre-activation bounds after CROWN's (each bound optimised on its own,
        intersected with CROWN's). On digits (64, 64) 5 steps certify what 20
        do, at ~4x the cost of ``n_iter_hidden=0`` (CROWN's hidden bounds).
    chunk : int, default=None
        Samples per chunk; default from :func:`chunk_size`.

    Returns
    -------
    lower : ndarray of shape (n_samples, k)
    state : BoundState, only when ``return_state``
    """
    C = _check(network, dom, C, method, splits, n_iter)
    network = _float64(network)
    n, k = C.shape[:2]
    step = chunk or chunk_size(network, dom, k)
    states = []
    for start in range(0, max(n, 1), step):
        rows = slice(start, min(start + step, n))
        part_splits = (
            None
            if splits is None
            else [None if s is None else np.asarray(s)[rows] for s in splits]
        )
        part = _bound_chunk(
            network,
            dom.subset(rows),
            C[rows],
            method,
            part_splits,
            n_iter,
            None if init is None else init.subset(rows),
            lr,
            n_iter_hidden,
            return_state,
        )
        # Without a state only the bounds are kept: slopes for 10^5 samples
        # would not fit.
        states.append(part if return_state else part.lower)
    if not return_state:
        return np.concatenate(states) if len(states) > 1 else states[0]
    state = states[0] if len(states) == 1 else BoundState.concatenate(states)
    return state.lower, state
