"""With penalty="frobenius", sklip reproduces scikit-learn's MLPs."""

import warnings

import numpy as np
import pytest
from sklearn.datasets import make_classification, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier, MLPRegressor

from sklip import LipschitzMLPClassifier, LipschitzMLPRegressor

pytestmark = pytest.mark.filterwarnings("ignore", category=ConvergenceWarning)


def _rel(a, b):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return np.max(np.abs(a - b) / np.abs(b))


def _classification(n_classes):
    return make_classification(
        n_samples=150,
        n_features=8,
        n_informative=5,
        n_classes=n_classes,
        random_state=0,
    )


def _regression(n_targets):
    X, y = make_regression(
        n_samples=150, n_features=6, n_targets=n_targets, random_state=0
    )
    return X, y / 100


@pytest.mark.parametrize("solver", ["sgd", "adam"])
@pytest.mark.parametrize("activation", ["relu", "tanh", "logistic", "identity"])
@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("weighted", [False, True])
def test_classifier_loss_curve_matches_sklearn(solver, activation, n_classes, weighted):
    X, y = _classification(n_classes)
    sw = np.random.default_rng(0).uniform(0, 2, len(y)) if weighted else None
    params = dict(
        hidden_layer_sizes=(7, 4),
        activation=activation,
        solver=solver,
        alpha=0.05,
        batch_size=32,
        max_iter=5,
        random_state=3,
    )
    ours = LipschitzMLPClassifier(penalty="frobenius", **params).fit(X, y, sw)
    ref = MLPClassifier(**params).fit(X, y, sw)
    assert len(ours.loss_curve_) == len(ref.loss_curve_) == 5
    assert _rel(ours.loss_curve_, ref.loss_curve_) <= 1e-6
    for a, b in zip(ours.coefs_, ref.coefs_):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-10)
    np.testing.assert_allclose(
        ours.predict_proba(X), ref.predict_proba(X), rtol=1e-6, atol=1e-10
    )


@pytest.mark.parametrize("solver", ["sgd", "adam"])
@pytest.mark.parametrize("learning_rate", ["constant", "invscaling", "adaptive"])
def test_regressor_loss_curve_matches_sklearn(solver, learning_rate):
    X, y = _regression(1)
    params = dict(
        hidden_layer_sizes=(9,),
        solver=solver,
        alpha=0.1,
        batch_size=20,
        learning_rate=learning_rate,
        learning_rate_init=0.01,
        max_iter=5,
        random_state=0,
    )
    ours = LipschitzMLPRegressor(penalty="frobenius", **params).fit(X, y)
    ref = MLPRegressor(**params).fit(X, y)
    assert _rel(ours.loss_curve_, ref.loss_curve_) <= 1e-6
    np.testing.assert_allclose(ours.predict(X), ref.predict(X), rtol=1e-6, atol=1e-10)


@pytest.mark.parametrize(
    "Ours, Ref, data",
    [
        (LipschitzMLPClassifier, MLPClassifier, lambda: _classification(2)),
        (LipschitzMLPClassifier, MLPClassifier, lambda: _classification(3)),
        (LipschitzMLPRegressor, MLPRegressor, lambda: _regression(1)),
    ],
)
@pytest.mark.parametrize("activation", ["relu", "tanh", "logistic"])
def test_lbfgs_final_loss_matches_sklearn(Ours, Ref, data, activation):
    X, y = data()
    params = dict(
        hidden_layer_sizes=(6,),
        activation=activation,
        solver="lbfgs",
        alpha=0.01,
        max_iter=25,
        random_state=0,
    )
    ours = Ours(penalty="frobenius", **params).fit(X, y)
    ref = Ref(**params).fit(X, y)
    assert ours.n_iter_ == ref.n_iter_
    assert _rel(ours.loss_, ref.loss_) <= 1e-6


def test_early_stopping_matches_sklearn_on_binary_targets():
    # For binary targets scikit-learn already stratifies; the split, the
    # validation scores and the restored best weights must agree.
    X, y = _classification(2)
    params = dict(
        hidden_layer_sizes=(5,),
        early_stopping=True,
        max_iter=8,
        n_iter_no_change=3,
        random_state=0,
    )
    ours = LipschitzMLPClassifier(penalty="frobenius", **params).fit(X, y)
    ref = MLPClassifier(**params).fit(X, y)
    np.testing.assert_allclose(ours.validation_scores_, ref.validation_scores_)
    assert ours.best_validation_score_ == ref.best_validation_score_
    np.testing.assert_allclose(ours.coefs_[0], ref.coefs_[0], rtol=1e-6)


def test_partial_fit_matches_sklearn():
    X, y = _classification(3)
    params = dict(hidden_layer_sizes=(5,), random_state=0, batch_size=50)
    ours = LipschitzMLPClassifier(penalty="frobenius", **params)
    ref = MLPClassifier(**params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(3):
            ours.partial_fit(X, y, classes=np.unique(y))
            ref.partial_fit(X, y, classes=np.unique(y))
    assert _rel(ours.loss_curve_, ref.loss_curve_) <= 1e-6
