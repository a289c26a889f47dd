"""Bad input gets a clear error, raised early, and leaves no broken model."""

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.utils._param_validation import InvalidParameterError

from sklip import LipschitzMLPClassifier, LipschitzMLPRegressor
from sklip.neural_network import _objective, _optimizers

pytestmark = pytest.mark.filterwarnings("ignore", category=ConvergenceWarning)
ESTIMATORS = [LipschitzMLPClassifier, LipschitzMLPRegressor]
rng = np.random.default_rng(0)
X = rng.standard_normal((40, 3))
y_clf = np.tile([0, 1], 20)
y_reg = rng.standard_normal(40)


def _y(Estimator):
    return y_clf if Estimator is LipschitzMLPClassifier else y_reg


@pytest.mark.parametrize("Estimator", ESTIMATORS)
@pytest.mark.parametrize(
    "params, name",
    [
        (dict(penalty="nuclear"), "penalty"),
        (dict(n_power_iterations=0), "n_power_iterations"),
        (dict(n_power_iterations=1.5), "n_power_iterations"),
        (dict(alpha=-1.0), "alpha"),
        (dict(solver="newton"), "solver"),
        (dict(learning_rate_init=0.0), "learning_rate_init"),
        (dict(activation="gelu"), "activation"),
        (dict(max_iter=0), "max_iter"),
        (dict(validation_fraction=1.0), "validation_fraction"),
    ],
)
def test_invalid_parameters_raise_invalid_parameter_error(Estimator, params, name):
    with pytest.raises(InvalidParameterError, match=name):
        Estimator(**params).fit(X, _y(Estimator))


@pytest.mark.parametrize("Estimator", ESTIMATORS)
@pytest.mark.parametrize(
    "name", ["lipschitz_margin", "max_lipschitz", "n_power_iterations"]
)
@pytest.mark.parametrize("flag", [True, np.True_])
def test_sklip_parameters_refuse_bools(Estimator, name, flag):
    # A flag where a radius, a bound or a count is expected is a mistake
    # (True would silently train with a margin of 1), refused as sklip's
    # public functions refuse it.
    est = Estimator(**{name: flag}, max_iter=5)
    with pytest.raises(InvalidParameterError, match=f"'{name}' parameter .* Got"):
        est.fit(X, _y(Estimator))
    assert not hasattr(est, "coefs_")


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_sklip_parameters_take_numpy_scalars(Estimator):
    # The same model as with Python numbers.
    common = dict(hidden_layer_sizes=(4,), max_iter=5, random_state=0)
    numpy = Estimator(
        lipschitz_margin=np.float64(0.25),
        max_lipschitz=np.float64(50.0),
        n_power_iterations=np.int64(2),
        **common,
    ).fit(X, _y(Estimator))
    python = Estimator(
        lipschitz_margin=0.25, max_lipschitz=50.0, n_power_iterations=2, **common
    ).fit(X, _y(Estimator))
    for a, b in zip(numpy.coefs_, python.coefs_):
        np.testing.assert_array_equal(a, b)


def test_shared_parameters_take_bools_as_scikit_learn_does():
    # Parameters inherited from scikit-learn's MLP keep its constraints, bool
    # handling included (its Interval takes True as 1): the oracle is
    # scikit-learn's own MLPClassifier.
    from sklearn.neural_network import MLPClassifier
    from sklearn.utils._param_validation import make_constraint

    ours = LipschitzMLPClassifier._parameter_constraints
    theirs = MLPClassifier._parameter_constraints
    shared = sorted(ours.keys() & theirs.keys())
    assert {"alpha", "max_iter", "tol", "batch_size", "momentum"} <= set(shared)

    def accepts(constraints, value):
        return any(make_constraint(c).is_satisfied_by(value) for c in constraints)

    for name in shared:
        for value in (True, False, np.True_):
            assert accepts(ours[name], value) == accepts(theirs[name], value), (
                name,
                value,
            )


@pytest.mark.parametrize("Estimator", ESTIMATORS)
@pytest.mark.parametrize(
    "bad, match",
    [
        (np.where(np.eye(40, 3) == 1, np.nan, X), "NaN"),
        (np.where(np.eye(40, 3) == 1, np.inf, X), "infinity"),
        (X + 1j, "[Cc]omplex"),
        (np.array([["a", "b", "c"]] * 40), "convert|string"),
        (np.empty((0, 3)), "0 sample"),
    ],
)
def test_bad_features_are_rejected_and_leave_no_model(Estimator, bad, match):
    est = Estimator()
    with pytest.raises(ValueError, match=match):
        est.fit(bad, _y(Estimator)[: len(bad)])
    assert not hasattr(est, "coefs_")


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_wrong_number_of_features_at_predict_time(Estimator):
    est = Estimator(max_iter=5, hidden_layer_sizes=(3,)).fit(X, _y(Estimator))
    with pytest.raises(ValueError, match="3 features"):
        est.predict(X[:, :2])


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_unfitted_predict(Estimator):
    with pytest.raises(NotFittedError):
        Estimator().predict(X)


