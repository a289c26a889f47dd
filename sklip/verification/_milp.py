"""Exact minima of a specification over an Linf ball: a mixed-integer program.

For a ReLU network with pre-activation bounds ``l <= z <= u`` on the domain,
``y = relu(z)`` is exactly the set of ``(z, y)`` with ``y >= z``, ``y >= 0``,
``y <= u delta``, ``y <= z - l (1 - delta)`` for one binary ``delta`` per
*unstable* neuron (``l < 0 < u``); stable neurons are linear (``y = z``) or
zero and need no binary (Tjeng et al., 2019). The Linf ball intersected with
the clip box is a box of variable bounds, so ``min_x c . f(x)`` is a MILP,
solved by HiGHS through :func:`scipy.optimize.milp`.

Only the Linf ball is linear: the L2 ball would need a quadratic constraint,
which scipy's MILP solver cannot take. The exact MILP is therefore for Linf
only; L2 goes through branch and bound with linear-relaxation bounds and
falsification (:func:`sklip.verification._bab.verify_complete`).
"""

import time

import numpy as np
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, milp

from .._validation import show
from ._crown import bound_specs

# HiGHS stops at this relative gap between its best point and its dual bound;
# the dual bound is what is returned, so the value is sound at any gap, and
# this keeps it within ~1e-7 of the minimum.
_MIP_REL_GAP = 1e-7


def _domain_parts(dom):
    """``(Z, eps (n,), norm, mask, box)`` of a :class:`Domain`."""
    Z = np.asarray(dom.Z, dtype=np.float64)
    eps = np.broadcast_to(np.asarray(dom.eps, dtype=np.float64), (Z.shape[0],))
    return Z, eps, dom.norm, dom.mask, dom.box


def input_box(dom):
    """Per-sample interval of the movable coordinates over an Linf domain.

    Parameters
    ----------
    dom : Domain
        An Linf domain.

    Returns
    -------
    lo, hi : ndarray of shape (n, n_movable)
        ``[max(x0 - eps, low), min(x0 + eps, high)]``.
    """
    Z, eps, norm, mask, box = _domain_parts(dom)
    Zm = Z if mask is None else Z[:, mask]
    lo = Zm - eps[:, None]
    hi = Zm + eps[:, None]
    if box is not None:
        lo = np.maximum(lo, box[0])
        hi = np.minimum(hi, box[1])
    return lo, hi


def _first_layer(network, dom):
    """First-layer weights over the movable coordinates and per-sample biases
    carrying the fixed coordinates' contribution: ``(W (d_m, h), b (n, h))``."""
    Z, _, _, mask, _ = _domain_parts(dom)
    W, b = network.coefs[0], network.intercepts[0]
    if mask is None:
        return np.asarray(W, np.float64), np.broadcast_to(b, (Z.shape[0], b.size))
    return np.asarray(W[mask], np.float64), Z[:, ~mask] @ W[~mask] + b


