"""Certified training: ``lipschitz_margin``, ``margin_kind`` and ``max_lipschitz``."""

import numpy as np
import pytest
from scipy.special import logsumexp
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import InvalidParameterError

from sklip import (
    LipschitzMLPClassifier,
    LipschitzMLPRegressor,
    certified_accuracy,
    certified_radius,
    lipschitz_bound,
    perturb,
    robust_accuracy,
)
from sklip.pipeline import make_pipeline

from .._helpers import input_maps, numerical_gradient, objective_and_gradient

pytestmark = pytest.mark.filterwarnings("ignore", category=ConvergenceWarning)


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    X = X / 16
    rng = np.random.default_rng(0)
    idx = rng.permutation(len(y))
    return X[idx[:600]], y[idx[:600]], X[idx[600:900]], y[idx[600:900]]


def _problem(output, rng):
    X = rng.standard_normal((13, 4))
    if output == "softmax":
        return LipschitzMLPClassifier, X, rng.integers(0, 3, 13), {}
    if output == "binary":
        return LipschitzMLPClassifier, X, rng.integers(0, 2, 13), {}
    if output == "multilabel":
        return LipschitzMLPClassifier, X, rng.integers(0, 2, (13, 3)), {}
    if output == "identity":
        return LipschitzMLPRegressor, X, rng.standard_normal((13, 2)), {}
    y = rng.poisson(2.0, 13).astype(float)
    return LipschitzMLPRegressor, X, y, {"loss": "poisson"}


# ---------------------------------------------------------------------------
# Gradients: finite differences of the deterministic (exact-sigma) objective.


@pytest.mark.parametrize("mapping", ["none", "diagonal", "dense"])
@pytest.mark.parametrize(
    "output, kind",
    [
        ("softmax", "pairwise"),
        ("softmax", "global"),
        ("binary", None),
        ("multilabel", None),
        ("identity", None),
        ("poisson", None),
    ],
)
@pytest.mark.parametrize("hidden", [(5, 3), ()])
def test_margin_gradient_matches_finite_differences(output, kind, mapping, hidden):
    rng = np.random.default_rng(0)
    Estimator, X, y, extra = _problem(output, rng)
    if kind is not None:
        extra["margin_kind"] = kind
    for activation, penalty in [("relu", "spectral"), ("logistic", "frobenius")]:
        est = Estimator(
            hidden_layer_sizes=hidden,
            activation=activation,
            penalty=penalty,
            alpha=0.5,
            lipschitz_margin=0.3,
            random_state=1,
            **extra,
        )
        sw = rng.uniform(0.2, 3.0, X.shape[0])
        input_map = input_maps(rng, X.shape[1])[mapping]
        f, theta = objective_and_gradient(est, X, y, sw, input_map=input_map)
        loss, grad = f(theta)
        num = numerical_gradient(f, theta)
        rel = np.linalg.norm(grad - num) / np.linalg.norm(num)
        assert rel <= 1e-6, (activation, rel)
        # The margin is active: it changes the objective.
        est_plain = Estimator(
            hidden_layer_sizes=hidden,
            activation=activation,
            penalty=penalty,
            alpha=0.5,
            random_state=1,
            **{k: v for k, v in extra.items() if k == "loss"},
        )
        f0, _ = objective_and_gradient(est_plain, X, y, sw, input_map=input_map)
        assert loss > f0(theta)[0] + 1e-3


def test_global_margin_value_is_the_documented_formula():
    rng = np.random.default_rng(1)
    X, y = rng.standard_normal((20, 4)), rng.integers(0, 3, 20)
    eps = 0.4
    est = LipschitzMLPClassifier(
        hidden_layer_sizes=(6,),
        penalty="none",
        lipschitz_margin=eps,
        margin_kind="global",
        random_state=0,
    )
    f, theta = objective_and_gradient(est, X, y)
    W1 = theta[:24].reshape(4, 6)
    W2 = theta[24:42].reshape(6, 3)
    b1, b2 = theta[42:48], theta[48:51]
    Z = np.maximum(X @ W1 + b1, 0) @ W2 + b2
    L = np.linalg.norm(W1, 2) * np.linalg.norm(W2, 2)
    Y = np.eye(3)[y]
    Zs = Z + np.sqrt(2) * eps * L * (1 - Y)
    expected = np.mean(logsumexp(Zs, axis=1) - Zs[np.arange(20), y])
    assert f(theta)[0] == pytest.approx(expected, rel=1e-10)


