"""as_network: the raw-input -> raw-output view must reproduce the models.

Oracle: scikit-learn itself (decision_function / predict / transform).
"""

import numpy as np
import pytest
from scipy.special import expit
from sklearn.base import clone
from sklearn.compose import ColumnTransformer
from sklearn.datasets import make_classification, make_regression
from sklearn.decomposition import PCA, TruncatedSVD
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import (
    ElasticNet,
    Lasso,
    LinearRegression,
    LogisticRegression,
    Ridge,
    RidgeClassifier,
    SGDClassifier,
    SGDRegressor,
)
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import (
    MaxAbsScaler,
    MinMaxScaler,
    PolynomialFeatures,
    RobustScaler,
    StandardScaler,
)
from sklearn.svm import SVC, LinearSVC, LinearSVR
from sklearn.tree import DecisionTreeClassifier

from sklip._core.network import Network
from sklip._core.view import output_kind
from sklip.lipschitz import as_network
from sklip.neural_network import LipschitzMLPClassifier, LipschitzMLPRegressor

X_CLF, Y3 = make_classification(
    n_samples=80, n_features=6, n_informative=4, n_classes=3, random_state=0
)
Y2 = (Y3 == 1).astype(int)
X_REG, Y_REG = make_regression(n_samples=80, n_features=6, n_targets=2, random_state=0)
X_REG = X_REG * 3 + 1  # not standardised, so preprocessing matters

CLASSIFIERS = [
    LogisticRegression(),
    LogisticRegression(fit_intercept=False),
    RidgeClassifier(),
    SGDClassifier(random_state=0),
    LinearSVC(),
    LinearSVC(fit_intercept=False),
]
REGRESSORS = [
    LinearRegression(),
    LinearRegression(fit_intercept=False),
    Ridge(),
    Ridge(fit_intercept=False),
    Lasso(alpha=0.1),
    ElasticNet(alpha=0.1),
    SGDRegressor(random_state=0),
    LinearSVR(random_state=0),
]
SINGLE_OUTPUT_ONLY = (SGDRegressor, LinearSVR)


def raw_output(model, X):
    """The raw outputs sklearn exposes: decision function or prediction."""
    if hasattr(model, "decision_function"):
        out = model.decision_function(X)
    else:
        out = model.predict(X)
    return out.reshape(len(X), -1)


@pytest.mark.parametrize("est", CLASSIFIERS, ids=repr)
@pytest.mark.parametrize("y", [Y2, Y3], ids=["binary", "multiclass"])
def test_linear_classifiers_match_decision_function(est, y):
    model = clone(est).fit(X_CLF, y)
    net = as_network(model)
    assert net.n_layers == 1
    assert net.n_outputs == (1 if len(np.unique(y)) == 2 else 3)
    np.testing.assert_allclose(net.forward(X_CLF), raw_output(model, X_CLF), atol=1e-10)
    expected = "binary" if net.n_outputs == 1 else "multiclass"
    assert output_kind(model) == expected


@pytest.mark.parametrize(
    "est, n_targets",
    [
        (est, n)
        for est in REGRESSORS
        for n in (1, 2)
        if n == 1 or not isinstance(est, SINGLE_OUTPUT_ONLY)
    ],
    ids=repr,
)
def test_linear_regressors_match_predict(est, n_targets):
    y = Y_REG[:, 0] if n_targets == 1 else Y_REG
    model = clone(est).fit(X_REG, y)
    net = as_network(model)
    assert net.n_outputs == n_targets
    np.testing.assert_allclose(net.forward(X_REG), raw_output(model, X_REG), rtol=1e-10)
    assert output_kind(model) == "continuous"


def _mlp_logits(model, X):
    return Network(model.coefs_, model.intercepts_, model.activation).forward(X)


@pytest.mark.parametrize("activation", ["relu", "tanh", "logistic", "identity"])
@pytest.mark.parametrize(
    "cls", [MLPClassifier, LipschitzMLPClassifier], ids=lambda c: c.__name__
)
def test_mlp_classifier_logits(cls, activation):
    model = cls(
        hidden_layer_sizes=(7, 5), activation=activation, max_iter=30, random_state=0
    ).fit(X_CLF, Y3)
    net = as_network(model)
    assert net.layer_units == [6, 7, 5, 3]
    proba = np.exp(net.forward(X_CLF))
    proba /= proba.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(proba, model.predict_proba(X_CLF), atol=1e-6)
    assert output_kind(model) == "multiclass"


@pytest.mark.parametrize(
    "cls", [MLPClassifier, LipschitzMLPClassifier], ids=lambda c: c.__name__
)
def test_mlp_binary_single_logit_is_classes_1(cls):
    y = np.where(Y2 == 1, "yes", "no")
    model = cls(hidden_layer_sizes=(4,), max_iter=30, random_state=0).fit(X_CLF, y)
    net = as_network(model)
    assert net.n_outputs == 1 and output_kind(model) == "binary"
    z = net.forward(X_CLF).ravel()
    np.testing.assert_allclose(expit(z), model.predict_proba(X_CLF)[:, 1], atol=1e-6)
    np.testing.assert_array_equal(
        model.classes_[(z > 0).astype(int)], model.predict(X_CLF)
    )


