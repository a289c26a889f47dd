"""What branch and bound needs beside the bound engine: branching scores,
primal candidates, and an exact-at-the-leaves bound for one hidden layer.

All functions work on a batch of *subdomains*: subdomain ``m`` belongs to
sample ``rows[m]`` of the :class:`Domain`, bounds one specification row
``c[m]`` (over the network outputs) and restricts the ReLUs by
``splits[layer][m]`` in {-1, 0, +1} (inactive, free, active).
"""

import numpy as np

from ._milp import _domain_parts, _first_layer
from ._primal import movable

_ADAM = (0.9, 0.999, 1e-8)


def split_bounds(pre_bounds, splits):
    """Pre-activation bounds with the splits applied: active neurons have
    ``l >= 0``, inactive ones ``u <= 0``."""
    out = []
    for (l, u), s in zip(pre_bounds, splits):
        out.append(
            (np.where(s > 0, np.maximum(l, 0), l), np.where(s < 0, np.minimum(u, 0), u))
        )
    return out


def concretize_min(dom, rows, A, const):
    """Minimum of ``A . x + const`` over each subdomain's input domain, and a
    minimiser.

    Parameters
    ----------
    dom : Domain
    rows : ndarray of int of shape (m,)
    A : ndarray of shape (m, d_m)
        Coefficients on the movable coordinates.
    const : ndarray of shape (m,)
        Constant including the fixed coordinates' contribution.

    Returns
    -------
    lower : ndarray of shape (m,)
        Exact for Linf (with or without box) and for L2 without box; with a
        box, L2 takes the larger of the ball and the box bound (both sound).
    x : ndarray of shape (m, d_m)
        A point of the domain (movable coordinates) near the minimum: the
        exact minimiser where the bound is exact.
    """
    Z, eps, norm, mask, box = _domain_parts(dom)
    x0 = Z[rows][:, movable(dom)]
    e = eps[rows]
    base = np.einsum("md,md->m", A, x0) + const
    if norm == np.inf:
        lo, hi = x0 - e[:, None], x0 + e[:, None]
        if box is not None:
            lo, hi = np.maximum(lo, box[0]), np.minimum(hi, box[1])
        x = np.where(A > 0, lo, hi)
        return np.einsum("md,md->m", A, x) + const, x
    r = np.linalg.norm(A, axis=1)
    lower = base - e * r
    x = x0 - e[:, None] * A / np.maximum(r, 1e-300)[:, None]
    if box is not None:
        x = np.clip(x, box[0], box[1])
        lo, hi = np.broadcast_to(box[0], x0.shape), np.broadcast_to(box[1], x0.shape)
        box_lower = np.einsum("md,md->m", A, np.where(A > 0, lo, hi)) + const
        lower = np.maximum(lower, box_lower)
    return lower, x


