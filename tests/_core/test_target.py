"""TransformedTargetRegressor with an affine target map: the network view folds
the inverse map into the last layer, so every number is in target units."""

import numpy as np
import pytest
from sklearn.compose import TransformedTargetRegressor
from sklearn.linear_model import Ridge
from sklearn.preprocessing import MinMaxScaler, QuantileTransformer, StandardScaler

from sklip import LipschitzMLPRegressor, as_network, lipschitz_bound, robust_r2
from sklip.pipeline import make_pipeline
from sklip.robustness import certified_max_output_deviation


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 3))
    y = 7000 + 300 * X[:, 0] - 100 * X[:, 1] + rng.normal(scale=10, size=120)
    return X, y


def _mlp():
    return LipschitzMLPRegressor(hidden_layer_sizes=(8,), max_iter=60, random_state=0)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("transformer", [StandardScaler(), MinMaxScaler(), None])
def test_network_predicts_in_target_units(data, transformer):
    X, y = data
    model = TransformedTargetRegressor(
        regressor=make_pipeline(StandardScaler(), _mlp()), transformer=transformer
    ).fit(X, y)
    net = as_network(model)
    np.testing.assert_allclose(net.forward(X).ravel(), model.predict(X), rtol=1e-10)
    # The inner regressor's constant times the target scale (a diagonal map).
    inner = lipschitz_bound(model.regressor_)
    scale = 1.0 if transformer is None else 1.0 / model.transformer_.scale_[0]
    if isinstance(transformer, StandardScaler):
        scale = model.transformer_.scale_[0]
    assert lipschitz_bound(model) == pytest.approx(inner * scale, rel=1e-9)
    assert certified_max_output_deviation(model, eps=0.5) == pytest.approx(
        0.5 * lipschitz_bound(model), rel=1e-9
    )
    assert robust_r2(model, X, y, eps=0.0) == pytest.approx(model.score(X, y))


def test_linear_model_bound_is_exact_in_target_units(data):
    X, y = data
    model = TransformedTargetRegressor(
        regressor=Ridge(alpha=1e-6), transformer=StandardScaler()
    ).fit(X, y)
    # Ridge on a standardised target, mapped back: coefficients in y units.
    expected = np.linalg.norm(model.regressor_.coef_) * model.transformer_.scale_[0]
    assert lipschitz_bound(model) == pytest.approx(expected, rel=1e-9)


def test_nonaffine_target_map_is_a_type_error(data):
    X, y = data
    model = TransformedTargetRegressor(
        regressor=Ridge(), transformer=QuantileTransformer(n_quantiles=20)
    ).fit(X, y)
    with pytest.raises(TypeError, match="QuantileTransformer, which is not affine"):
        as_network(model)
    logged = TransformedTargetRegressor(
        regressor=Ridge(), func=np.log, inverse_func=np.exp
    ).fit(X, y)
    with pytest.raises(TypeError, match="not affine"):
        lipschitz_bound(logged)


def test_unfitted_is_not_fitted_error():
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        as_network(TransformedTargetRegressor(regressor=_mlp()))
