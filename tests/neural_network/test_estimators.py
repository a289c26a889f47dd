"""Behaviour of the estimators users rely on day to day."""

import pickle

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.special import expit
from sklearn.base import clone
from sklearn.datasets import make_classification, make_multilabel_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import mean_poisson_deviance
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklip import LipschitzMLPClassifier, LipschitzMLPRegressor

from .._helpers import mlp_logits

pytestmark = pytest.mark.filterwarnings("ignore", category=ConvergenceWarning)


@pytest.fixture(scope="module")
def multiclass():
    return make_classification(
        n_samples=120, n_features=6, n_informative=4, n_classes=3, random_state=0
    )


@pytest.mark.parametrize("solver", ["lbfgs", "adam", "sgd"])
@pytest.mark.parametrize("penalty", ["spectral", "frobenius"])
def test_sparse_input_gives_the_dense_result(multiclass, solver, penalty):
    X, y = multiclass
    params = dict(
        hidden_layer_sizes=(5,),
        solver=solver,
        penalty=penalty,
        max_iter=5,
        random_state=0,
    )
    dense = LipschitzMLPClassifier(**params).fit(X, y)
    sparse = LipschitzMLPClassifier(**params).fit(sp.csr_matrix(X), y)
    np.testing.assert_allclose(dense.coefs_[0], sparse.coefs_[0], rtol=1e-10)
    np.testing.assert_allclose(
        dense.predict_proba(X), sparse.predict_proba(sp.csr_matrix(X)), rtol=1e-10
    )


def test_predict_proba_and_decision_function(multiclass):
    X, y = multiclass
    clf = LipschitzMLPClassifier(hidden_layer_sizes=(8,), max_iter=50, random_state=0)
    clf.fit(X, y)
    proba = clf.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(clf.classes_[proba.argmax(1)], clf.predict(X))
    np.testing.assert_array_equal(clf.decision_function(X).argmax(1), proba.argmax(1))
    np.testing.assert_allclose(np.exp(clf.predict_log_proba(X)), proba)


def test_binary_decision_function_is_the_logit_of_the_second_class():
    X, y = make_classification(n_samples=80, n_features=4, random_state=0)
    y = np.where(y == 1, "yes", "no")
    clf = LipschitzMLPClassifier(hidden_layer_sizes=(4,), max_iter=30, random_state=0)
    clf.fit(X, y)
    z = clf.decision_function(X)
    assert z.shape == (80,)
    np.testing.assert_allclose(clf.predict_proba(X)[:, 1], 1 / (1 + np.exp(-z)))
    np.testing.assert_array_equal(clf.predict(X), np.where(z > 0, "yes", "no"))


def test_multilabel():
    X, Y = make_multilabel_classification(n_samples=80, n_classes=4, random_state=0)
    clf = LipschitzMLPClassifier(
        hidden_layer_sizes=(10,), solver="lbfgs", max_iter=200, random_state=0
    ).fit(X, Y)
    assert clf.out_activation_ == "logistic"
    # One sigmoid per label on the network's raw outputs, thresholded at 1/2.
    proba = clf.predict_proba(X)
    np.testing.assert_allclose(proba, expit(mlp_logits(clf, X)), rtol=1e-10)
    np.testing.assert_array_equal(clf.predict(X), (proba > 0.5).astype(int))
    assert clf.score(X, Y) > 0.5


def test_multi_output_regression():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((100, 3))
    Y = X @ rng.standard_normal((3, 2))
    reg = LipschitzMLPRegressor(
        hidden_layer_sizes=(10,), solver="lbfgs", random_state=0
    ).fit(X, Y)
    assert reg.predict(X).shape == (100, 2)
    assert reg.n_outputs_ == 2
    assert reg.score(X, Y) > 0.95


def test_poisson_regression():
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, (300, 2))
    y = rng.poisson(np.exp(X @ [1.0, -0.5]))
    reg = LipschitzMLPRegressor(
        loss="poisson", hidden_layer_sizes=(5,), solver="lbfgs", random_state=0
    ).fit(X, y)
    assert reg.out_activation_ == "exp"
    np.testing.assert_allclose(reg.predict(X), np.exp(mlp_logits(reg, X)[:, 0]))
    # It learns the rate: a mean Poisson deviance well below the best
    # constant's and near the true rate's.
    deviance = mean_poisson_deviance(y, reg.predict(X))
    constant = mean_poisson_deviance(y, np.full(len(y), y.mean()))
    truth = mean_poisson_deviance(y, np.exp(X @ [1.0, -0.5]))
    assert deviance < 0.8 * constant
    assert deviance < 1.05 * truth


@pytest.mark.parametrize("solver", ["lbfgs", "adam"])
def test_refit_with_same_seed_is_identical_and_clone_pickle_roundtrip(
    multiclass, solver
):
    X, y = multiclass
    est = LipschitzMLPClassifier(
        hidden_layer_sizes=(6,), solver=solver, max_iter=10, random_state=0
    )
    a = clone(est).fit(X, y).predict_proba(X)
    b = est.fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(a, b)
    restored = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(restored.predict_proba(X), b)


def test_lbfgs_records_a_loss_curve(multiclass):
    X, y = multiclass
    est = LipschitzMLPClassifier(
        hidden_layer_sizes=(6,), solver="lbfgs", max_iter=20, random_state=0
    ).fit(X, y)
    assert len(est.loss_curve_) == est.n_iter_
    assert est.loss_curve_[-1] == pytest.approx(est.loss_)
    assert est.loss_curve_[-1] < est.loss_curve_[0]


def test_warm_start_continues_training(multiclass):
    X, y = multiclass
    est = LipschitzMLPClassifier(
        hidden_layer_sizes=(6,), warm_start=True, max_iter=5, random_state=0
    ).fit(X, y)
    loss_first = est.loss_
    est.fit(X, y)
    assert est.loss_ < loss_first


def test_grid_search_over_alpha_and_penalty_in_a_pipeline(multiclass):
    X, y = multiclass
    pipe = make_pipeline(
        StandardScaler(),
        LipschitzMLPClassifier(
            hidden_layer_sizes=(6,), solver="lbfgs", max_iter=50, random_state=0
        ),
    )
    grid = GridSearchCV(
        pipe,
        {
            "lipschitzmlpclassifier__alpha": [1e-3, 1.0],
            "lipschitzmlpclassifier__penalty": ["spectral", "frobenius"],
        },
        cv=2,
    ).fit(X, y)
    assert len(grid.cv_results_["params"]) == 4
    assert grid.score(X, y) > 0.5


def test_hidden_layer_sizes_empty_is_a_linear_model(multiclass):
    X, y = multiclass
    est = LipschitzMLPClassifier(
        hidden_layer_sizes=(), solver="lbfgs", random_state=0
    ).fit(X, y)
    assert len(est.coefs_) == 1
    np.testing.assert_allclose(
        est.decision_function(X), X @ est.coefs_[0] + est.intercepts_[0], rtol=1e-12
    )
    # As accurate as scikit-learn's own multinomial logistic regression.
    reference = LogisticRegression().fit(X, y).score(X, y)
    assert est.score(X, y) >= reference - 0.03
