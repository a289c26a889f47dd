"""The solvers: full-batch L-BFGS and the stochastic (mini-batch) loop.

Every solver has the signature of :func:`fit_lbfgs` and is registered in
:data:`SOLVERS` under its ``solver`` name; the stochastic ones are those with
an optimizer in :data:`~sklip.neural_network._optimizers.OPTIMIZERS`. A
solver advances a :class:`~sklip.neural_network._state.TrainingState` (never
the estimator) and returns the :class:`~sklip.neural_network._objective.Objective`
it minimised; it raises :class:`Diverged` when the loss or the weights stop
being finite.
"""

import warnings

import numpy as np
import scipy
import scipy.optimize
from scipy.sparse.linalg import ArpackError
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.optimize import _check_optimize_result

from .._validation import show
from ._batching import Batches, batch_size, validation_split
from ._objective import PENALTIES, Objective
from ._optimizers import OPTIMIZERS

# A stochastic fit has diverged once its epoch loss exceeds this multiple of
# the first mini-batch loss of the call (floored, for already well-fit models):
# weights then grow without bound long before they overflow to inf.
_DIVERGENCE_FACTOR = 100.0
_DIVERGENCE_FLOOR = 1e-2

# scipy.optimize.minimize ends cleanly when a callback raises StopIteration
# from scipy 1.11 on; before, a callback's request to stop is ignored.
_SCIPY_STOPS_ON_STOPITERATION = tuple(
    int(part) for part in scipy.__version__.split(".")[:2]
) >= (1, 11)


class Diverged(Exception):
    """Internal signal: the loss or the weights stopped being finite.

    ``at_start`` says the loss was not finite at the weights training started
    from: then the data, not the step size, is to blame.
    """

    def __init__(self, at_start=False):
        super().__init__()
        self.at_start = at_start


# ----------------------------------------------------------------------
# L-BFGS


def fit_lbfgs(
    estimator, state, X, Y, sw, strata, incremental, weight_exponent, monitor
):
    """Minimise the full-batch objective with scipy's L-BFGS-B.

    Parameters
    ----------
    estimator : BaseLipschitzMLP
        Read only: the parameters (``max_iter``, ``max_fun``, ``tol``...).
    state : TrainingState
        Advanced in place: weights, ``n_iter``, ``loss``, ``loss_curve``,
        ``best_loss``.
    X, Y, sw : arrays
        Validated data, encoded targets, scaled sample weights (or None).
    strata : ndarray or None
        Labels for a stratified validation split (unused by lbfgs).
    incremental : bool
        A ``partial_fit`` call (never, for lbfgs).
    weight_exponent : int
        ``sw`` was divided by ``2**weight_exponent``.
    monitor : FitMonitor
        Progress lines and callbacks, one step per iteration.

    Returns
    -------
    objective : Objective
    """
    flat = state.flat
    acts, deltas = flat.network.allocate(X.shape[0])
    P = np.empty_like(acts[-1])
    objective = Objective.from_estimator(estimator, state, weight_exponent)
    terms = objective.terms
    budget = terms.budget
    curve = []
    last = {"loss": np.inf, "first": None}

    def evaluate(theta):
        """``(value, gradient)`` in float64 at ``theta``; inf where the
        objective is not finite, for the line search to back off."""
        flat.params[...] = theta
        if budget is not None:
            # lbfgs optimises V with weights W = V min(1, tau / sigma(V)).
            budget.reparametrise(flat.coefs, terms.tracker)
        try:
            loss = objective.value_and_grad(X, Y, sw, acts, deltas, P, True)
        except (np.linalg.LinAlgError, ArpackError):
            # The SVD of the spectral penalty fails on weights that
            # overflowed (huge inputs or penalty): a non-finite point.
            loss = np.inf
        last["loss"] = loss
        if last["first"] is None:
            last["first"] = loss
        if not np.isfinite(loss):
            # A finite model is checked after the search.
            return np.inf, np.zeros_like(theta)
        return loss, flat.grad.astype(np.float64)

    def callback(intermediate_result):
        """Record the iterate's value; report it to the monitor."""
        curve.append(float(intermediate_result.fun))
        if not monitor.active:
            return
        x = intermediate_result.x.astype(flat.params.dtype, copy=False)
        if not np.array_equal(flat.params, x):
            # The last evaluation was a line-search trial: report the
            # iterate itself (and leave its weights in flat for callbacks).
            evaluate(intermediate_result.x)
        stop = monitor.step_end(state, len(curve), curve[-1], objective.last_penalty)
        monitor.step_begin(state, "iteration")
        if stop and _SCIPY_STOPS_ON_STOPITERATION:
            raise StopIteration

    monitor.step_begin(state, "iteration")
    try:
        result = scipy.optimize.minimize(
            evaluate,
            flat.params.astype(np.float64),
            method="L-BFGS-B",
            jac=True,
            callback=callback,
            options={
                "maxfun": estimator.max_fun,
                "maxiter": estimator.max_iter,
                "gtol": estimator.tol,
                # Progress is printed by the monitor, one line per iteration.
                **_lbfgs_iprint(-1),
            },
        )
    except KeyboardInterrupt:
        # flat.params holds the point evaluated last.
        warnings.warn("Training interrupted by user.", stacklevel=2)
        state.n_iter = len(curve)
        state.loss = float(last["loss"])
    else:
        state.n_iter = _check_optimize_result("lbfgs", result, estimator.max_iter)
        state.loss = float(result.fun)
        flat.params[...] = result.x
    if budget is not None:
        budget.reparametrise(flat.coefs, terms.tracker)
    if not np.isfinite(state.loss):
        raise Diverged(at_start=not np.isfinite(last["first"]))
    state.loss_curve = curve
    state.best_loss = min(curve) if curve else state.loss
    return objective


