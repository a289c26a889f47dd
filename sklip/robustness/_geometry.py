"""Geometry of the L2/Linf balls: norms, steepest-ascent directions,
projections, random points and the exact maximiser of a linear function over
``ball ∩ box``.

Every function works row-wise on ``(n_samples, n_features)`` arrays. Radii may
be huge (``eps = 1e200``): norms never square an unscaled vector.

A ``mask`` of movable coordinates is None (all move), a bool array of shape
``(n_features,)`` shared by every row, or of shape ``(n_samples,
n_features)``, one per row (a missing entry held at its imputed value moves
in no row where it is missing). :func:`hold` and :func:`take_rows` are the
two operations every engine needs on it.
"""

import numpy as np

from ._common import scaled_row_norms


def hold(A, mask):
    """Zero, in place, the entries of ``A`` (n, d) that ``mask`` holds fixed;
    ``A`` unchanged for ``mask=None``."""
    if mask is not None:
        np.copyto(A, 0.0, where=~mask)
    return A


def take_rows(mask, rows):
    """The mask of the samples ``rows`` (a per-row mask is indexed, a shared
    one or None is returned as is)."""
    if mask is None or mask.ndim == 1:
        return mask
    return mask[rows]


def n_movable(mask, d):
    """Movable coordinates per row: an int (shared mask) or (n, 1) array."""
    if mask is None:
        return d
    if mask.ndim == 1:
        return int(mask.sum())
    return mask.sum(axis=1, keepdims=True)


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
    d = n_movable(mask, shape[1])
    if norm == np.inf:
        U = rng.uniform(-eps, eps, size=shape)
    else:
        U = random_on_sphere(rng, shape, eps, 2, mask)
        U *= rng.uniform(size=(shape[0], 1)) ** (1.0 / np.maximum(d, 1))
    return hold(U, mask)


def random_on_sphere(rng, shape, eps, norm, mask=None):
    """Uniform draw from the eps-sphere (of the masked coordinates)."""
    n, d = shape
    if norm == np.inf:
        # The Linf sphere is the cube's surface: its 2d faces have equal area,
        # so pick a face uniformly, then a point uniformly on it.
        U = rng.uniform(-eps, eps, size=shape)
        if mask is not None and mask.ndim == 2:
            # The face of each row among its own movable coordinates: the
            # k-th True of the row, k uniform below the row's count.
            count = mask.sum(axis=1)
            k = np.floor(rng.uniform(size=n) * count).astype(np.intp)
            face = np.argmax(np.cumsum(mask, axis=1) > k[:, None], axis=1)
            signs = eps * rng.choice([-1.0, 1.0], n)
            has = count > 0
            U[np.flatnonzero(has), face[has]] = signs[has]
        else:
            cols = np.arange(d) if mask is None else np.flatnonzero(mask)
            if cols.size:
                face = cols[rng.integers(cols.size, size=n)]
                U[np.arange(n), face] = eps * rng.choice([-1.0, 1.0], n)
    else:
        G = hold(rng.standard_normal(size=shape), mask)
        U = normalize_rows(G) * eps
    return hold(U, mask)


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
    hold(low, mask)
    hold(high, mask)
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
