"""Finite-difference checks of the full training objective (data loss + penalty)."""

import numpy as np
import pytest

from sklip import LipschitzMLPClassifier, LipschitzMLPRegressor

from .._helpers import numerical_gradient, objective_and_gradient

PENALTIES = ["spectral", "frobenius", "none"]
ACTIVATIONS = ["relu", "tanh", "logistic", "identity"]


def _data(kind, rng):
    X = rng.standard_normal((13, 4))
    if kind == "softmax":
        return LipschitzMLPClassifier, X, rng.integers(0, 3, 13)
    if kind == "logistic-binary":
        return LipschitzMLPClassifier, X, rng.integers(0, 2, 13)
    if kind == "logistic-multilabel":
        return LipschitzMLPClassifier, X, rng.integers(0, 2, (13, 3))
    if kind == "identity":
        return LipschitzMLPRegressor, X, rng.standard_normal((13, 2))
    # Poisson: exponential output, non-negative counts.
    return LipschitzMLPRegressor, X, rng.poisson(2.0, 13).astype(float)


@pytest.mark.parametrize("penalty", PENALTIES)
@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize(
    "output",
    ["softmax", "logistic-binary", "logistic-multilabel", "identity", "exp"],
)
@pytest.mark.parametrize("weighted", [False, True])
def test_objective_gradient_matches_finite_differences(
    penalty, activation, output, weighted
):
    rng = np.random.default_rng(0)
    Estimator, X, y = _data(output, rng)
    params = dict(
        hidden_layer_sizes=(5, 3),
        activation=activation,
        penalty=penalty,
        alpha=0.7,
        random_state=1,
    )
    if output == "exp":
        params["loss"] = "poisson"
    est = Estimator(**params)
    sw = rng.uniform(0.2, 3.0, X.shape[0]) if weighted else None
    f, theta = objective_and_gradient(est, X, y, sw)
    loss, grad = f(theta)
    num = numerical_gradient(f, theta)
    assert np.isfinite(loss)
    rel = np.linalg.norm(grad - num) / np.linalg.norm(num)
    assert rel <= 1e-6, rel


def test_penalty_values_are_the_documented_formulas():
    rng = np.random.default_rng(3)
    X, y = rng.standard_normal((20, 4)), rng.integers(0, 3, 20)
    losses = {}
    for penalty in PENALTIES:
        est = LipschitzMLPClassifier(
            hidden_layer_sizes=(6,), penalty=penalty, alpha=2.0, random_state=0
        )
        f, theta = objective_and_gradient(est, X, y)
        losses[penalty] = f(theta)[0]
    # The penalty draws its power-iteration start after the weights, so every
    # penalty starts from the same weights: the differences are the terms.
    W1 = theta[: 4 * 6].reshape(4, 6)
    W2 = theta[4 * 6 : 4 * 6 + 6 * 3].reshape(6, 3)
    frob = 0.5 * 2.0 * (np.sum(W1**2) + np.sum(W2**2)) / 20
    spec = 0.5 * 2.0 * (np.linalg.norm(W1, 2) ** 2 + np.linalg.norm(W2, 2) ** 2) / 20
    assert losses["frobenius"] - losses["none"] == pytest.approx(frob, rel=1e-12)
    assert losses["spectral"] - losses["none"] == pytest.approx(spec, rel=1e-10)


def test_multi_output_squared_error_gradient_is_consistent_for_lbfgs():
    # scikit-learn issue 8349: its gradient is n_outputs times the gradient of
    # the loss it reports. Here value and gradient belong to one function.
    rng = np.random.default_rng(0)
    X, Y = rng.standard_normal((30, 4)), rng.standard_normal((30, 3))
    est = LipschitzMLPRegressor(hidden_layer_sizes=(5,), solver="lbfgs", random_state=0)
    f, theta = objective_and_gradient(est, X, Y)
    _, grad = f(theta)
    num = numerical_gradient(f, theta)
    assert np.linalg.norm(grad - num) / np.linalg.norm(num) < 1e-6
    # ... and lbfgs reports the objective it minimised.
    est.set_params(penalty="frobenius", max_iter=50).fit(X, Y)
    f, _ = objective_and_gradient(
        LipschitzMLPRegressor(hidden_layer_sizes=(5,), penalty="frobenius"), X, Y
    )
    final = np.concatenate([c.ravel() for c in est.coefs_ + est.intercepts_])
    assert f(final)[0] == pytest.approx(est.loss_, rel=1e-10)