def _lbfgs_iprint(iprint):
    """scipy deprecated ``iprint``; scikit-learn's helper knows which to pass."""
    try:
        from sklearn.utils.fixes import _get_additional_lbfgs_options_dict
    except ImportError:  # pragma: no cover - depends on the installed sklearn
        return {}
    return _get_additional_lbfgs_options_dict("iprint", iprint)


# ----------------------------------------------------------------------
# The stochastic solvers


def fit_stochastic(
    estimator, state, X, Y, sw, strata, incremental, weight_exponent, monitor
):
    """Mini-batch training with the optimizer ``estimator.solver`` names.

    One epoch per iteration (one in all for ``partial_fit``): shuffle,
    one optimizer step per mini-batch, then the end-of-epoch steps
    (divergence check, stopping counters, learning-rate schedule, monitor).
    Parameters and return value as for :func:`fit_lbfgs`; ``strata`` are
    the labels the early-stopping split is stratified by.
    """
    if estimator.early_stopping and incremental:
        raise ValueError("partial_fit does not support early_stopping=True")
    optimizer = _optimizer(estimator, state, incremental)
    objective = Objective.from_estimator(estimator, state, weight_exponent, incremental)
    flat, terms = state.flat, objective.terms
    validation = best_params = None
    if estimator.early_stopping:
        X, X_val, Y, Y_val, sw, sw_val = validation_split(
            estimator, state.rng, X, Y, sw, strata
        )
        validation = (X_val, Y_val, sw_val)
        best_params = np.empty_like(flat.params)
    epochs = _Epochs(objective, optimizer, X, Y, sw, batch_size(estimator, X.shape[0]))
    found_best = False
    try:
        state.n_iter = 0
        for epoch in range(estimator.max_iter):
            if estimator.shuffle:
                epochs.shuffle(state.rng)
            if epoch:
                # The pairs start converged; re-converged at every later
                # epoch start (not across partial_fit calls: they track).
                terms.converge(flat.coefs)
            monitor.step_begin(state, "epoch")
            loss, penalty_term = epochs.run()
            _end_epoch(state, loss, X.shape[0], epochs.divergence_threshold)
            if _update_no_improvement_count(estimator, state, validation):
                np.copyto(best_params, flat.params)
                found_best = True
            optimizer.iteration_ends(state.t)
            score = state.validation_scores[-1] if validation else None
            if monitor.step_end(state, state.n_iter, loss, penalty_term, score):
                break
            if _stalled(estimator, state, optimizer, validation is not None):
                break
            if incremental:
                break
            if state.n_iter == estimator.max_iter:
                warnings.warn(
                    f"Stochastic Optimizer: Maximum iterations ({estimator.max_iter})"
                    " reached and the optimization hasn't converged yet.",
                    ConvergenceWarning,
                    stacklevel=2,
                )
    except KeyboardInterrupt:
        warnings.warn("Training interrupted by user.", stacklevel=2)
    if found_best:
        flat.params[...] = best_params
    return objective


