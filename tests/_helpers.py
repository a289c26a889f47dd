"""Shared test utilities: the training objective as a function of the flat
parameter vector, evaluated through the estimators' own engine, the input
maps a pipeline hands over, and row norms computed independently of sklip."""

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


def input_maps(rng, n):
    """``{name: input map}`` of ``n`` features: none, a diagonal (a scaler's)
    and a dense one (a PCA's, say)."""
    from sklip._core.input_map import InputMap

    return {
        "none": None,
        "diagonal": InputMap(rng.uniform(0.5, 2.0, n), rng.standard_normal(n)),
        "dense": InputMap(rng.standard_normal((n, n)), rng.standard_normal(n)),
    }


def norms(D, norm):
    """Row norms of ``D`` (``norm`` 2 or inf): the oracle of the attacks'
    radius, written without sklip's own ``row_norms``."""
    return np.abs(D).max(axis=1) if norm == np.inf else np.linalg.norm(D, axis=1)


ACTIVATIONS = {
    "relu": lambda Z: np.maximum(Z, 0),
    "tanh": np.tanh,
    "logistic": lambda Z: 1 / (1 + np.exp(-Z)),
    "identity": lambda Z: Z,
}


def mlp_logits(model, X):
    """Raw outputs (before the output activation) of a fitted MLP: a plain
    numpy forward pass of ``coefs_`` and ``intercepts_``, independent of
    sklip's own network code."""
    A = np.asarray(X, dtype=np.float64)
    for i, (W, b) in enumerate(zip(model.coefs_, model.intercepts_)):
        A = A @ W + b
        if i < len(model.coefs_) - 1:
            A = ACTIVATIONS[model.activation](A)
    return A