def test_single_class_is_a_clear_error():
    est = LipschitzMLPClassifier()
    with pytest.raises(ValueError, match="at least 2 classes"):
        est.fit(X, np.zeros(40))
    assert not hasattr(est, "coefs_")


def test_continuous_target_for_classifier():
    with pytest.raises(ValueError, match="Unknown label type|continuous"):
        LipschitzMLPClassifier().fit(X, y_reg)


def test_non_numeric_regression_target():
    with pytest.raises(ValueError):
        LipschitzMLPRegressor().fit(X, np.array(["a", "b"] * 20))


def test_poisson_needs_non_negative_targets():
    with pytest.raises(ValueError, match="non-negative"):
        LipschitzMLPRegressor(loss="poisson").fit(X, y_reg)


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_negative_sample_weight(Estimator):
    sw = np.ones(40)
    sw[3] = -1
    with pytest.raises(ValueError, match="[Nn]egative"):
        Estimator().fit(X, _y(Estimator), sample_weight=sw)


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_sample_weight_of_wrong_length(Estimator):
    with pytest.raises(ValueError, match="sample_weight|shape"):
        Estimator().fit(X, _y(Estimator), sample_weight=np.ones(39))


@pytest.mark.parametrize("Estimator", ESTIMATORS)
@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_divergence_is_reported_and_leaves_no_model(Estimator, solver):
    est = Estimator(solver=solver, learning_rate_init=1e3, max_iter=50, random_state=0)
    with pytest.raises(ValueError, match="diverged.*smaller learning_rate_init"):
        est.fit(
            X * 1e3, _y(Estimator) * (1 if Estimator is LipschitzMLPClassifier else 1e3)
        )
    assert not hasattr(est, "coefs_")


def test_divergence_during_partial_fit_keeps_the_previous_model():
    est = LipschitzMLPRegressor(
        solver="sgd", hidden_layer_sizes=(4,), batch_size=4, random_state=0
    )
    est.partial_fit(X, y_reg)
    before = [c.copy() for c in est.coefs_]
    n_iter, curve = est.n_iter_, list(est.loss_curve_)
    est.set_params(learning_rate_init=1e4)
    with pytest.raises(ValueError, match="diverged"):
        est.partial_fit(X * 1e4, y_reg * 1e4)
    for a, b in zip(before, est.coefs_):
        np.testing.assert_array_equal(a, b)
    assert est.n_iter_ == n_iter and est.loss_curve_ == curve
    est.predict(X)  # still usable


@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_keyboard_interrupt_stops_cleanly_with_a_warning(monkeypatch, solver):
    calls = {"n": 0}
    if solver == "adam":
        original = _optimizers.Adam.update

        def interrupted(self, params, grad):
            calls["n"] += 1
            if calls["n"] == 5:
                raise KeyboardInterrupt
            original(self, params, grad)

        monkeypatch.setattr(_optimizers.Adam, "update", interrupted)
    else:
        original = _objective.Objective.value_and_grad

        def interrupted(self, *args, **kwargs):
            calls["n"] += 1
            if calls["n"] == 5:
                raise KeyboardInterrupt
            return original(self, *args, **kwargs)

        monkeypatch.setattr(_objective.Objective, "value_and_grad", interrupted)
    est = LipschitzMLPClassifier(
        solver=solver, batch_size=10, max_iter=20, random_state=0
    )
    with pytest.warns(UserWarning, match="interrupted"):
        est.fit(X, y_clf)
    assert all(np.isfinite(c).all() for c in est.coefs_)
    est.predict(X)


def test_warm_start_with_different_classes():
    est = LipschitzMLPClassifier(warm_start=True, max_iter=2).fit(X, y_clf)
    with pytest.raises(ValueError, match="same classes"):
        est.fit(X, np.tile([0, 2], 20))


def test_partial_fit_needs_classes_first():
    with pytest.raises(ValueError, match="classes"):
        LipschitzMLPClassifier().partial_fit(X, y_clf)


def test_partial_fit_rejects_early_stopping():
    est = LipschitzMLPRegressor(early_stopping=True)
    with pytest.raises(ValueError, match="early_stopping"):
        est.partial_fit(X, y_reg)


def test_warm_start_shape_change_is_a_clear_error():
    est = LipschitzMLPRegressor(warm_start=True, hidden_layer_sizes=(3,), max_iter=2)
    est.fit(X, y_reg)
    est.set_params(hidden_layer_sizes=(4,))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ValueError, match="shape changed"):
            est.fit(X, y_reg)