def _optimizer(estimator, state, incremental):
    """The state's optimizer: continued by ``warm_start`` and ``partial_fit``
    (moments, step count: fitting 5 + 5 epochs equals fitting 10), new for a
    fresh fit."""
    if state.optimizer is None or not (incremental or estimator.warm_start):
        n, dtype = state.flat.params.size, state.flat.params.dtype
        state.optimizer = OPTIMIZERS[estimator.solver].from_estimator(
            estimator, n, dtype
        )
    state.optimizer.ensure_dtype(state.flat.params.dtype)
    return state.optimizer


class _Epochs:
    """Passes over the training data: batches, objective, optimizer steps.

    Holds the buffers of one call (activations, deltas, outputs, gathered
    batches: allocated once, with one spare row when the penalty rides in
    the GEMMs) and the divergence threshold, set from the call's first
    mini-batch loss.
    """

    def __init__(self, objective, optimizer, X, Y, sw, batch_size):
        self.objective, self.optimizer = objective, optimizer
        self.spare = int(objective.rider is not None)
        self.acts, self.deltas = objective.flat.network.allocate(
            batch_size + self.spare
        )
        self.P = np.empty((batch_size, self.acts[-1].shape[1]), self.acts[-1].dtype)
        self.batches = Batches(X, Y, sw, batch_size, self.spare)
        self.n, self.batch_size = X.shape[0], batch_size
        self.sample_idx = np.arange(self.n)
        self.order = None  # in place: batches are slices
        self.divergence_threshold = None

    def shuffle(self, rng):
        """Shuffle the order (the same draws as ``sklearn.utils.shuffle`` on
        the index array)."""
        perm = np.arange(self.n)
        rng.shuffle(perm)
        self.order = self.sample_idx = self.sample_idx[perm]

    def run(self):
        """One epoch; returns the mean loss and the mean penalty term.

        Raises :class:`Diverged` at a non-finite mini-batch loss.
        """
        objective, optimizer = self.objective, self.optimizer
        flat, terms = objective.flat, objective.terms
        spare, size = self.spare, self.batch_size
        loss_sum = penalty_sum = 0.0
        for start in range(0, self.n, size):
            stop = min(start + size, self.n)
            m = stop - start
            if m == size:
                a_b, d_b, P_b = self.acts, self.deltas, self.P
            else:
                a_b = [a[: m + spare] for a in self.acts]
                d_b = [d[: m + spare] for d in self.deltas]
                P_b = self.P[:m]
            X_b, Y_b, sw_b = self.batches(self.order, start, stop)
            loss = objective.value_and_grad(X_b, Y_b, sw_b, a_b, d_b, P_b, False, spare)
            if loss is None:
                continue
            if not np.isfinite(loss):
                raise Diverged(at_start=self.divergence_threshold is None)
            if self.divergence_threshold is None:
                self.divergence_threshold = _DIVERGENCE_FACTOR * max(
                    loss, _DIVERGENCE_FLOOR
                )
            loss_sum += loss * m
            penalty_sum += objective.last_penalty * m
            terms.before_update(flat.coefs)
            optimizer.update(flat.params, flat.grad)
            terms.after_update(flat.coefs)
        return loss_sum / self.n, penalty_sum / self.n


