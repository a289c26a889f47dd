"""Extremes that pass validation are computed correctly or refused clearly.

Property-based: hypothesis draws the exponent of the extreme value over the
representable range, for float32 and float64 data. Each property says what
"correct" means (a budget the fitted model respects, a lower bound below the
certified upper bound) and accepts only a ``ValueError`` that names the
parameter as the alternative.
"""

import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.datasets import make_classification, make_regression
from sklearn.utils._param_validation import InvalidParameterError

from sklip import (
    LipschitzMLPClassifier,
    LipschitzMLPRegressor,
    lipschitz_bound,
    lipschitz_lower_bound,
)
from sklip.neural_network._certified_training import smallest_budget

X, Y = make_classification(n_samples=30, n_features=3, n_redundant=0, random_state=0)
XR, YR = make_regression(n_samples=30, n_features=3, random_state=0)
DTYPES = st.sampled_from([np.float32, np.float64])
FAST = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=True,
    database=None,
)


def _fit(estimator, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence warnings at max_iter=3
        return estimator.fit(X, y)


@FAST
@given(
    exponent=st.integers(-323, 300),
    dtype=DTYPES,
    layers=st.sampled_from([(), (4,), (4, 4)]),
    activation=st.sampled_from(["relu", "logistic", "tanh"]),
    solver=st.sampled_from(["lbfgs", "adam"]),
)
def test_max_lipschitz_is_respected_or_refused(
    exponent, dtype, layers, activation, solver
):
    budget = 10.0**exponent
    model = LipschitzMLPClassifier(
        hidden_layer_sizes=layers,
        activation=activation,
        solver=solver,
        max_lipschitz=budget,
        max_iter=3,
        random_state=0,
    )
    n_layers = len(layers) + 1
    try:
        _fit(model, X.astype(dtype), Y)
    except ValueError as exc:
        # Refused only below the smallest budget the dtype can hold, with a
        # message naming the parameter, the value and the valid range.
        message = str(exc)
        assert f"max_lipschitz={budget!r}" in message
        assert "too small" in message and "max_lipschitz >=" in message
        assert budget < smallest_budget(activation, n_layers, dtype)
        return
    assert all(np.isfinite(W).all() for W in model.coefs_)
    assert lipschitz_bound(model, method="spectral") <= budget * (1 + 1e-6)


def test_too_small_budget_leaves_a_fitted_model_as_it_was():
    model = _fit(
        LipschitzMLPClassifier(hidden_layer_sizes=(4,), max_iter=3, random_state=0),
        X.astype(np.float32),
        Y,
    )
    before = [W.copy() for W in model.coefs_]
    model.set_params(max_lipschitz=1e-300)
    with pytest.raises(ValueError, match=r"max_lipschitz=1e-300 is too small"):
        _fit(model, X.astype(np.float32), Y)
    for W, W0 in zip(model.coefs_, before):
        np.testing.assert_array_equal(W, W0)


@FAST
@given(
    exponent=st.integers(-300, 300),
    dtype=DTYPES,
    regressor=st.booleans(),
    solver=st.sampled_from(["lbfgs", "adam", "sgd"]),
)
def test_lipschitz_margin_trains_or_is_named(exponent, dtype, regressor, solver):
    """Any margin from 1e-300 to 1e300 either trains to finite weights and
    predictions or is refused naming ``lipschitz_margin``. Finiteness is the
    point here (a fuzz over scales, 3 iterations: nothing to converge); the
    margin's values are checked in tests/neural_network/test_certified_training.py.
    """
    margin = 10.0**exponent
    Est, (Xd, yd) = (
        (LipschitzMLPRegressor, (XR, YR))
        if regressor
        else (LipschitzMLPClassifier, (X, Y))
    )
    model = Est(
        hidden_layer_sizes=(4,),
        solver=solver,
        lipschitz_margin=margin,
        max_iter=3,
        random_state=0,
    )
    try:
        _fit(model, Xd.astype(dtype), yd)
    except ValueError as exc:
        assert "lipschitz_margin" in str(exc), str(exc)
        return
    assert all(np.isfinite(W).all() for W in model.coefs_)
    assert np.isfinite(model.predict(Xd.astype(dtype)).astype(float)).all()


@pytest.fixture(scope="module")
def networks():
    return {
        activation: _fit(
            LipschitzMLPClassifier(
                hidden_layer_sizes=(5,),
                activation=activation,
                max_iter=20,
                random_state=0,
            ),
            X,
            Y,
        )
        for activation in ("tanh", "logistic", "relu")
    }


@settings(max_examples=30, deadline=None, derandomize=True, database=None)
@given(
    exponent=st.integers(-300, 300),
    dtype=DTYPES,
    activation=st.sampled_from(["tanh", "logistic", "relu"]),
)
def test_lower_bound_stays_below_the_upper_bound_at_any_scale(
    networks, exponent, dtype, activation
):
    model = networks[activation]
    Xs = X * 10.0**exponent
    with np.errstate(over="ignore"):
        cast = Xs.astype(dtype)
    if np.isfinite(cast).all():
        Xs = cast
    lower = lipschitz_lower_bound(model, Xs, n_restarts=3, n_iter=5, random_state=0)
    upper = lipschitz_bound(model)
    assert np.isfinite(lower) and 0.0 <= lower <= upper


def test_connect_refuses_an_infinite_timeout_before_connecting():
    pytest.importorskip("distributed")
    from sklip.distributed import connect

    for timeout in (np.inf, float("nan"), -1.0):
        with pytest.raises(
            InvalidParameterError, match=r"'timeout' parameter of connect"
        ):
            connect("tcp://127.0.0.1:1", timeout=timeout)
