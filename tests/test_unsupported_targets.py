"""Unsupported targets are named as such, with a way out, not shape errors."""

import warnings

import numpy as np
import pytest
from scipy.special import expit
from sklearn.datasets import make_classification

from sklip import (
    LipschitzMLPClassifier,
    RobustnessCurveDisplay,
    certified_accuracy,
    certified_radius,
    make_robustness_scorer,
    perturb,
    prediction_stability,
    robust_accuracy,
)

from ._helpers import mlp_logits

X, y = make_classification(n_samples=40, n_features=4, random_state=0)
MULTILABEL = np.c_[y, 1 - y]
MULTIOUTPUT = np.c_[y, (X[:, 0] > 0).astype(int) + (X[:, 1] > 0)]


def _fit(y_fit):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return LipschitzMLPClassifier(
            hidden_layer_sizes=(5,), max_iter=20, random_state=0
        ).fit(X, y_fit)


@pytest.fixture(scope="module")
def single():
    return _fit(y)


@pytest.fixture(scope="module")
def multilabel_model():
    return _fit(MULTILABEL)


def test_estimator_refuses_multioutput_multiclass_targets():
    for call in (
        lambda m: m.fit(X, MULTIOUTPUT),
        lambda m: m.set_params(solver="adam").partial_fit(
            X, MULTIOUTPUT, classes=[0, 1, 2]
        ),
    ):
        with pytest.raises(
            ValueError,
            match=r"multi-output multiclass targets are not supported: y has "
            r"shape \(40, 2\).*MultiOutputClassifier",
        ):
            call(LipschitzMLPClassifier(max_iter=5))


def test_estimator_still_fits_multilabel_targets(multilabel_model):
    # A multilabel fit, not a refusal: one sigmoid per label on the network's
    # raw outputs, each thresholded at 1/2.
    assert multilabel_model.out_activation_ == "logistic"
    proba = multilabel_model.predict_proba(X)
    np.testing.assert_allclose(proba, expit(mlp_logits(multilabel_model, X)))
    predicted = multilabel_model.predict(X)
    assert predicted.shape == MULTILABEL.shape
    np.testing.assert_array_equal(predicted, (proba > 0.5).astype(int))


TARGET_CALLS = {
    "perturb": lambda m, t: perturb(m, X, t, eps=0.1),
    "robust_accuracy": lambda m, t: robust_accuracy(m, X, t, eps=0.1),
    "certified_accuracy": lambda m, t: certified_accuracy(m, X, t, eps=0.1),
    "scorer": lambda m, t: make_robustness_scorer(eps=0.1)(m, X, t),
    "certified_scorer": lambda m, t: make_robustness_scorer(
        eps=0.1, metric="certified_accuracy"
    )(m, X, t),
    "display": lambda m, t: RobustnessCurveDisplay.from_estimator(m, X, t, eps=[0.1]),
}


@pytest.mark.parametrize("call", TARGET_CALLS.values(), ids=TARGET_CALLS.keys())
@pytest.mark.parametrize(
    "target, match",
    [
        (MULTILABEL, r"multilabel targets are not supported \(y has shape \(40, 2\)"),
        (
            MULTIOUTPUT,
            r"multi-output targets are not supported \(y has shape \(40, 2\)",
        ),
    ],
    ids=["multilabel", "multioutput"],
)
def test_robustness_functions_name_multilabel_targets(single, call, target, match):
    if call is TARGET_CALLS["display"]:
        pytest.importorskip("matplotlib")
    with pytest.raises(ValueError, match=match + r".*use|.*Pass 1-D labels"):
        call(single, target)


@pytest.mark.parametrize(
    "call",
    [
        lambda m: robust_accuracy(m, X, MULTILABEL, eps=0.1),
        lambda m: prediction_stability(m, X, eps=0.1),
        lambda m: certified_radius(m, X),
        lambda m: certified_accuracy(m, X, MULTILABEL, eps=0.1),
    ],
    ids=["robust_accuracy", "prediction_stability", "certified_radius", "certified"],
)
def test_multilabel_models_are_named(multilabel_model, call):
    with pytest.raises(
        ValueError,
        match=r"multilabel classifiers are not supported .*fitted on multilabel "
        r"targets.*one classifier per label column",
    ):
        call(multilabel_model)
