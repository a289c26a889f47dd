"""The input map and sklip's Pipeline: penalties in raw input units."""

import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_iris, load_wine
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import make_pipeline as sk_make_pipeline
from sklearn.preprocessing import (
    MaxAbsScaler,
    MinMaxScaler,
    PolynomialFeatures,
    RobustScaler,
    StandardScaler,
)

from sklip import LipschitzMLPClassifier, LipschitzMLPRegressor, lipschitz_bound
from sklip._core.input_map import InputMap
from sklip._core.step_maps import input_map_of
from sklip.lipschitz import as_network
from sklip.pipeline import Pipeline, make_pipeline

from .._helpers import numerical_gradient, objective_and_gradient

RNG = np.random.default_rng(0)
X = RNG.standard_normal((40, 5)) * [1.0, 3.0, 0.5, 10.0, 2.0] + [0, 1, 2, 3, 4]
Y = (X[:, 0] + X[:, 1] / 3 > 0.5).astype(int)


@pytest.mark.parametrize(
    "steps",
    [
        [StandardScaler()],
        [MinMaxScaler(), PCA(3, random_state=0)],
        [PCA(4, random_state=0), MaxAbsScaler()],
        [RobustScaler(), PCA(5, whiten=True, random_state=0), StandardScaler()],
    ],
    ids=["diag", "diag-dense", "dense-diag", "three"],
)
def test_from_steps_equals_the_transformers(steps):
    Xt = X
    named = []
    for i, step in enumerate(steps):
        Xt = step.fit_transform(Xt)
        named.append((f"s{i}", step))
    m = input_map_of(named)
    np.testing.assert_allclose(m.transform(X), Xt, rtol=1e-10, atol=1e-10)
    W = RNG.standard_normal((m.n_out, 3))
    np.testing.assert_allclose(m.matmul_rows(X) @ W, X @ m.matmul(W), rtol=1e-10)
    G = RNG.standard_normal((m.n_in, 2))
    dense = np.diag(m.A) if m.is_diagonal else m.A
    np.testing.assert_allclose(m.rmatmul(G), dense.T @ G, rtol=1e-12)
    np.testing.assert_allclose(
        m.gram() if not m.is_diagonal else np.diag(m.gram()),
        dense.T @ dense,
        rtol=1e-12,
    )


def test_bad_shapes_are_rejected():
    with pytest.raises(ValueError, match="c must have shape"):
        InputMap(np.ones(3), np.zeros(2))
    with pytest.raises(ValueError, match="Cannot compose"):
        InputMap.identity(3).then(InputMap.identity(2))


@pytest.mark.parametrize("Estimator", [LipschitzMLPClassifier, LipschitzMLPRegressor])
def test_pipeline_hands_the_folded_map_to_the_estimator(Estimator):
    est = Estimator(hidden_layer_sizes=(6,), max_iter=5, random_state=0)
    model = make_pipeline(MinMaxScaler(), PCA(4, random_state=0), est)
    assert isinstance(model, Pipeline)
    model.fit(X, Y)
    expected = input_map_of(model.steps[:-1])
    np.testing.assert_allclose(model[-1].input_map_.A, expected.A)
    np.testing.assert_allclose(model[-1].input_map_.c, expected.c)
    # The certified view and the trained map are the same map.
    W1 = as_network(model).coefs[0]
    np.testing.assert_allclose(W1, expected.matmul(model[-1].coefs_[0]))


def test_plain_pipelines_and_bare_estimators_train_in_model_units():
    est = LipschitzMLPClassifier((6,), max_iter=5, random_state=0)
    assert sk_make_pipeline(StandardScaler(), est).fit(X, Y)[-1].input_map_ is None
    assert clone(est).fit(X, Y).input_map_ is None
    # A fit in model units after one in raw units forgets the map...
    model = make_pipeline(StandardScaler(), clone(est)).fit(X, Y)
    inner = model[-1]
    # ...(the raw-unit map is the scaler's own affine map)...
    np.testing.assert_allclose(inner.input_map_.transform(X), model[0].transform(X))
    inner.fit(StandardScaler().fit_transform(X), Y)
    assert inner.input_map_ is None


