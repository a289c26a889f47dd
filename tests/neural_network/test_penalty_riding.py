"""The spectral penalty riding in the training GEMMs (stochastic solvers).

In stochastic training the penalty's power step and rank-one gradient are
carried by one spare row of the forward and backward matrix products (see
``SpectralPenalty``). These tests check that against oracles: finite
differences of the objective it records, the power step computed directly,
and whole fits on sparse input (whose first layer cannot ride) and with the
penalty computed apart.
"""

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning

from sklip import LipschitzMLPClassifier, LipschitzMLPRegressor
from sklip.neural_network._objective import Objective, TrainingTerms
from sklip.neural_network._penalties import NoPenalty

from .._helpers import input_maps, numerical_gradient, training_state

pytestmark = pytest.mark.filterwarnings("ignore", category=ConvergenceWarning)


def _riding_step(est, X, y, sw, input_map, sparse):
    """``f(theta) -> (loss, grad, vectors after)``: one riding objective
    evaluation from the same tracked pairs every time, as a mini-batch step
    of ``fit`` does it (spare rows in every buffer)."""
    X, Y, state, objective = training_state(est, X, y, input_map)
    flat, terms = state.flat, objective.terms
    assert terms.rider is not None
    n = X.shape[0]
    acts, deltas = flat.network.allocate(n + 1)
    P = np.empty((n, Y.shape[1]), X.dtype)
    start = [(u.copy(), v.copy()) for u, v in terms.tracker.vectors]
    if sparse:
        X_in = sp.csr_matrix(X)
    else:
        X_in = np.vstack([X, np.zeros((1, X.shape[1]))])

    def f(theta):
        for (u, v), (u0, v0) in zip(terms.tracker.vectors, start):
            u[...], v[...] = u0, v0
        flat.params[...] = theta
        loss = objective.value_and_grad(
            X_in, Y, sw, acts, deltas, P, exact=False, spare_row=True
        )
        after = [(u.copy(), v.copy()) for u, v in terms.tracker.vectors]
        return loss, flat.grad.copy(), after

    return f, flat, start


@pytest.mark.parametrize("map_name", ["none", "diagonal", "dense"])
@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("activation", ["relu", "tanh"])
def test_riding_gradient_is_the_gradient_of_the_recorded_objective(
    map_name, sparse, weighted, activation
):
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((13, 4)), rng.integers(0, 3, 13)
    sw = rng.uniform(0.2, 3.0, 13) if weighted else None
    input_map = input_maps(rng, 4)[map_name]
    est = LipschitzMLPClassifier(
        hidden_layer_sizes=(5, 3), activation=activation, alpha=0.7, random_state=1
    )
    f, flat, start = _riding_step(est, X, y, sw, input_map, sparse)
    theta = flat.params.copy()
    loss, grad, after = f(theta)

    # The recorded value: the data loss plus the penalty at the half-step
    # estimate sigma_l = ||M_l^T u_l|| of each layer M_l (A W_1 first).
    plain = LipschitzMLPClassifier(
        hidden_layer_sizes=(5, 3),
        activation=activation,
        penalty="none",
        random_state=1,
    )
    X_, Y, _ = plain._validate_input(X, y, incremental=False, reset=True)
    Y = Y.astype(float)
    acts, deltas = flat.network.allocate(13)
    data_loss = Objective(
        flat, TrainingTerms(NoPenalty()), plain._output_activation(), 0.0
    ).value_and_grad(X_, Y, sw, acts, deltas, np.empty_like(acts[-1]), True)
    s = 13 if sw is None else sw.sum()
    sigmas = []
    for layer, (W, (u0, _)) in enumerate(zip(flat.coefs, start)):
        M = W if layer or input_map is None else input_map.matmul(W)
        sigmas.append(np.linalg.norm(M.T @ u0))
    assert loss == pytest.approx(
        data_loss + 0.5 * 0.7 / s * np.sum(np.square(sigmas)), rel=1e-12
    )

    # Its gradient, by finite differences (the pairs restart every call).
    num = numerical_gradient(lambda t: f(t)[:2], theta)
    assert np.linalg.norm(grad - num) / np.linalg.norm(num) <= 1e-6

    # And the pairs made one full power step: v = M^T u / ||.||, u = M v / ||.||.
    for layer, (W, (u0, _), (u1, v1)) in enumerate(zip(flat.coefs, start, after)):
        M = W if layer or input_map is None else input_map.matmul(W)
        v = M.T @ u0
        v /= np.linalg.norm(v)
        u = M @ v
        u /= np.linalg.norm(u)
        np.testing.assert_allclose(v1, v, atol=1e-12)
        np.testing.assert_allclose(u1, u, atol=1e-12)


@pytest.mark.parametrize("Estimator", [LipschitzMLPClassifier, LipschitzMLPRegressor])
@pytest.mark.parametrize("solver", ["adam", "sgd"])
def test_sparse_input_trains_the_same_model(Estimator, solver):
    # Sparse batches have no spare row: their first layer's gradient is added
    # apart, the rest rides; the models must agree with the dense fit.
    rng = np.random.default_rng(0)
    X = rng.standard_normal((90, 6)) * (rng.random((90, 6)) < 0.5)
    y = (
        rng.integers(0, 3, 90)
        if Estimator is LipschitzMLPClassifier
        else X @ rng.standard_normal(6)
    )
    params = dict(
        hidden_layer_sizes=(7, 5),
        alpha=3.0,
        batch_size=32,
        max_iter=5,
        solver=solver,
        random_state=0,
    )
    dense = Estimator(**params).fit(X, y)
    sparse = Estimator(**params).fit(sp.csr_matrix(X), y)
    for a, b in zip(
        dense.coefs_ + dense.intercepts_, sparse.coefs_ + sparse.intercepts_
    ):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(dense.loss_curve_, sparse.loss_curve_, rtol=1e-10)


@pytest.mark.parametrize("n_power_iterations", [1, 3])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_riding_estimate_tracks_the_spectral_norm(n_power_iterations, dtype):
    # The half-step estimate the penalty acts on stays a close lower bound of
    # every layer's spectral norm through training (no drift).
    rng = np.random.default_rng(0)
    X = rng.standard_normal((300, 10)).astype(dtype)
    y = rng.integers(0, 3, 300)
    est = LipschitzMLPClassifier(
        hidden_layer_sizes=(20, 20),
        alpha=5.0,
        max_iter=8,
        batch_size=64,
        n_power_iterations=n_power_iterations,
        random_state=0,
    ).fit(X, y)
    for W, (u, v) in zip(est.coefs_, est._power_vectors):
        exact = np.linalg.norm(W.astype(np.float64), 2)
        estimate = float(np.linalg.norm(W.T @ u))
        assert 0.97 * exact <= estimate <= exact * (1 + 1e-5)
        assert u.dtype == dtype and v.dtype == dtype
