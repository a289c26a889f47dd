"""Auto-PGD (Croce & Hein, 2020) on a network view, L2 and Linf.

APGD replaces PGD's fixed step by a budget-aware schedule: the step starts at
``2 eps`` and is halved at checkpoints where the loss stopped improving, each
halving restarting from the best point found so far; steps carry momentum
0.75. The attack loss (cross-entropy, difference of logits ratio or a
targeted margin) drives the steps; a separate *tracking* objective decides
which point is worst for the model and is kept per sample (see
:class:`~sklip.robustness._objectives.Objective`).

All functions update ``best`` / ``best_val`` in place, at the rows they are
given, and only on strict improvement, so composing them (restarts, targets,
stages) can never lose a point found earlier.
"""

import math

import numpy as np

from ._geometry import ascent_direction, hold, project, random_on_sphere, take_rows

_MOMENTUM = 0.75
_RHO = 0.75  # a step is "working" while the loss rose in >= 75% of the steps


def checkpoints(n_iter):
    """Iterations at which APGD may halve its step: ``ceil(p_j n_iter)`` with
    ``p_0 = 0``, ``p_1 = 0.22``, ``p_{j+1} = p_j + max(p_j - p_{j-1} - 0.03,
    0.06)``."""
    p = [0.0, 0.22]
    while p[-1] < 1.0:
        p.append(p[-1] + max(p[-1] - p[-2] - 0.03, 0.06))
    # Rounding first: 0.57 * 100 is 57.000000000000007 in floating point.
    marks = {math.ceil(round(pj * n_iter, 9)) for pj in p[1:] if pj < 1.0}
    return sorted(marks - {0})


class Evaluator:
    """Forward/backward through a network with buffers allocated once and
    reused for any number of rows up to ``n_samples``."""

    def __init__(self, network, n_samples):
        self.network = network
        # float64 throughout: the attack's bookkeeping (projections, the
        # worst-point comparison) should not depend on the model's dtype.
        self.activations, self.deltas = network.allocate(n_samples, np.float64)
        self.grad = np.empty((n_samples, network.n_features_in))

    def _buffers(self, m):
        return [a[:m] for a in self.activations], [d[:m] for d in self.deltas]

    def outputs(self, X):
        acts, _ = self._buffers(X.shape[0])
        return self.network.forward(X, acts)

    def loss(self, objective, X):
        return objective(self.outputs(X))

    def outputs_and_grad(self, objective, X):
        """Raw outputs, loss and input gradient of ``objective``; the
        outputs and the gradient live in buffers the next call overwrites
        (backward keeps the raw outputs)."""
        m = X.shape[0]
        acts, deltas = self._buffers(m)
        F = self.network.forward(X, acts)
        loss = objective(F, deltas[-1])
        grad = self.grad[:m]
        self.network.backward(X, acts, deltas, input_grad=grad)
        return F, loss, grad

    def loss_and_grad(self, objective, X):
        _, loss, grad = self.outputs_and_grad(objective, X)
        return loss, grad


def record(best, best_val, rows, X_cand, val):
    """Keep ``X_cand`` for the rows where ``val`` beats ``best_val``."""
    worse = val > best_val[rows]
    if np.any(worse):
        best[rows[worse]] = X_cand[worse]
        best_val[rows[worse]] = val[worse]


def unbroken(track, best_val, rows):
    """Rows still worth attacking: all for regressors, for classifiers the
    ones whose label has not flipped yet."""
    if not track.classifies:
        return rows
    return rows[best_val[rows] <= 0]


