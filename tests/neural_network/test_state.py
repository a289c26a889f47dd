"""Interrupt and resume exactly: 10 epochs == 5 epochs, pickle, 5 more."""

import pickle

import numpy as np
import pytest
from sklearn.datasets import make_classification

from sklip import LipschitzMLPClassifier

X, Y = make_classification(
    n_samples=120, n_features=6, n_informative=4, n_classes=3, random_state=0
)


def _est(solver, penalty, max_iter):
    return LipschitzMLPClassifier(
        hidden_layer_sizes=(7, 5),
        solver=solver,
        penalty=penalty,
        alpha=0.3,
        batch_size=32,
        max_iter=max_iter,
        shuffle=False,
        warm_start=True,
        n_iter_no_change=100,
        random_state=0,
    )


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("solver", ["sgd", "adam"])
@pytest.mark.parametrize("penalty", ["none", "frobenius", "spectral"])
def test_fit_pickle_resume_equals_one_long_fit(solver, penalty, dtype):
    Xd = X.astype(dtype)
    full = _est(solver, penalty, 10).fit(Xd, Y)

    half = _est(solver, penalty, 5).fit(Xd, Y)
    resumed = pickle.loads(pickle.dumps(half))
    resumed.fit(Xd, Y)

    for got, expected in zip(
        resumed.coefs_ + resumed.intercepts_, full.coefs_ + full.intercepts_
    ):
        assert got.dtype == dtype
        np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(resumed.loss_curve_, full.loss_curve_)
    assert resumed.t_ == full.t_
    if penalty == "spectral":
        for (u1, v1), (u2, v2) in zip(resumed._power_vectors, full._power_vectors):
            np.testing.assert_array_equal(u1, u2)
            np.testing.assert_array_equal(v1, v2)
    # Five epochs moved the weights: the comparison is not vacuous.
    assert not np.array_equal(half.coefs_[0], full.coefs_[0])


def test_refit_without_warm_start_restarts_the_optimizer():
    est = _est("adam", "none", 3).fit(X, Y)
    moments = est._optimizer.m.copy()
    est.set_params(warm_start=False).fit(X, Y)
    fresh = _est("adam", "none", 3).fit(X, Y)
    np.testing.assert_array_equal(est._optimizer.m, fresh._optimizer.m)
    assert not np.array_equal(moments, 0)


def test_warm_start_on_float32_data_after_float64_casts_the_moments():
    est = _est("adam", "none", 2).fit(X, Y)
    est.fit(X.astype(np.float32), Y)
    assert est._optimizer.m.dtype == np.float32
    assert est.coefs_[0].dtype == np.float32