def test_partial_fit_outside_the_pipeline_keeps_its_units():
    model = make_pipeline(
        StandardScaler(), LipschitzMLPClassifier((6,), max_iter=5, random_state=0)
    ).fit(X, Y)
    before = model[-1].input_map_
    model[-1].partial_fit(model[0].transform(X), Y)
    assert model[-1].input_map_ is before


def test_non_affine_preprocessing_is_refused_before_fitting():
    model = make_pipeline(
        PolynomialFeatures(), LipschitzMLPClassifier((4,), max_iter=5)
    )
    with pytest.raises(TypeError, match="polynomialfeatures"):
        model.fit(X, Y)
    assert not hasattr(model[0], "n_features_in_")
    # Any other final estimator: an ordinary scikit-learn Pipeline.
    make_pipeline(PolynomialFeatures(), LogisticRegression()).fit(X, Y)


def test_nested_pipelines_hand_over_the_whole_chain():
    inner = make_pipeline(
        PCA(4, random_state=0), LipschitzMLPClassifier((5,), max_iter=5, random_state=0)
    )
    model = make_pipeline(StandardScaler(), inner).fit(X, Y)
    flat_steps = [("a", model[0]), ("b", inner[0])]
    np.testing.assert_allclose(inner[-1].input_map_.A, input_map_of(flat_steps).A)
    # A scikit-learn pipeline nested in sklip's is reached too.
    inner = sk_make_pipeline(
        MinMaxScaler(), LipschitzMLPClassifier((5,), max_iter=5, random_state=0)
    )
    model = make_pipeline(StandardScaler(), inner).fit(X, Y)
    assert inner[-1].input_map_.n_in == X.shape[1]


def test_clone_pickle_and_grid_search():
    model = make_pipeline(
        StandardScaler(), LipschitzMLPClassifier((5,), max_iter=20, random_state=0)
    )
    assert isinstance(clone(model), Pipeline)
    search = GridSearchCV(
        model, {"lipschitzmlpclassifier__alpha": [1e-3, 10.0]}, cv=2
    ).fit(X, Y)
    assert isinstance(search.best_estimator_, Pipeline)
    assert search.best_estimator_[-1].input_map_ is not None
    restored = pickle.loads(pickle.dumps(search.best_estimator_))
    np.testing.assert_array_equal(
        restored.predict_proba(X), search.best_estimator_.predict_proba(X)
    )


@pytest.mark.parametrize("penalty", ["spectral", "frobenius"])
@pytest.mark.parametrize("dense", [False, True], ids=["diagonal", "dense"])
def test_penalty_gradient_through_a_map_matches_finite_differences(penalty, dense):
    rng = np.random.default_rng(1)
    Xm = rng.standard_normal((11, 4))
    y = rng.integers(0, 3, 11)
    if dense:
        input_map = InputMap(rng.standard_normal((6, 4)), rng.standard_normal(4))
    else:
        input_map = InputMap(rng.uniform(0.1, 5.0, 4), rng.standard_normal(4))
    est = LipschitzMLPClassifier(
        (5, 3), penalty=penalty, alpha=0.9, activation="tanh", random_state=2
    )
    f, theta = objective_and_gradient(est, Xm, y, input_map=input_map)
    loss, grad = f(theta)
    num = numerical_gradient(f, theta)
    assert np.linalg.norm(grad - num) / np.linalg.norm(num) <= 1e-6
    # ... and the value is the documented formula, on A W_1.
    base = LipschitzMLPClassifier(
        (5, 3), penalty="none", activation="tanh", random_state=2
    )
    none_loss = objective_and_gradient(base, Xm, y)[0](theta)[0]
    W1 = theta[:20].reshape(4, 5)
    W2 = theta[20:35].reshape(5, 3)
    W3 = theta[35:44].reshape(3, 3)
    AW1 = input_map.matmul(W1)
    norm = {"spectral": 2, "frobenius": "fro"}[penalty]
    term = sum(np.linalg.norm(M, norm) ** 2 for M in (AW1, W2, W3))
    assert loss - none_loss == pytest.approx(0.5 * 0.9 * term / 11, rel=1e-9)