def test_pairwise_margin_value_is_the_documented_formula():
    rng = np.random.default_rng(2)
    X, y = rng.standard_normal((20, 4)), rng.integers(0, 3, 20)
    eps = 0.4
    est = LipschitzMLPClassifier(
        hidden_layer_sizes=(6,), penalty="none", lipschitz_margin=eps, random_state=0
    )
    f, theta = objective_and_gradient(est, X, y)
    W1 = theta[:24].reshape(4, 6)
    W2 = theta[24:42].reshape(6, 3)
    b1, b2 = theta[42:48], theta[48:51]
    Z = np.maximum(X @ W1 + b1, 0) @ W2 + b2
    K = np.linalg.norm(W1, 2) * np.linalg.norm(W2[:, :, None] - W2[:, None, :], axis=0)
    total = 0.0
    for z, t in zip(Z, y):
        bottom = max(z[i] + eps * K[t, i] for i in range(3) if i != t)
        aug = np.append(z, bottom)
        total += logsumexp(aug) - z[t]
    assert f(theta)[0] == pytest.approx(total / 20, rel=1e-10)


@pytest.mark.parametrize("mapping", ["none", "diagonal"])
def test_budget_reparametrisation_gradient_matches_finite_differences(mapping):
    # lbfgs optimises V with weights W = V min(1, tau / sigma(V)): check the
    # chained gradient at a point where every layer is over its share.
    rng = np.random.default_rng(3)
    X, y = rng.standard_normal((15, 4)), rng.integers(0, 3, 15)
    est = LipschitzMLPClassifier(
        hidden_layer_sizes=(5,),
        alpha=0.3,
        lipschitz_margin=0.2,
        max_lipschitz=0.5,
        random_state=0,
    )
    f, theta = objective_and_gradient(
        est, X, y, input_map=input_maps(rng, 4)[mapping], budget=True
    )
    theta = theta * 3.0  # far outside the budget
    loss, grad = f(theta)
    num = numerical_gradient(f, theta)
    assert np.linalg.norm(grad - num) / np.linalg.norm(num) <= 1e-6


# ---------------------------------------------------------------------------
# max_lipschitz: the hard budget.


@pytest.mark.parametrize("solver", ["adam", "sgd", "lbfgs"])
@pytest.mark.parametrize("activation", ["relu", "logistic"])
def test_max_lipschitz_holds_on_every_solver_and_the_model_learns(
    digits, solver, activation
):
    X, y, X_test, y_test = digits
    est = LipschitzMLPClassifier(
        hidden_layer_sizes=(32,),
        activation=activation,
        solver=solver,
        max_lipschitz=1.0,
        max_iter=80,
        learning_rate_init=0.1 if solver == "sgd" else 0.01,
        random_state=0,
    ).fit(X, y)
    assert lipschitz_bound(est, method="spectral") <= 1.0
    # Ten classes: chance is 0.1; digits stay learnable under L <= 1.
    assert est.score(X_test, y_test) > 0.75


def test_max_lipschitz_binds(digits):
    X, y, _, _ = digits
    free = LipschitzMLPClassifier((32,), max_iter=30, random_state=0).fit(X, y)
    assert lipschitz_bound(free, method="spectral") > 3.0
    est = free.set_params(max_lipschitz=3.0).fit(X, y)
    bound = lipschitz_bound(est, method="spectral")
    assert 2.9 < bound <= 3.0


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_max_lipschitz_of_a_pipeline_is_in_raw_units(solver, dtype):
    rng = np.random.default_rng(0)
    # Features on wildly different scales: the scaler's map matters.
    X = (rng.standard_normal((200, 5)) * [100.0, 1.0, 0.01, 10.0, 1.0]).astype(dtype)
    # A signal in the wide raw features, which an L <= 1 model can follow
    # with large logits.
    y = (X[:, 0] + 10 * X[:, 3] > 0).astype(int)
    model = make_pipeline(
        StandardScaler(),
        LipschitzMLPClassifier(
            (16,),
            solver=solver,
            max_lipschitz=1.0,
            max_iter=150,
            learning_rate_init=0.01,
            random_state=0,
        ),
    ).fit(X, y)
    assert model[-1].coefs_[0].dtype == dtype
    assert lipschitz_bound(model, method="spectral") <= 1.0
    assert model.score(X, y) > 0.8