class MilpSample:
    """The MILP of one sample, built once and solved for any objective.

    Parameters
    ----------
    network : Network
        ReLU network.
    W1 : ndarray of shape (d_m, h_1)
        First-layer weights over the movable coordinates.
    b1 : ndarray of shape (h_1,)
        First-layer bias with the fixed coordinates folded in.
    lo, hi : ndarray of shape (d_m,)
        Bounds of the movable coordinates.
    pre_bounds : list of (ndarray, ndarray)
        ``(l, u)`` of each hidden layer for this sample, each of shape (h_l,).

    Attributes
    ----------
    n_binaries : int
        Number of unstable neurons (binary variables).
    """

    def __init__(self, network, W1, b1, lo, hi, pre_bounds):
        """Build the variable bounds, integrality and constraint matrix."""
        self.network = network
        d = W1.shape[0]
        # Variable blocks: x, then per hidden layer the post-activations of the
        # neurons that are not stably inactive, then one binary per unstable.
        lb, ub, integ = [lo], [hi], [np.zeros(d)]
        rows, cols, vals, c_lo, c_hi = [], [], [], [], []
        prev_idx = np.arange(d)  # variable index of each previous unit
        prev_keep = np.ones(d, bool)
        n_var, n_row = d, 0
        for layer, (l, u) in enumerate(pre_bounds):
            W = W1 if layer == 0 else network.coefs[layer]
            b = b1 if layer == 0 else network.intercepts[layer]
            W = W[prev_keep]
            keep = u > 0
            unstable = keep & (l < 0)
            h = int(keep.sum())
            y_idx = n_var + np.arange(h)
            n_var += h
            lb.append(np.maximum(l[keep], 0))
            ub.append(u[keep])
            integ.append(np.zeros(h))
            un = np.flatnonzero(unstable[keep])  # positions among kept
            m = un.size
            d_idx = n_var + np.arange(m)
            n_var += m
            lb.append(np.zeros(m))
            ub.append(np.ones(m))
            integ.append(np.ones(m))
            Wk = W[:, keep]
            bk, lk, uk = b[keep], l[keep], u[keep]
            # Row block A: y_j - z_j (= 0 if active, >= 0 if unstable).
            pr, pc = np.nonzero(Wk.T)
            rows.append(n_row + pr)
            cols.append(prev_idx[pc])
            vals.append(-Wk.T[pr, pc])
            rows.append(n_row + np.arange(h))
            cols.append(y_idx)
            vals.append(np.ones(h))
            c_lo.append(bk)
            c_hi.append(np.where(lk >= 0, bk, np.inf))
            n_row += h
            # Row block B (unstable): y - z - l delta <= -l ... i.e.
            # y <= z - l (1 - delta).
            Wu = Wk[:, un]
            pr, pc = np.nonzero(Wu.T)
            rows.append(n_row + pr)
            cols.append(prev_idx[pc])
            vals.append(-Wu.T[pr, pc])
            rows += [n_row + np.arange(m), n_row + np.arange(m)]
            cols += [y_idx[un], d_idx]
            vals += [np.ones(m), -lk[un]]
            c_lo.append(np.full(m, -np.inf))
            c_hi.append(bk[un] - lk[un])
            n_row += m
            # Row block C (unstable): y - u delta <= 0.
            rows += [n_row + np.arange(m), n_row + np.arange(m)]
            cols += [y_idx[un], d_idx]
            vals += [np.ones(m), -uk[un]]
            c_lo.append(np.full(m, -np.inf))
            c_hi.append(np.zeros(m))
            n_row += m
            prev_idx, prev_keep = y_idx, keep
        self.n_var = n_var
        self.n_binaries = int(sum(v.sum() for v in integ))
        self.bounds = Bounds(np.concatenate(lb), np.concatenate(ub))
        self.integrality = np.concatenate(integ)
        self.constraints = None
        if n_row:
            A = sp.csr_array(
                (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                shape=(n_row, n_var),
            )
            self.constraints = LinearConstraint(
                A, np.concatenate(c_lo), np.concatenate(c_hi)
            )
        self.d = d
        self.last_idx, self.last_keep = prev_idx, prev_keep
        self.last_layer = len(pre_bounds)

    def objective(self, c_out):
        """Cost vector and constant of ``c_out . f(x)`` (``c_out`` over the
        network outputs)."""
        W, b = self.network.coefs[-1], self.network.intercepts[-1]
        c = np.zeros(self.n_var)
        c[self.last_idx] = W[self.last_keep] @ c_out
        return c, float(c_out @ b)

    def solve(self, c_out, time_limit=None):
        """Minimise ``c_out . f(x)`` over the domain.

        Parameters
        ----------
        c_out : ndarray of shape (n_outputs,)
        time_limit : float or None
            Seconds for this solve.

        Returns
        -------
        lower : float
            HiGHS's dual bound (a sound lower bound, within the relative gap
            ``1e-7`` of the minimum), ``inf`` when the domain is empty, NaN
            when the solver did not finish.
        x : ndarray of shape (d_m,) or None
            The minimiser over the movable coordinates (None unless solved).
        """
        c, const = self.objective(c_out)
        options = {"mip_rel_gap": _MIP_REL_GAP}
        if time_limit is not None:
            if time_limit <= 0:
                return np.nan, None
            options["time_limit"] = float(time_limit)
        res = milp(
            c,
            integrality=self.integrality,
            bounds=self.bounds,
            constraints=self.constraints,
            options=options,
        )
        if res.status == 2:
            return np.inf, None
        if res.status != 0:
            return np.nan, None
        dual = getattr(res, "mip_dual_bound", None)
        value = res.fun if dual is None or not np.isfinite(dual) else dual
        return float(min(value, res.fun)) + const, res.x[: self.d].copy()


def _check_network(network, dom):
    """ReLU or identity networks and Linf domains only, with a reason."""
    if network.activation not in ("relu", "identity"):
        raise ValueError(
            "milp_lower_bounds needs a ReLU or identity network; got "
            f"activation={network.activation!r} (tanh and logistic have no "
            "exact mixed-integer encoding)."
        )
    if dom.norm != np.inf:
        raise ValueError(
            f"milp_lower_bounds solves Linf balls only; got norm={show(dom.norm)}. "
            "The L2 ball is a quadratic constraint that scipy's MILP solver "
            "cannot take: use verify_complete, which branches and bounds."
        )


def _affine_minimum(network, dom, C, return_argmin):
    """Closed-form minimum of ``C f(x)`` for an affine (identity) network:
    over a box, each coordinate goes to the end its coefficient prefers."""
    Z, _, _, mask, _ = _domain_parts(dom)
    W, b = _first_layer(network, dom)
    b = np.array(b)
    for Wl, bl in zip(network.coefs[1:], network.intercepts[1:]):
        W, b = W @ Wl, b @ Wl + bl
    lo, hi = input_box(dom)
    A = np.einsum("dm,nkm->nkd", W, C)  # coefficients on the movable coords
    x = np.where(A > 0, lo[:, None, :], hi[:, None, :])
    lower = np.einsum("nkd,nkd->nk", A, x) + np.einsum("nm,nkm->nk", b, C)
    if not return_argmin:
        return lower
    X = np.repeat(Z[:, None, :], C.shape[1], axis=1)
    if mask is None:
        X[...] = x
    else:
        X[:, :, mask] = x
    return lower, X


def milp_lower_bounds(
    network, dom, C, pre_bounds=None, time_limit=None, return_argmin=False
):
    """Exact minimum of each specification row of ``C f(x)`` over an Linf domain.

    One MILP per sample and spec row (HiGHS via :func:`scipy.optimize.milp`):
    one binary per unstable ReLU, big-M from the pre-activation bounds,
    stable neurons linear or zero, the Linf ball intersected with the box as
    variable bounds. Identity networks are affine: their minimum over the
    box has a closed form. Linf only: the L2 ball is quadratic and scipy's
    MILP cannot encode it (see :func:`sklip.verification._bab.verify_complete`
    for L2).

    Parameters
    ----------
    network : Network
        ReLU or identity network.
    dom : Domain
        Linf domain (``norm=np.inf``) of n samples.
    C : ndarray of shape (n, k, n_outputs)
        Specification rows.
    pre_bounds : list of (ndarray, ndarray), default=None
        Sound pre-activation bounds ``(l, u)`` per hidden layer, each of shape
        (n, h_l); tighter bounds mean fewer binaries and smaller big-M. None:
        interval arithmetic, intersected with CROWN's when the engine is
        available.
    time_limit : float, default=None
        Seconds per sample (shared by its k solves); None: no limit.
    return_argmin : bool, default=False
        Also return the minimisers.

    Returns
    -------
    lower : ndarray of shape (n, k)
        The minimum of each row (HiGHS's dual bound: sound, within a relative
        1e-7 of the minimum); NaN where the solver did not finish in time.
    argmin : ndarray of shape (n, k, d)
        Only when ``return_argmin``: the minimising points of the domain
        (full coordinates, fixed ones unchanged), NaN where unsolved. Their
        value under ``network.forward`` equals ``lower`` up to the solver's
        tolerances (~1e-6).
    """
    _check_network(network, dom)
    C = np.asarray(C, dtype=np.float64)
    Z, _, _, mask, _ = _domain_parts(dom)
    n, k = C.shape[:2]
    if network.activation == "identity" or network.n_layers == 1:
        return _affine_minimum(network, dom, C, return_argmin)
    if pre_bounds is None:
        pre_bounds = default_pre_bounds(network, dom)
    lower = np.full((n, k), np.nan)
    argmin = np.full((n, k, Z.shape[1]), np.nan) if return_argmin else None
    for i in range(n):
        start = time.perf_counter()
        problem = build_sample(network, dom, pre_bounds, i)
        for j in range(k):
            left = None
            if time_limit is not None:
                left = time_limit - (time.perf_counter() - start)
            lower[i, j], x = problem.solve(C[i, j], left)
            if x is not None and return_argmin:
                argmin[i, j] = Z[i]
                if mask is None:
                    argmin[i, j] = x
                else:
                    argmin[i, j, mask] = x
    return (lower, argmin) if return_argmin else lower


def build_sample(network, dom, pre_bounds, i):
    """The :class:`MilpSample` of sample ``i`` of ``dom``."""
    W1, b1 = _first_layer(network, dom)
    lo, hi = input_box(dom)
    bounds_i = [(l[i], u[i]) for l, u in pre_bounds]
    return MilpSample(network, W1, np.asarray(b1[i]), lo[i], hi[i], bounds_i)


def default_pre_bounds(network, dom):
    """CROWN's pre-activation bounds (intersected with interval bounds)."""
    C = np.zeros((dom.n_samples, 1, network.n_outputs))
    _, state = bound_specs(network, dom, C, method="crown", return_state=True)
    return state.pre_bounds