def test_raw_unit_penalty_controls_the_raw_unit_constant():
    # Inputs that carry no signal and have a tiny spread: StandardScaler
    # multiplies them by ~1000. Penalised in model units their random initial
    # weights survive and dominate the raw-unit Lipschitz constant; penalised
    # in raw units they are driven to zero.
    rng = np.random.default_rng(0)
    signal = rng.standard_normal((300, 3))
    dead = 1e-3 * rng.standard_normal((300, 5))
    Xd = np.hstack([signal, dead])
    yd = (signal[:, 0] + signal[:, 1] > 0).astype(int)
    bounds = {}
    for name, factory in [("sklearn", sk_make_pipeline), ("sklip", make_pipeline)]:
        model = factory(
            StandardScaler(),
            LipschitzMLPClassifier(
                (16,), alpha=1.0, learning_rate_init=0.01, random_state=0
            ),
        ).fit(Xd, yd)
        bounds[name] = lipschitz_bound(model, method="spectral")
        assert model.score(Xd, yd) > 0.95
    # Measured: 9.1 against 7074.
    assert bounds["sklip"] < bounds["sklearn"] / 100, bounds


@pytest.mark.slow
@pytest.mark.parametrize("loader", [load_iris, load_wine], ids=["iris", "wine"])
@pytest.mark.parametrize("alpha", [10.0, 100.0])
def test_spectral_default_never_stops_early_from_power_iteration_drift(loader, alpha):
    Xl, yl = loader(return_X_y=True)
    X_tr, X_te, y_tr, y_te = train_test_split(
        Xl, yl, test_size=0.25, stratify=yl, random_state=0
    )
    # Averaged over seeds: single fits differ by a test sample or two from
    # floating-point noise in the trajectories (38 test samples on iris).
    scores, n_iter = {}, {}
    for n_power in (1, 50):
        fits = [
            sk_make_pipeline(
                MinMaxScaler(),
                LipschitzMLPClassifier(
                    (64,),
                    alpha=alpha,
                    max_iter=200,
                    random_state=seed,
                    n_power_iterations=n_power,
                ),
            ).fit(X_tr, y_tr)
            for seed in range(3)
        ]
        scores[n_power] = np.mean([m.score(X_te, y_te) for m in fits])
        n_iter[n_power] = np.mean([m[-1].n_iter_ for m in fits])
    assert scores[1] >= scores[50] - 0.02, scores
    # Before the fix the default stopped after 12 epochs here.
    assert n_iter[1] >= n_iter[50] - 5, n_iter


@pytest.mark.slow
@pytest.mark.parametrize("alpha", [10.0, 100.0])
def test_recorded_penalty_of_the_last_epoch_is_exact(alpha):
    # One full batch per epoch: the last recorded loss is the objective at the
    # weights before the last update, which a fit one epoch shorter returns.
    Xl, yl = load_wine(return_X_y=True)
    Xl = MinMaxScaler().fit_transform(Xl)
    params = dict(hidden_layer_sizes=(32,), alpha=alpha, random_state=0, tol=0)
    long = LipschitzMLPClassifier(max_iter=60, **params).fit(Xl, yl)
    short = LipschitzMLPClassifier(max_iter=59, **params).fit(Xl, yl)
    f, _ = objective_and_gradient(LipschitzMLPClassifier(**params), Xl, yl)
    theta = np.concatenate([c.ravel() for c in short.coefs_ + short.intercepts_])
    assert long.loss_curve_[-1] == pytest.approx(f(theta)[0], rel=1e-3)