def alpha_beta_bound(
    network, dom, rows, c, pre_bounds, splits, n_iter=20, lr=0.1, init=None
):
    """Alpha-beta-CROWN bound of one specification row per subdomain.

    A backward linear bound through the network with the pre-activation
    bounds ``pre_bounds`` fixed: a free unstable ReLU is relaxed by the
    lower line ``alpha z`` (``alpha`` in [0, 1]) where its coefficient is
    ``>= 0`` and by the upper line ``u (z - l) / (u - l)`` elsewhere; a split
    ReLU is linear on its half-space, and its constraint ``z >= 0`` (or
    ``z <= 0``) enters the bound with a multiplier ``beta >= 0`` (Wang et
    al., 2021). Every ``(alpha, beta)`` gives a sound lower bound; they are
    raised by projected Adam on the bound's supergradient (the relaxed
    network's pre-activations at the minimiser of the linear bound), and the
    best iterate is kept. With every unstable neuron split the bound is the
    Lagrangian dual of a convex problem (a linear function over a polytope
    intersected with the ball), hence the minimum over the subdomain (Linf,
    or L2 without a box): branch and bound on it is complete.

    Parameters
    ----------
    network : Network
        ReLU network with at least one hidden layer.
    dom : Domain
    rows : ndarray of int of shape (m,)
        Sample of each subdomain.
    c : ndarray of shape (m, n_outputs)
        Specification row of each subdomain.
    pre_bounds : list of (ndarray, ndarray)
        Sound pre-activation bounds of each hidden layer, (m, h_l) each.
    splits : list of ndarray of shape (m, h_l)
        In {-1, 0, +1}.
    n_iter : int, default=20
    lr : float, default=0.1
    init : tuple (alpha, beta) of lists of ndarray of shape (m, h_l), default=None
        Warm start (e.g. the parent's best multipliers in branch and bound);
        a newly split active neuron still starts at ``beta = max(lam, 0)``.

    Returns
    -------
    lower : ndarray of shape (m,)
    x : ndarray of shape (m, d_m)
        Minimiser of the best linear bound over the movable coordinates (a
        primal candidate).
    scores : list of ndarray of shape (m, h_l)
        BaBSR-like estimate of what splitting each neuron gains:
        ``|lambda_j| u_j (-l_j) / (u_j - l_j)`` (the triangle relaxation's
        area weighted by the neuron's coefficient in the best bound) on free
        unstable neurons, ``-inf`` elsewhere.
    params : tuple (alpha, beta)
        The best iterate's multipliers, for warm starts.
    """
    W1, b1 = _first_layer(network, dom)
    b1 = np.asarray(b1)[rows]
    weights = [W1] + list(network.coefs[1:-1])
    biases = [b1] + list(network.intercepts[1:-1])
    bounds = split_bounds(pre_bounds, splits)
    n_hidden = len(bounds)
    unstable, up, icpt, active, sign, area = [], [], [], [], [], []
    for (l, u), s in zip(bounds, splits):
        un = (l < 0) & (u > 0)
        width = np.where(un, u - l, 1.0)
        unstable.append(un)
        up.append(np.where(un, u / width, 0.0))
        icpt.append(np.where(un, -u * l / width, 0.0))
        area.append(np.where(un, -u * l / width, -np.inf))
        active.append(l >= 0)
        sign.append(np.where(s > 0, -1.0, np.where(s < 0, 1.0, 0.0)))
    if init is None:
        alpha = [np.where(u > -l, 1.0, 0.0) for l, u in bounds]
        beta = [np.zeros_like(a) for a in alpha]
    else:
        alpha = [a.copy() for a in init[0]]
        beta = [b.copy() for b in init[1]]
    best_alpha, best_beta = [a.copy() for a in alpha], [b.copy() for b in beta]
    scale = [None] * n_hidden
    m_alpha = [np.zeros_like(a) for a in alpha] + [np.zeros_like(a) for a in alpha]
    v_alpha = [np.zeros_like(a) for a in m_alpha]
    b_1, b_2, tiny = _ADAM
    best = np.full(rows.size, -np.inf)
    best_x, best_lam = None, [None] * n_hidden
    for t in range(n_iter + 1):
        lam = c @ network.coefs[-1].T
        const = c @ network.intercepts[-1]
        lam_post, slopes, icps = [None] * n_hidden, [None] * n_hidden, [None] * n_hidden
        for layer in range(n_hidden - 1, -1, -1):
            pos = lam >= 0
            un = unstable[layer]
            slope = np.where(
                active[layer],
                1.0,
                np.where(un, np.where(pos, alpha[layer], up[layer]), 0.0),
            )
            icp = np.where(un & ~pos, icpt[layer], 0.0)
            lam_post[layer], slopes[layer], icps[layer] = lam, slope, icp
            const = const + np.einsum("mh,mh->m", lam, icp)
            if t == 0:
                # Start an active split at beta = max(lam, 0): its coefficient
                # is then min(lam, 0), never worse than the parent's
                # relaxation (beta = 0 would let z < 0 of the ball count).
                fresh = (sign[layer] < 0) & (beta[layer] == 0)
                beta[layer] = np.where(
                    fresh,
                    np.maximum(lam, 0.0),
                    np.where(sign[layer] != 0, beta[layer], 0.0),
                )
                scale[layer] = np.abs(lam) + 1e-3
            pre = lam * slope + sign[layer] * beta[layer]
            const = const + np.einsum(
                "mh,mh->m", pre, np.broadcast_to(biases[layer], pre.shape)
            )
            lam = pre @ weights[layer].T
        value, x = concretize_min(dom, rows, lam, const)
        better = value > best
        best = np.where(better, value, best)
        best_x = x if best_x is None else np.where(better[:, None], x, best_x)
        for layer in range(n_hidden):
            old = best_lam[layer]
            new = lam_post[layer]
            best_lam[layer] = (
                new if old is None else np.where(better[:, None], new, old)
            )
            best_alpha[layer][better] = alpha[layer][better]
            best_beta[layer][better] = beta[layer][better]
        if t == n_iter:
            break
        # Supergradient: the relaxed network's pre-activations at x.
        zeta = x @ W1 + b1
        grads = [None] * (2 * n_hidden)
        for layer in range(n_hidden):
            free = unstable[layer] & (lam_post[layer] >= 0)
            grads[layer] = np.where(free, lam_post[layer] * zeta, 0.0)
            grads[n_hidden + layer] = sign[layer] * zeta
            if layer + 1 < n_hidden:
                zeta = (zeta * slopes[layer] + icps[layer]) @ weights[
                    layer + 1
                ] + biases[layer + 1]
        params = alpha + beta
        # beta lives on the scale of its neuron's coefficient, alpha in [0, 1].
        scales = [1.0] * n_hidden + scale
        for p, g, mo, ve, sc in zip(params, grads, m_alpha, v_alpha, scales):
            mo *= b_1
            mo += (1 - b_1) * g
            ve *= b_2
            ve += (1 - b_2) * g * g
            p += (
                lr
                * sc
                * (mo / (1 - b_1 ** (t + 1)))
                / (np.sqrt(ve / (1 - b_2 ** (t + 1))) + tiny)
            )
        alpha = [np.clip(a, 0.0, 1.0) for a in alpha]
        beta = [np.maximum(b, 0.0) for b in beta]
    scores = [
        np.where(np.isfinite(a), np.abs(lam) * np.where(np.isfinite(a), a, 0.0), a)
        for lam, a in zip(best_lam, area)
    ]
    return best, best_x, scores, (best_alpha, best_beta)


