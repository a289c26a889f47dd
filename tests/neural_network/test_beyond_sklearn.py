"""Where scikit-learn's MLPs are weak, sklip's must not be."""

import warnings

import numpy as np
import pytest
from scipy.special import softmax
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning

from sklip import LipschitzMLPClassifier, LipschitzMLPRegressor

from .._helpers import mlp_logits

pytestmark = pytest.mark.filterwarnings("ignore", category=ConvergenceWarning)
ESTIMATORS = [LipschitzMLPClassifier, LipschitzMLPRegressor]


def _data(n=60, n_classes=3, seed=0):
    X, y = make_classification(
        n_samples=n,
        n_features=5,
        n_informative=3,
        n_classes=n_classes,
        random_state=seed,
    )
    return X, y


@pytest.mark.parametrize("Estimator", ESTIMATORS)
@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_minibatch_with_zero_weight_sum_is_skipped(Estimator, solver):
    X, y = _data()
    sw = np.ones(len(y))
    sw[:20] = 0  # the whole first batch (no shuffling) weighs nothing
    est = Estimator(
        hidden_layer_sizes=(4,),
        solver=solver,
        batch_size=20,
        shuffle=False,
        max_iter=3,
        random_state=0,
    ).fit(X, y, sample_weight=sw)
    assert all(np.isfinite(c).all() for c in est.coefs_)
    # The zero-weight batch contributes nothing: same model as without it.
    ref = Estimator(
        hidden_layer_sizes=(4,),
        solver=solver,
        batch_size=20,
        shuffle=False,
        max_iter=3,
        random_state=0,
    )
    ref.fit(X[20:], y[20:])
    np.testing.assert_allclose(est.coefs_[0], ref.coefs_[0], rtol=1e-12)


@pytest.mark.parametrize("Estimator", ESTIMATORS)
@pytest.mark.parametrize("solver", ["lbfgs", "sgd", "adam"])
def test_all_zero_sample_weight_is_a_clear_error(Estimator, solver):
    X, y = _data()
    est = Estimator(solver=solver)
    with pytest.raises(ValueError, match=r"(?i)sample[_ ]weight.*(zero|non-zero)"):
        est.fit(X, y, sample_weight=np.zeros(len(y)))
    assert not hasattr(est, "coefs_")


def test_early_stopping_split_is_stratified_for_multiclass():
    # 5 classes of 20 samples, 20% validation: stratified means exactly 4 each.
    rng = np.random.default_rng(0)
    X = rng.standard_normal((100, 4))
    y = np.repeat(np.arange(5), 20)
    est = LipschitzMLPClassifier(
        hidden_layer_sizes=(3,),
        early_stopping=True,
        validation_fraction=0.2,
        max_iter=2,
        random_state=0,
    )
    seen = {}
    original = LipschitzMLPClassifier._score_raw

    def spy(self, network, X_val, Y_val, sw, out_activation):
        seen["counts"] = Y_val.sum(axis=0)
        return original(self, network, X_val, Y_val, sw, out_activation)

    LipschitzMLPClassifier._score_raw = spy
    try:
        est.fit(X, y)
    finally:
        LipschitzMLPClassifier._score_raw = original
    np.testing.assert_array_equal(seen["counts"], [4, 4, 4, 4, 4])


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_partial_fit_only_exists_for_stochastic_solvers(Estimator):
    assert not hasattr(Estimator(solver="lbfgs"), "partial_fit")
    assert hasattr(Estimator(solver="sgd"), "partial_fit")
    assert hasattr(Estimator(solver="adam"), "partial_fit")


@pytest.mark.parametrize("Estimator", ESTIMATORS)
@pytest.mark.parametrize("solver", ["lbfgs", "sgd", "adam"])
@pytest.mark.parametrize("penalty", ["spectral", "frobenius"])
def test_float32_stays_float32(Estimator, solver, penalty):
    X, y = _data()
    X = X.astype(np.float32)
    est = Estimator(
        hidden_layer_sizes=(5,),
        solver=solver,
        penalty=penalty,
        max_iter=5,
        random_state=0,
    ).fit(X, y)
    assert all(c.dtype == np.float32 for c in est.coefs_ + est.intercepts_)
    out = est.predict_proba(X) if hasattr(est, "predict_proba") else est.predict(X)
    assert out.dtype == np.float32
    # The float32 numbers are the float64 forward pass of the same weights,
    # to float32 precision.
    F = mlp_logits(est, X)
    want = softmax(F, axis=1) if hasattr(est, "predict_proba") else F[:, 0]
    np.testing.assert_allclose(out, want, rtol=1e-4, atol=1e-6)


def test_float32_lbfgs_learns():
    X, y = _data(n=200, n_classes=2)
    est64 = LipschitzMLPClassifier(solver="lbfgs", max_iter=50, random_state=0)
    est32 = LipschitzMLPClassifier(solver="lbfgs", max_iter=50, random_state=0)
    est64.fit(X, y)
    est32.fit(X.astype(np.float32), y)
    assert est32.score(X, y) >= est64.score(X, y) - 0.05


def test_multi_output_lbfgs_converges_as_well_as_single_outputs():
    # With the off-by-n_outputs gradient, lbfgs line searches fail on
    # multi-output targets; consistent value and gradient fit each output as
    # well as separate single-output models do.
    rng = np.random.default_rng(0)
    X = rng.standard_normal((200, 4))
    Y = np.column_stack([np.sin(X[:, 0]), X[:, 1] ** 2 / 3, X[:, 2] * X[:, 3] / 2])
    params = dict(
        hidden_layer_sizes=(20,),
        solver="lbfgs",
        max_iter=300,
        penalty="frobenius",
        alpha=1e-4,
        random_state=0,
    )
    joint = LipschitzMLPRegressor(**params).fit(X, Y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert joint.score(X, Y) > 0.9
