"""Shared test utilities: the training objective as a function of the flat
parameter vector, evaluated through the estimators' own engine."""

import numpy as np


def training_state(est, X, y, input_map=None):
    """``(X, Y, state, objective)`` of ``est`` initialised exactly as ``fit``
    would, with ``input_map`` as handed over by a sklip pipeline."""
    from sklearn.utils import check_random_state

    from sklip.neural_network._objective import Objective
    from sklip.neural_network._state import TrainingState

    X, Y, _ = est._validate_input(X, y, incremental=False, reset=True)
    Y = Y.astype(X.dtype)
    layer_units = [X.shape[1], *est._hidden_layer_sizes(), Y.shape[1]]
    rng = check_random_state(est.random_state)
    state = TrainingState.fresh(est, layer_units, X.dtype, rng, False)
    est.input_map_ = input_map
    return X, Y, state, Objective.from_estimator(est, state)


def objective_and_gradient(est, X, y, sample_weight=None, input_map=None, budget=False):
    """Return ``f(theta) -> (loss, grad)`` and a starting ``theta``.

    ``est`` is initialised exactly as ``fit`` would, and the objective is the
    deterministic (lbfgs) form, so its gradient can be checked by finite
    differences. ``input_map`` is the preprocessing map a sklip pipeline
    would hand over (None: penalty in model units). With ``budget``, theta
    is lbfgs's ``V`` of the ``max_lipschitz`` reparametrisation.
    """
    X, Y, state, objective = training_state(est, X, y, input_map)
    flat, terms = state.flat, objective.terms
    acts, deltas = flat.network.allocate(X.shape[0])
    P = np.empty_like(acts[-1])
    sw = None if sample_weight is None else np.asarray(sample_weight, dtype=X.dtype)

    def f(theta):
        flat.params[...] = theta
        if budget:
            terms.budget.reparametrise(flat.coefs, terms.tracker)
        loss = objective.value_and_grad(X, Y, sw, acts, deltas, P, exact=True)
        return loss, flat.grad.copy()

    return f, flat.params.copy()


def numerical_gradient(f, theta, h=1e-6):
    """Central finite differences of the scalar part of ``f``."""
    grad = np.empty_like(theta)
    for i in range(theta.size):
        e = np.zeros_like(theta)
        e[i] = h
        grad[i] = (f(theta + e)[0] - f(theta - e)[0]) / (2 * h)
    return grad
