"""Square Attack (Andriushchenko et al., 2020): a score-based black-box
random search, L2 and Linf.

Only scores are queried (``decision_function``, ``predict_proba`` or a
network's raw outputs), so any classifier or regressor can be attacked: trees,
SVC, k-NN, whole pipelines. Each query changes a random window of
coordinates; a change is kept when the tracking objective does not decrease
(ties are kept, so piecewise-constant scores such as a tree's still let the
search wander). Inputs are treated as flat vectors: a "square" is a window of
consecutive (masked) coordinates, wrapping around, whose size shrinks on the
original schedule.
"""

import numpy as np

from ._apgd import record, unbroken
from ._geometry import hold, normalize_rows, project, take_rows

# Andriushchenko et al.'s schedule: fraction of the coordinates changed,
# divided by 2 at these (per ten thousand) fractions of the query budget.
_P_MILESTONES = (10, 50, 200, 500, 1000, 2000, 4000, 6000, 8000)


def window_fraction(p_init, it, n_queries):
    """Fraction of the coordinates changed at query ``it`` of ``n_queries``."""
    t = int(it / n_queries * 10000)
    halvings = sum(t > m for m in _P_MILESTONES)
    return p_init / 2**halvings


def _windows(rng, n, cols, size):
    """``n`` windows of ``size`` consecutive entries of ``cols`` (wrapping)."""
    start = rng.integers(cols.size, size=n)
    return cols[(start[:, None] + np.arange(size)) % cols.size]


def square(
    score,
    track,
    X,
    best,
    best_val,
    *,
    eps,
    norm,
    n_queries,
    clip,
    rng,
    mask=None,
    p_init=0.8,
    rows=None,
):
    """Square Attack on the unbroken samples among ``rows``; ``score(P,
    rows)`` returns the raw scores of the points ``P`` standing for the
    samples ``rows``, ``track`` turns them into the per-sample objective.
    Updates ``best`` / ``best_val`` in place."""
    rows = np.arange(X.shape[0]) if rows is None else rows
    rows = unbroken(track, best_val, rows)
    # A per-row mask: windows run over the coordinates movable in some row,
    # and each row's held ones are zeroed in every candidate.
    per_row = mask is not None and mask.ndim == 2
    if mask is None:
        cols = np.arange(X.shape[1])
    else:
        cols = np.flatnonzero(mask.any(axis=0) if per_row else mask)
    if rows.size == 0 or cols.size == 0:
        return
    X = X[rows]
    mask = take_rows(mask, rows) if per_row else None
    track = track.take(rows)
    n = X.shape[0]
    # Start at a vertex of the Linf ball / a random point of the L2 sphere,
    # as far from x as the ball allows.
    U = np.zeros_like(X)
    if norm == np.inf:
        U[:, cols] = eps * rng.choice([-1.0, 1.0], size=(n, cols.size))
        hold(U, mask)
    else:
        G = rng.standard_normal((n, cols.size))
        if per_row:
            G *= mask[:, cols]
        U[:, cols] = eps * normalize_rows(G)
    x = project(X, X + U, eps, norm, clip)
    cur = track(score(x, rows))
    record(best, best_val, rows, x, cur)
    for it in range(1, n_queries):
        if track.classifies:
            # Compact to the samples not broken yet (only when one broke).
            keep = cur <= 0
            if not np.all(keep):
                if not np.any(keep):
                    return
                X, x, cur, rows = X[keep], x[keep], cur[keep], rows[keep]
                track, mask = track.take(keep), take_rows(mask, keep)
        m = X.shape[0]
        frac = window_fraction(p_init, it, n_queries)
        size = max(1, min(cols.size, round(frac * cols.size)))
        r = np.arange(m)[:, None]
        W1 = _windows(rng, m, cols, size)
        if norm == np.inf:
            x_new = x.copy()
            signs = rng.choice([-eps, eps], size=(m, size))
            if per_row:
                signs *= mask[r, W1]
            x_new[r, W1] = X[r, W1] + signs
            if clip is not None:
                np.clip(x_new, clip[0], clip[1], out=x_new)
        else:
            x_new = _l2_step(rng, X, x, W1, cols, size, eps, clip, mask)
        new = track(score(x_new, rows))
        record(best, best_val, rows, x_new, new)
        accept = new >= cur
        x[accept] = x_new[accept]
        cur[accept] = new[accept]


def _l2_step(rng, X, x, W1, cols, size, eps, clip, mask=None):
    """Move the perturbation's mass from a second window into ``W1``, with a
    fresh random pattern, keeping ``||delta||_2 = eps`` (in units of eps, so
    that huge radii cannot overflow). ``mask`` (per row, or None): held
    coordinates get no mass."""
    m = X.shape[0]
    r = np.arange(m)[:, None]
    W2 = _windows(rng, m, cols, size)
    d = (x - X) / eps
    old = normalize_rows(d[r, W1])
    d[r, W1] = 0.0
    d[r, W2] = 0.0
    # Mass left outside both windows; W1 receives the rest of the sphere.
    outside = np.einsum("ij,ij->i", d, d)
    pattern = rng.choice([-1.0, 1.0], size=(m, size)) / np.sqrt(size) + old
    if mask is not None:
        pattern *= mask[r, W1]
    budget = np.sqrt(np.maximum(1.0 - outside, 0.0))
    d[r, W1] = normalize_rows(pattern) * budget[:, None]
    return project(X, X + eps * d, eps, 2, clip)
