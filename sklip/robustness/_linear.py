"""The exact attack on models whose network view is one affine layer.

For ``f(x) = x W + b`` every tracking objective is the maximum of a few
linear functions of ``delta`` (or, for a single regression output, a convex
function of one), so its maximum over the feasible set (the eps-ball, the
``clip`` box and the masked coordinates) is attained by maximising each
linear function exactly (:func:`~sklip.robustness._geometry.linear_max`):

- binary single logit: the signed logit ``t (x + delta) w``;
- multiclass margin: ``max_{j != y} (f_j - f_y)``, one linear function per
  class pair, i.e. the distance ``(f_y - f_j) / ||w_y - w_j||_*`` with the
  dual norm (L2 for L2, L1 for Linf) when no box binds;
- one regression output: ``|f(x + delta) - t|`` under any monotone link is
  largest at an extreme of ``delta @ w``.

The result is the exact worst point, so robust accuracy equals the exact
robust accuracy.
"""

import numpy as np

from ._geometry import box_offsets, linear_max, project


def linear_attack(network, objective, X, *, eps, norm, clip, mask=None):
    """The worst point of ``objective`` over the feasible set, or ``None``
    when there is no closed form (several regression outputs)."""
    W = np.asarray(network.coefs[0], dtype=np.float64)
    b = np.asarray(network.intercepts[0], dtype=np.float64)
    n = X.shape[0]
    rows = np.arange(n)
    box = box_offsets(X, clip, mask)
    kind = objective.kind
    if kind == "binary":
        candidates = [linear_max(objective.target[:, None] * W[:, 0], eps, norm, box)]
    elif kind == "margin":
        F = X @ W + b
        y = objective.target
        Wy = W.T[y]
        best_val = np.full(n, -np.inf)
        delta = np.zeros_like(X)
        for j in range(W.shape[1]):
            C = W[:, j] - Wy
            d = linear_max(C, eps, norm, box)
            val = F[:, j] - F[rows, y] + np.einsum("ij,ij->i", C, d)
            val[y == j] = -np.inf
            better = val > best_val
            delta[better], best_val[better] = d[better], val[better]
        candidates = [delta]
    elif kind == "squared" and W.shape[1] == 1:
        w = np.broadcast_to(W[:, 0], X.shape)
        candidates = [linear_max(w, eps, norm, box), linear_max(-w, eps, norm, box)]
    else:
        return None
    best = X.copy()
    best_loss = objective(X @ W + b)
    for delta in candidates:
        X_adv = project(X, X + delta, eps, norm, clip)
        loss = objective(X_adv @ W + b)
        worse = loss > best_loss
        best[worse], best_loss[worse] = X_adv[worse], loss[worse]
    return best