def _end_epoch(state, loss, n_samples, divergence_threshold):
    """Record the epoch; raise :class:`Diverged` when the weights are not
    finite or the loss passed the divergence threshold."""
    state.n_iter += 1
    state.loss = loss
    state.t += n_samples
    state.loss_curve.append(loss)
    if not np.isfinite(state.flat.params).all() or (
        divergence_threshold is not None and loss > divergence_threshold
    ):
        raise Diverged


def _update_no_improvement_count(estimator, state, validation):
    """Update the stopping counters; True when the validation score
    reached a new best (the caller keeps those weights).

    ``validation`` is ``(X_val, Y_val, sw_val)`` under early stopping, else
    None (the training loss is watched).
    """
    tol = estimator.tol
    if validation is not None:
        score = estimator._score_raw(
            state.flat.network, *validation, state.out_activation
        )
        state.validation_scores.append(score)
        if score < state.best_validation_score + tol:
            state.no_improvement_count += 1
        else:
            state.no_improvement_count = 0
        if score > state.best_validation_score:
            state.best_validation_score = score
            return True
    else:
        if state.loss_curve[-1] > state.best_loss - tol:
            state.no_improvement_count += 1
        else:
            state.no_improvement_count = 0
        if state.loss_curve[-1] < state.best_loss:
            state.best_loss = state.loss_curve[-1]
    return False


def _stalled(estimator, state, optimizer, early_stopping):
    """True when progress stalled for ``n_iter_no_change`` epochs and the
    optimizer agrees to stop (the adaptive schedule lowers its rate first)."""
    if state.no_improvement_count <= estimator.n_iter_no_change:
        return False
    what = "Validation score" if early_stopping else "Training loss"
    msg = (
        f"{what} did not improve more than tol={estimator.tol:f} for "
        f"{estimator.n_iter_no_change} consecutive epochs."
    )
    if optimizer.trigger_stopping(msg, estimator.verbose):
        return True
    state.no_improvement_count = 0
    return False


# ``solver`` parameter value -> solver.
SOLVERS = {"lbfgs": fit_lbfgs, **{name: fit_stochastic for name in OPTIMIZERS}}
STOCHASTIC_SOLVERS = frozenset(OPTIMIZERS)


def divergence_message(estimator, X, sample_weight, weight_exponent, exc):
    """The error message for a fit that raised :class:`Diverged` ``exc``.

    Blames the data when the loss was not finite from the start, else
    suggests a smaller step, scaled features, and a look at ``alpha`` or
    ``sample_weight``.
    """
    kept = " The model was left as it was before this call."
    if exc.at_start:
        largest = abs(X).max() if X.size else 0.0
        return (
            "The training loss is not finite at the weights training starts "
            "from, before any step: X (largest absolute value "
            f"{largest:.3g}) or y hold values too large for {X.dtype} "
            "arithmetic. Scale them (e.g. with StandardScaler)." + kept
        )
    advice = []
    if estimator.solver in STOCHASTIC_SOLVERS:
        advice.append(
            f"use a smaller learning_rate_init (got {estimator.learning_rate_init})"
        )
    advice.append("scale the input features (e.g. with StandardScaler)")
    if estimator.lipschitz_margin > 0:
        # The margin's shift scales the loss gradient: a large radius makes
        # fixed-step solvers diverge.
        advice.append(
            f"use a smaller lipschitz_margin (got {show(estimator.lipschitz_margin)}, "
            "a radius in raw input units)"
        )
    penalises = PENALTIES[estimator.penalty].penalises
    if sample_weight is not None and penalises and estimator.alpha:
        strength = np.ldexp(
            estimator.alpha / float(sample_weight.sum()), -weight_exponent
        )
        advice.append(
            "check sample_weight: the penalty weighs alpha / "
            f"sum(sample_weight) = {strength:.3g} (scikit-learn's "
            "convention), so weights far from 1 change its strength"
        )
    else:
        advice.append("increase alpha")
    advice = ", ".join(advice[:-1]) + " or " + advice[-1]
    return (
        "Training diverged: the loss grew without bound or the weights "
        f"became non-finite. {advice[0].upper()}{advice[1:]}." + kept
    )