def test_mlp_multilabel_one_logit_per_label():
    Y = np.column_stack([Y2, Y3 == 2, Y3 == 0]).astype(int)
    model = MLPClassifier(hidden_layer_sizes=(4,), max_iter=30, random_state=0)
    model.fit(X_CLF, Y)
    net = as_network(model)
    assert net.n_outputs == 3 and output_kind(model) == "multilabel"
    np.testing.assert_allclose(
        expit(net.forward(X_CLF)), model.predict_proba(X_CLF), atol=1e-6
    )


@pytest.mark.parametrize(
    "cls", [MLPRegressor, LipschitzMLPRegressor], ids=lambda c: c.__name__
)
def test_mlp_regressor_predict(cls):
    model = cls(hidden_layer_sizes=(5,), max_iter=30, random_state=0)
    model.fit(X_REG, Y_REG)
    np.testing.assert_allclose(
        as_network(model).forward(X_REG), model.predict(X_REG), rtol=1e-8, atol=1e-8
    )


AFFINE_STEPS = [
    StandardScaler(),
    StandardScaler(with_mean=False),
    StandardScaler(with_std=False),
    MinMaxScaler(feature_range=(-1, 2)),
    MaxAbsScaler(),
    RobustScaler(),
    RobustScaler(with_centering=False),
    RobustScaler(with_scaling=False),
    RobustScaler(unit_variance=True),
    PCA(n_components=4),
    PCA(n_components=4, whiten=True),
    PCA(whiten=True),
    TruncatedSVD(n_components=3, random_state=0),
]


@pytest.mark.parametrize("step", AFFINE_STEPS, ids=repr)
@pytest.mark.parametrize(
    "final",
    [LogisticRegression(), MLPClassifier((4,), max_iter=20, random_state=0)],
    ids=["logreg", "mlp"],
)
def test_pipeline_folds_affine_steps(step, final):
    pipe = make_pipeline(clone(step), clone(final)).fit(X_REG, Y3)
    net = as_network(pipe)
    assert net.n_features_in == X_REG.shape[1]
    expected = as_network(pipe[-1]).forward(pipe[:-1].transform(X_REG))
    np.testing.assert_allclose(net.forward(X_REG), expected, rtol=1e-9, atol=1e-9)


def test_nested_pipeline_and_passthrough():
    inner = Pipeline([("scale", StandardScaler()), ("skip", "passthrough")])
    pipe = Pipeline(
        [
            ("pre", inner),
            ("none", None),
            ("pca", PCA(n_components=5, whiten=True)),
            ("model", make_pipeline(MaxAbsScaler(), Ridge())),
        ]
    ).fit(X_REG, Y_REG)
    np.testing.assert_allclose(
        as_network(pipe).forward(X_REG), pipe.predict(X_REG), rtol=1e-9, atol=1e-9
    )
    assert output_kind(pipe) == "continuous"


def test_network_is_returned_unchanged():
    net = Network([np.eye(2)], [np.zeros(2)])
    assert as_network(net) is net


@pytest.mark.parametrize(
    "model, match",
    [
        (DecisionTreeClassifier(), "DecisionTreeClassifier"),
        (SVC(kernel="linear"), "SVC"),
        (
            make_pipeline(PolynomialFeatures(), LogisticRegression()),
            "polynomialfeatures",
        ),
        (make_pipeline(MinMaxScaler(clip=True), LogisticRegression()), "clip=True"),
        (Pipeline([("s", StandardScaler()), ("end", "passthrough")]), "'end'"),
        (
            make_pipeline(
                ColumnTransformer(
                    [("s", StandardScaler(), [0, 1]), ("p", PolynomialFeatures(), [2])]
                ),
                LogisticRegression(),
            ),
            "columntransformer__p",
        ),
    ],
    ids=["tree", "svc", "poly", "clip", "passthrough-final", "column-transformer"],
)
def test_unsupported_raises_type_error_naming_it(model, match):
    model.fit(X_CLF, Y2)
    with pytest.raises(TypeError, match=match) as info:
        as_network(model)
    assert "Supported" in str(info.value) and "StandardScaler" in str(info.value)


@pytest.mark.parametrize(
    "model",
    [
        LogisticRegression(),
        MLPClassifier(),
        LipschitzMLPClassifier(),
        LinearSVR(),
        make_pipeline(StandardScaler(), Ridge()),
    ],
    ids=repr,
)
def test_unfitted_raises_not_fitted(model):
    with pytest.raises(NotFittedError):
        as_network(model)


def test_unfitted_step_raises_not_fitted():
    pipe = make_pipeline(StandardScaler(), Ridge())
    pipe.steps[-1] = ("ridge", Ridge().fit(X_REG, Y_REG))
    with pytest.raises(NotFittedError):
        as_network(pipe)