def test_max_lipschitz_holds_for_the_regressor_and_partial_fit():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((100, 3))
    y = 5 * X[:, 0] - 3 * X[:, 1]
    reg = LipschitzMLPRegressor(
        hidden_layer_sizes=(16,),
        max_lipschitz=2.0,
        learning_rate_init=0.01,
        random_state=0,
    )
    for _ in range(30):
        reg.partial_fit(X, y)
        assert lipschitz_bound(reg, method="spectral") <= 2.0
    # The linear target needs L = sqrt(34): the budget binds, and the fit
    # still follows the direction of the target.
    assert lipschitz_bound(reg, method="spectral") > 1.9
    assert np.corrcoef(reg.predict(X), y)[0, 1] > 0.9


def test_certified_training_state_persists_through_warm_start(digits):
    X, y, _, _ = digits
    params = dict(lipschitz_margin=0.5, max_lipschitz=4.0, random_state=0)
    est = LipschitzMLPClassifier((16,), max_iter=5, warm_start=True, **params)
    est.fit(X, y)
    first = est.loss_curve_[:]
    est.fit(X, y)
    # The second fit continues where the first one stopped.
    resumed = est.loss_curve_[len(first)]
    assert resumed < first[0]
    assert resumed < first[-1] * 1.1
    assert lipschitz_bound(est, method="spectral") <= 4.0
    # partial_fit keeps the budget at every call.
    inc = LipschitzMLPClassifier((16,), **params)
    for _ in range(3):
        inc.partial_fit(X, y, classes=np.unique(y))
        assert lipschitz_bound(inc, method="spectral") <= 4.0


# ---------------------------------------------------------------------------
# lipschitz_margin: certified accuracy and soundness.


def test_margin_certifies_more_than_the_penalty_alone(digits):
    X, y, X_test, y_test = digits
    common = dict(
        hidden_layer_sizes=(32,), max_iter=60, learning_rate_init=0.01, random_state=0
    )
    # alpha=30 is the best penalty-only setting here (measured over 3, 10, 30).
    plain = LipschitzMLPClassifier(alpha=30.0, **common).fit(X, y)
    margin = LipschitzMLPClassifier(lipschitz_margin=1.0, **common).fit(X, y)
    cert_plain = certified_accuracy(plain, X_test, y_test, eps=0.5)
    cert_margin = certified_accuracy(margin, X_test, y_test, eps=0.5)
    assert cert_margin > cert_plain + 0.05
    assert margin.score(X_test, y_test) > 0.85


@pytest.mark.parametrize("kind", ["pairwise", "global"])
def test_pgd_never_breaks_a_certified_sample_of_a_margin_trained_model(digits, kind):
    X, y, X_test, y_test = digits
    est = LipschitzMLPClassifier(
        (32,),
        lipschitz_margin=1.0 if kind == "pairwise" else 0.5,
        margin_kind=kind,
        max_iter=60,
        learning_rate_init=0.01,
        random_state=0,
    ).fit(X, y)
    eps = 0.5
    certified = (certified_radius(est, X_test) > eps) & (est.predict(X_test) == y_test)
    assert certified.sum() > 60
    X_adv = perturb(
        est,
        X_test,
        y_test,
        eps=eps,
        attack="pgd",
        n_iter=40,
        n_restarts=3,
        random_state=0,
    )
    assert np.all(np.linalg.norm(X_adv - X_test, axis=1) <= eps * (1 + 1e-9))
    assert np.all(est.predict(X_adv)[certified] == y_test[certified])
    # The attack works (it breaks some uncertified samples), and the robust
    # accuracy it measures lies above the certified one.
    assert np.any(est.predict(X_adv) != y_test)
    rob = robust_accuracy(est, X_test, y_test, eps=eps, attack="pgd", random_state=0)
    assert rob >= certified_accuracy(est, X_test, y_test, eps=eps)


