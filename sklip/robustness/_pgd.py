"""Fixed-step gradient attacks on a network view: FGSM and PGD.

FGSM steps along the gradient of the tracking objective (see
:class:`~sklip.robustness._objectives.Objective`). PGD ascends the
cross-entropy as in Madry et al. (2018) (for binary single-logit models the
signed logit, whose cross-entropy has the same ascent direction; for
regressors the squared error) and keeps, per sample, the point worst for the
model by the tracking objective.
"""

import numpy as np

from ._apgd import Evaluator
from ._geometry import ascent_direction, hold, project, random_in_ball


def default_step(eps, n_iter):
    """PGD's step when ``step_size=None``: Madry et al.'s ``2.5 eps /
    n_iter``, floored at ``eps / 8``. The floor matters from 20 iterations
    on: a step that shrinks with the budget makes a long run creep, and
    ``eps / 8`` left fewer samples correct than ``2.5 eps / n_iter`` at 50
    and 100 iterations on digits (logistic regression and MLP, L2 and Linf;
    ``benchmarks/bench_robustness.py --pgd``)."""
    return max(eps / 8.0, 2.5 * eps / n_iter)


def _fgsm_gradient(network, objective, X, evaluator):
    """Gradient for FGSM at the clean point. For a squared error against the
    model's own prediction that gradient is zero, so follow instead the input
    direction of largest first-order output change: ``J^T u`` with ``u`` the
    top left singular vector of the Jacobian ``J``."""
    if not objective.from_clean:
        return evaluator.loss_and_grad(objective, X)[1].copy()
    J = network.jacobian(X)  # (n, n_outputs, n_features)
    if objective.link == "exp":
        J *= objective.target[:, :, None]  # Jacobian of exp(f): diag(exp f) J
    if J.shape[1] == 1:
        return J[:, 0, :]
    _, vecs = np.linalg.eigh(J @ J.transpose(0, 2, 1))
    return np.einsum("nk,nkd->nd", vecs[:, :, -1], J)


def fgsm(network, objective, X, *, eps, norm, clip, mask=None):
    """One step of size ``eps`` along the ascent direction of the loss."""
    evaluator = Evaluator(network, X.shape[0])
    g = hold(_fgsm_gradient(network, objective, X, evaluator), mask)
    X_adv = X + eps * ascent_direction(g, norm)
    return project(X, X_adv, eps, norm, clip)


def pgd(
    network,
    objective,
    X,
    *,
    eps,
    norm,
    n_iter,
    step_size,
    n_restarts,
    clip,
    rng,
    start=None,
    mask=None,
):
    """Projected gradient ascent (Madry et al., 2018) with a fixed absolute
    step; the worst point over the clean point and all iterates of all
    restarts wins.

    Each step moves ``step_size`` along the signed (Linf) or normalised (L2)
    gradient of the cross-entropy, then projects onto the eps-ball and the
    box ``clip``. The first restart starts at the clean point, as textbook
    PGD without random initialisation does (on a linear model the gradient
    there points straight at the boundary; a random first start left 12 more
    of 1797 digits samples correct at 20 steps), the others at uniform
    points of the ball.
    ``start`` (private, for tests and composition) replaces the first start,
    e.g. with the FGSM point: since every iterate, including the start, is a
    candidate, PGD then never finds less than it. A squared error against
    the clean prediction has no gradient at the clean point, so its first
    restart starts at the FGSM point.
    """
    n, d = X.shape
    evaluator = Evaluator(network, n)
    ascend = objective.attack_loss("ce")
    if start is None and objective.from_clean:
        start = fgsm(network, objective, X, eps=eps, norm=norm, clip=clip, mask=mask)
    # The clean point is a candidate too (delta = 0 is in the ball): on a
    # non-convex loss every iterate of an unlucky random start can be better
    # for the model than not perturbing at all.
    best = X.copy()
    best_val = evaluator.loss(objective, X)
    for restart in range(n_restarts):
        if restart > 0:
            X_adv = X + random_in_ball(rng, (n, d), eps, norm, mask)
        elif start is not None:
            X_adv = np.array(start, dtype=np.float64, copy=True)
        else:
            X_adv = X.copy()
        project(X, X_adv, eps, norm, clip)
        for it in range(n_iter + 1):
            if it == n_iter:
                F = evaluator.outputs(X_adv)
            else:
                F, _, g = evaluator.outputs_and_grad(ascend, X_adv)
            val = objective(F)
            # Strictly greater: ties keep the earlier point, so results do not
            # depend on floating noise between equal losses.
            worse = val > best_val
            best[worse] = X_adv[worse]
            best_val[worse] = val[worse]
            if it < n_iter:
                hold(g, mask)
                X_adv += step_size * ascent_direction(g, norm)
                project(X, X_adv, eps, norm, clip)
    return best