def apgd_run(
    evaluator,
    loss_obj,
    track,
    X,
    X0,
    rows,
    best,
    best_val,
    *,
    eps,
    norm,
    n_iter,
    clip,
    mask,
):
    """One APGD run of ``n_iter`` steps from ``X0`` on the samples ``X``
    (``rows`` of the full problem; ``loss_obj`` and ``track`` restricted to
    them). Samples whose label flips are dropped at the next checkpoint."""
    x = project(X, np.array(X0, dtype=np.float64), eps, norm, clip)
    F, loss, g = evaluator.outputs_and_grad(loss_obj, x)
    record(best, best_val, rows, x, track(F))
    hold(g, mask)
    m = x.shape[0]
    eta = np.full((m, 1), 2.0 * eps)
    x_max, f_max, g_max = x.copy(), loss.copy(), g.copy()
    x_prev = x.copy()
    n_rise = np.zeros(m)
    f_max_check = f_max.copy()
    halved_check = np.zeros(m, dtype=bool)
    last_check = 0
    marks = set(checkpoints(n_iter))
    for k in range(n_iter):
        a = 1.0 if k == 0 else _MOMENTUM
        z = project(X, x + eta * ascent_direction(g, norm), eps, norm, clip)
        x_new = x + a * (z - x) + (1.0 - a) * (x - x_prev)
        project(X, x_new, eps, norm, clip)
        x_prev, x = x, x_new
        F, loss_new, g = evaluator.outputs_and_grad(loss_obj, x)
        hold(g, mask)
        record(best, best_val, rows, x, track(F))
        n_rise += loss_new > loss
        loss = loss_new
        up = loss > f_max
        if np.any(up):
            x_max[up], f_max[up], g_max[up] = x[up], loss[up], g[up]
        if k + 1 not in marks or k + 1 == n_iter:
            continue
        # Halve where the loss rose too rarely since the last checkpoint, or
        # where the best loss stalled and the step was not just halved.
        halve = (n_rise <= _RHO * (k + 1 - last_check)) | (
            ~halved_check & (f_max <= f_max_check)
        )
        halved_check, f_max_check = halve, f_max.copy()
        n_rise[:] = 0.0
        last_check = k + 1
        eta[halve] /= 2.0
        x[halve], g[halve] = x_max[halve], g_max[halve]
        if track.classifies:
            keep = best_val[rows] <= 0
            if not np.all(keep):
                if not np.any(keep):
                    return
                rows, X, mask = rows[keep], X[keep], take_rows(mask, keep)
                loss_obj, track = loss_obj.take(keep), track.take(keep)
                x, x_prev, g, eta = x[keep], x_prev[keep], g[keep], eta[keep]
                x_max, f_max, g_max = x_max[keep], f_max[keep], g_max[keep]
                loss, n_rise = loss[keep], n_rise[keep]
                f_max_check, halved_check = f_max_check[keep], halved_check[keep]


def _restarts(track, best_val, rows, X, n_restarts, rng, eps, norm, mask, start=None):
    """Yield ``(active, X_active, X_start)`` per restart, on the samples of
    ``rows`` still unbroken: the first restart starts at ``start`` (default:
    the clean point), the others at random points of the eps-sphere."""
    for restart in range(n_restarts):
        active = unbroken(track, best_val, rows)
        if active.size == 0:
            return
        Xa = X[active]
        if restart == 0:
            X0 = Xa if start is None else start[active]
        else:
            X0 = Xa + random_on_sphere(
                rng, Xa.shape, eps, norm, take_rows(mask, active)
            )
        yield active, Xa, X0


def apgd(
    evaluator,
    track,
    X,
    best,
    best_val,
    *,
    loss,
    eps,
    norm,
    n_iter,
    n_restarts,
    clip,
    rng,
    mask=None,
    start=None,
    rows=None,
):
    """APGD with ``n_restarts`` restarts on the unbroken samples among
    ``rows``. The first restart starts at ``start`` (default: the clean
    point; on a linear model the gradient there points straight at the
    boundary), the others at random points of the eps-sphere."""
    rows = np.arange(X.shape[0]) if rows is None else rows
    starts = _restarts(
        track, best_val, rows, X, n_restarts, rng, eps, norm, mask, start
    )
    for active, Xa, X0 in starts:
        apgd_run(
            evaluator,
            track.take(active).attack_loss(loss),
            track.take(active),
            Xa,
            X0,
            active,
            best,
            best_val,
            eps=eps,
            norm=norm,
            n_iter=n_iter,
            clip=clip,
            mask=take_rows(mask, active),
        )


def apgd_targeted(
    evaluator,
    track,
    X,
    best,
    best_val,
    *,
    n_targets,
    eps,
    norm,
    n_iter,
    n_restarts,
    clip,
    rng,
    mask=None,
    rows=None,
):
    """APGD-T: for each of the ``n_targets`` classes ranked highest at the
    clean point after the attacked label, ascend the margin ``f_t - f_y``
    on the samples still unbroken."""
    rows = np.arange(X.shape[0]) if rows is None else rows
    n_classes = track.n_classes
    if track.kind != "margin" or n_classes < 3:
        # One other class: the targeted margin is the untargeted one.
        apgd(
            evaluator, track, X, best, best_val, loss="margin", eps=eps, norm=norm,
            n_iter=n_iter, n_restarts=n_restarts, clip=clip, rng=rng, mask=mask,
            rows=rows,
        )  # fmt: skip
        return
    F = evaluator.outputs(X).copy()
    F[np.arange(X.shape[0]), track.target] = -np.inf
    ranked = np.argsort(-F, axis=1, kind="stable")  # others first, y last
    for i in range(min(n_targets, n_classes - 1)):
        starts = _restarts(track, best_val, rows, X, n_restarts, rng, eps, norm, mask)
        for active, Xa, X0 in starts:
            sub = track.take(active)
            apgd_run(
                evaluator,
                sub.targeted(ranked[active, i]),
                sub,
                Xa,
                X0,
                active,
                best,
                best_val,
                eps=eps,
                norm=norm,
                n_iter=n_iter,
                clip=clip,
                mask=take_rows(mask, active),
            )