def test_regressor_margin_trades_fit_for_a_smaller_constant():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((200, 3))
    y = np.sin(2 * X[:, 0]) + X[:, 1]
    common = dict(hidden_layer_sizes=(16,), solver="lbfgs", max_iter=200)
    plain = LipschitzMLPRegressor(random_state=0, **common).fit(X, y)
    robust = LipschitzMLPRegressor(lipschitz_margin=0.5, random_state=0, **common).fit(
        X, y
    )
    assert lipschitz_bound(robust) < 0.8 * lipschitz_bound(plain)
    assert robust.score(X, y) > 0.5


# ---------------------------------------------------------------------------
# Parameters.


@pytest.mark.parametrize(
    "Estimator, params, name",
    [
        (LipschitzMLPClassifier, dict(lipschitz_margin=-0.1), "lipschitz_margin"),
        (LipschitzMLPRegressor, dict(lipschitz_margin="big"), "lipschitz_margin"),
        (LipschitzMLPClassifier, dict(max_lipschitz=0.0), "max_lipschitz"),
        (LipschitzMLPRegressor, dict(max_lipschitz=-1.0), "max_lipschitz"),
        (LipschitzMLPClassifier, dict(margin_kind="tsuzuku"), "margin_kind"),
    ],
)
def test_invalid_certified_training_parameters(Estimator, params, name):
    X, y = np.zeros((4, 2)), [0, 1, 0, 1]
    with pytest.raises(InvalidParameterError, match=name):
        Estimator(**params).fit(X, y)


def test_regressor_has_no_margin_kind():
    assert "margin_kind" not in LipschitzMLPRegressor().get_params()
    assert "margin_kind" in LipschitzMLPClassifier().get_params()


def test_certified_training_parameters_are_grid_searchable(digits):
    X, y, _, _ = digits
    search = GridSearchCV(
        LipschitzMLPClassifier((16,), max_iter=20, random_state=0),
        {
            "lipschitz_margin": [0.0, 0.5],
            "margin_kind": ["pairwise", "global"],
            "max_lipschitz": [None, 2.0],
        },
        cv=2,
    ).fit(X, y)
    assert len(search.cv_results_["params"]) == 8
    best = search.best_estimator_
    if best.max_lipschitz is not None:
        assert lipschitz_bound(best, method="spectral") <= best.max_lipschitz


@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_budget_holds_over_the_perturbable_columns_of_a_column_transformer(solver):
    # One-hot columns are held fixed: the budget covers the scaled numeric
    # columns, which are the default features= of the bound.
    pytest.importorskip("pandas", reason="DataFrame input needs pandas")
    from .._robustness_models import mixed_pipeline

    final = LipschitzMLPClassifier(
        (16,), solver=solver, max_lipschitz=0.5, max_iter=100, random_state=0
    )
    pipe, df, y = mixed_pipeline(final, sklip_pipeline=True)
    bound = lipschitz_bound(pipe, method="spectral")
    assert bound <= 0.5
    # The budget binds: without it the same model is far less smooth.
    free = mixed_pipeline(
        LipschitzMLPClassifier((16,), solver=solver, max_iter=100, random_state=0),
        sklip_pipeline=True,
    )[0]
    assert lipschitz_bound(free, method="spectral") > 2 * bound


def test_margin_refuses_an_unknown_output_link():
    from sklip.neural_network._certified_training import LipschitzMargin

    with pytest.raises(ValueError, match="output link 'softplus'.*'exp'"):
        LipschitzMargin(0.1, "global", "softplus", "relu")
    # The worst-case direction itself refuses too (no silent Poisson).
    margin = LipschitzMargin(0.1, "global", "exp", "relu")
    margin.out_activation = "softplus"
    Z, Y = np.zeros((2, 1)), np.ones((2, 1))
    with pytest.raises(ValueError, match="output link 'softplus'"):
        margin._shift_pattern(Z, Y, 0.1)


def test_fit_with_an_unknown_output_link_fails_early_and_keeps_the_model():
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((30, 3)), rng.standard_normal(30)
    est = LipschitzMLPRegressor(
        hidden_layer_sizes=(4,), max_iter=3, warm_start=True, random_state=0
    ).fit(X, y)
    est.out_activation_ = "softplus"  # e.g. weights imported from elsewhere
    coefs = [W.copy() for W in est.coefs_]
    est.set_params(lipschitz_margin=0.1)
    with pytest.raises(ValueError, match="output link 'softplus'"):
        est.fit(X, y)
    for W, W0 in zip(est.coefs_, coefs):
        np.testing.assert_array_equal(W, W0)