def leaf_point(network, dom, i, c, pre_bounds, splits):
    """The minimiser of ``c . f`` over a fully split subdomain of sample ``i``.

    With every neuron stable the network is affine on the subdomain, which
    is the input domain cut by the split half-spaces: a linear program for
    Linf (HiGHS), a linear objective over a ball and a polytope for L2
    (SLSQP; convex, so its local minimum is the global one). The point is a
    primal candidate, checked by the caller with the network itself.

    Returns
    -------
    x : ndarray of shape (d,) or None
        Full coordinates; None when the solver failed.
    value : float
        Linf: the LP's minimum of ``c . f`` over the subdomain (exact up to
        HiGHS's tolerances, ~1e-9); L2: NaN (SLSQP proves nothing).
    """
    from scipy.optimize import linprog, minimize

    W, b = _first_layer(network, dom)
    A, a = W, np.asarray(b)[i]  # z = x_m @ A + a for the current layer
    G, h = [], []
    bounds = split_bounds(
        [(l[None], u[None]) for l, u in pre_bounds], [s[None] for s in splits]
    )
    for layer, ((l, _u), s) in enumerate(zip(bounds, splits)):
        sgn = np.where(s > 0, -1.0, np.where(s < 0, 1.0, 0.0))  # sgn z <= 0
        keep = sgn != 0
        G.append(A[:, keep].T * sgn[keep][:, None])
        h.append(-a[keep] * sgn[keep])
        on = (l[0] >= 0).astype(float)
        A, a = (A * on) @ network.coefs[layer + 1], (a * on) @ network.coefs[layer + 1]
        a = a + network.intercepts[layer + 1]
    obj = A @ c
    const = float(a @ c)
    G, h = np.concatenate(G), np.concatenate(h)
    Z, eps = np.asarray(dom.Z, np.float64), dom.eps
    cols = movable(dom)
    x0 = Z[i, cols]
    lo, hi = x0 - eps[i], x0 + eps[i]
    if dom.box is not None:
        lo, hi = np.maximum(lo, dom.box[0]), np.minimum(hi, dom.box[1])
    if dom.norm == np.inf:
        res = linprog(obj, A_ub=G, b_ub=h, bounds=np.stack([lo, hi], 1), method="highs")
        x = res.x if res.status == 0 else None
        value = (
            res.fun + const
            if res.status == 0
            else np.inf
            if res.status == 2
            else np.nan
        )
    else:
        cons = [
            {"type": "ineq", "fun": lambda x: h - G @ x, "jac": lambda x: -G},
            {
                "type": "ineq",
                "fun": lambda x: eps[i] ** 2 - np.sum((x - x0) ** 2),
                "jac": lambda x: -2 * (x - x0),
            },
        ]
        box = (
            None
            if dom.box is None
            else np.stack(
                [
                    np.broadcast_to(dom.box[0], x0.shape),
                    np.broadcast_to(dom.box[1], x0.shape),
                ],
                1,
            )
        )
        res = minimize(
            lambda x: obj @ x,
            x0,
            jac=lambda x: obj,
            bounds=box,
            constraints=cons,
            method="SLSQP",
            options={"maxiter": 200},
        )
        x, value = res.x, np.nan
    if x is None:
        return None, value
    point = Z[i].copy()
    point[cols] = x
    return point, value
