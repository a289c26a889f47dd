"""Geometry of the L2/Linf balls: norms, steepest-ascent directions,
projections, random points and the exact maximiser of a linear function over
``ball ∩ box``.

Every function works row-wise on ``(n_samples, n_features)`` arrays. Radii may
be huge (``eps = 1e200``): norms never square an unscaled vector.
"""

import numpy as np

from ._common import scaled_row_norms


def row_norms(A, norm):
    """Row-wise L2 or Linf norms, without overflow or underflow."""
    return scaled_row_norms(A, norm)


def normalize_rows(A):
    """``A / ||A||_2`` row-wise, zero rows staying zero."""
    n = row_norms(A, 2)[:, None]
    return np.divide(A, n, out=np.zeros_like(A), where=n > 0)


def ascent_direction(g, norm):
    """Steepest-ascent unit direction for ``g`` in the given norm: sign for
    Linf, normalised gradient for L2 (zero where the gradient vanishes)."""
    if norm == np.inf:
        return np.sign(g)
    return normalize_rows(g)


def project(X, X_adv, eps, norm, clip):
    """Project ``X_adv`` (in place) onto the eps-ball around ``X``, then into
    the box ``clip``. Clipping to a box that contains ``X`` moves every
    coordinate towards ``X``, so it never leaves the ball again."""
    delta = X_adv - X
    # Only rows outside the ball are rewritten: rows inside stay bitwise
    # unchanged, so projecting a feasible point (e.g. a given start) is exact.
    norms = row_norms(delta, norm)
    outside = norms > eps
    if np.any(outside):
        d = delta[outside]
        if norm == np.inf:
            np.clip(d, -eps, eps, out=d)
        else:
            d *= (eps / norms[outside])[:, None]
        X_adv[outside] = X[outside] + d
    if clip is not None:
        np.clip(X_adv, clip[0], clip[1], out=X_adv)
    return X_adv


def random_in_ball(rng, shape, eps, norm, mask=None):
    """Uniform draw from the eps-ball (of the masked coordinates)."""
    d = shape[1] if mask is None else int(mask.sum())
    if norm == np.inf:
        U = rng.uniform(-eps, eps, size=shape)
    else:
        U = random_on_sphere(rng, shape, eps, 2, mask)
        U *= rng.uniform(size=(shape[0], 1)) ** (1.0 / max(d, 1))
    if mask is not None:
        U[:, ~mask] = 0.0
    return U


def random_on_sphere(rng, shape, eps, norm, mask=None):
    """Uniform draw from the eps-sphere (of the masked coordinates)."""
    n, d = shape
    if norm == np.inf:
        # The Linf sphere is the cube's surface: its 2d faces have equal area,
        # so pick a face uniformly, then a point uniformly on it.
        U = rng.uniform(-eps, eps, size=shape)
        cols = np.arange(d) if mask is None else np.flatnonzero(mask)
        if cols.size:
            face = cols[rng.integers(cols.size, size=n)]
            U[np.arange(n), face] = eps * rng.choice([-1.0, 1.0], n)
    else:
        G = rng.standard_normal(size=shape)
        if mask is not None:
            G[:, ~mask] = 0.0
        U = normalize_rows(G) * eps
    if mask is not None:
        U[:, ~mask] = 0.0
    return U


def box_offsets(X, clip, mask):
    """Bounds ``(low, high)`` on ``delta`` from ``clip`` and ``mask``
    (``low <= 0 <= high``), or ``None`` when ``delta`` is unconstrained."""
    if clip is None and mask is None:
        return None
    n, d = X.shape
    low = np.full((n, d), -np.inf)
    high = np.full((n, d), np.inf)
    if clip is not None:
        low = np.minimum(clip[0] - X, 0.0)
        high = np.maximum(clip[1] - X, 0.0)
    if mask is not None:
        low[:, ~mask] = 0.0
        high[:, ~mask] = 0.0
    return low, high


def linear_max(C, eps, norm, box=None):
    """Exact maximiser of ``C[i] @ delta`` over ``||delta|| <= eps`` (and
    ``low <= delta <= high`` when ``box=(low, high)`` is given), row-wise.

    Linf: each coordinate independently goes to its bound in the direction of
    ``sign(C)``. L2: by the KKT conditions the maximiser is
    ``clip(t C, low, high)`` for the smallest ``t >= 0`` reaching the sphere
    (or the box corner when the whole corner fits in the ball); ``t`` is
    found exactly by sorting the breakpoints where coordinates saturate.

    Returns
    -------
    delta : ndarray of shape (n, d)
    """
    if norm == np.inf:
        if box is None:
            return eps * np.sign(C)
        low, high = box
        return np.where(
            C > 0, np.minimum(high, eps), np.where(C < 0, np.maximum(low, -eps), 0.0)
        )
    if box is None:
        return eps * normalize_rows(C)
    low, high = box
    n, d = C.shape
    # Work in units of eps and of max|C| so that nothing overflows.
    scale = np.abs(C).max(axis=1, initial=0.0)[:, None]
    c = np.divide(C, scale, out=np.zeros_like(C), where=scale > 0)
    bound = np.where(c > 0, high, np.where(c < 0, low, 0.0)) / eps  # |.| may be inf
    with np.errstate(divide="ignore", invalid="ignore"):
        brk = np.where(c != 0, bound / c, np.inf)  # t at which i saturates, >= 0
    order = np.argsort(brk, axis=1, kind="stable")
    rows = np.arange(n)[:, None]
    t_sorted = brk[rows, order]
    b2 = np.where(np.isfinite(bound), bound, 0.0)[rows, order] ** 2
    c2 = (c**2)[rows, order]
    # Before the k-th breakpoint, coordinates order[:k] are saturated:
    # ||delta(t)||^2 = S_k + t^2 R_k.
    S = np.concatenate([np.zeros((n, 1)), np.cumsum(b2, axis=1)], axis=1)
    R = np.concatenate(
        [
            c2.sum(axis=1, keepdims=True),
            c2.sum(axis=1, keepdims=True) - np.cumsum(c2, axis=1),
        ],
        axis=1,
    )
    R = np.maximum(R, 0.0)
    t_start = np.concatenate([np.zeros((n, 1)), t_sorted], axis=1)
    with np.errstate(invalid="ignore", over="ignore"):
        N = S + np.where(np.isfinite(t_start), t_start**2 * R, np.inf)
    N[:, 0] = 0.0
    # Segment k: the last whose start lies inside the unit ball.
    k = (N <= 1.0).sum(axis=1) - 1
    Sk, Rk = S[np.arange(n), k], R[np.arange(n), k]
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(Rk > 0, np.sqrt(np.maximum(1.0 - Sk, 0.0) / Rk), np.inf)
    with np.errstate(invalid="ignore"):
        delta = np.where(c != 0, np.clip(t[:, None] * c, low / eps, high / eps), 0.0)
    delta *= eps
    # Rounding may leave the sphere by an ulp: pull back inside.
    nrm = row_norms(delta, 2)
    over = nrm > eps
    delta[over] *= (eps / nrm[over])[:, None]
    return delta
