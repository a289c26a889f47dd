"""The empirical lower bound: attained by the model, below every upper bound."""

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklip._network import Network
from sklip.lipschitz import as_network, lipschitz_bound, lipschitz_lower_bound
from sklip.neural_network import LipschitzMLPClassifier

X, Y = make_classification(
    n_samples=60, n_features=5, n_informative=3, n_classes=3, random_state=0
)


def one_d(activation, W1, b1, W2):
    return Network(
        [np.array([[W1]]), np.array([[W2]])], [np.array([b1]), np.zeros(1)], activation
    )


@pytest.mark.parametrize(
    "cls", [MLPClassifier, LipschitzMLPClassifier], ids=lambda c: c.__name__
)
@pytest.mark.parametrize("activation", ["relu", "tanh", "logistic"])
def test_value_is_attained_at_returned_point(cls, activation):
    model = cls(
        hidden_layer_sizes=(8, 8), activation=activation, max_iter=20, random_state=0
    )
    model = make_pipeline(StandardScaler(), model).fit(X, Y)
    value, point = lipschitz_lower_bound(model, X, random_state=0, return_point=True)
    net = as_network(model)
    J = net.jacobian(point[None])[0]
    np.testing.assert_allclose(value, np.linalg.norm(J, 2), rtol=1e-12)
    # The model really moves that fast: a secant along the top right singular
    # vector has (almost) the same slope.
    v = np.linalg.svd(J)[2][0]
    t = 1e-6
    secant = np.linalg.norm(
        net.forward((point + t * v)[None]) - net.forward(point[None])
    )
    np.testing.assert_allclose(secant / t, value, rtol=1e-4)
    assert value <= lipschitz_bound(model)


def test_linear_model_lower_bound_is_exact():
    model = make_pipeline(StandardScaler(), LogisticRegression()).fit(X, Y)
    exact = np.linalg.norm(as_network(model).coefs[0], 2)
    np.testing.assert_allclose(lipschitz_lower_bound(model, X), exact, rtol=1e-12)


def test_ascent_reaches_steepest_point_of_tanh():
    # f(x) = tanh(x): on the data the best slope is 1 - tanh(4)^2 ~ 1e-3,
    # the steepest point (slope 1) is at 0.
    net = one_d("tanh", 1.0, 0.0, 1.0)
    Xf = np.array([[4.0], [5.0], [6.0]])
    assert lipschitz_lower_bound(net, Xf, n_iter=0) == pytest.approx(
        1 - np.tanh(4) ** 2
    )
    assert lipschitz_lower_bound(net, Xf, random_state=0) > 0.999


def test_ascent_leaves_a_dead_relu_region():
    # f(x) = 3 relu(x - 10): zero slope on the data, Lipschitz constant 3.
    net = one_d("relu", 1.0, -10.0, 3.0)
    Xf = np.array([[0.0], [1.0]])
    assert lipschitz_lower_bound(net, Xf, n_iter=0) == 0.0
    assert lipschitz_lower_bound(net, Xf, random_state=0) == pytest.approx(3.0)


def test_ascent_never_worse_than_data_and_reproducible():
    rng = np.random.default_rng(0)
    for _ in range(20):
        net = Network(
            [
                rng.standard_normal((5, 6)),
                rng.standard_normal((6, 6)),
                rng.standard_normal((6, 2)),
            ],
            [rng.standard_normal(6), rng.standard_normal(6), np.zeros(2)],
            "tanh",
        )
        data_only = lipschitz_lower_bound(net, X, n_iter=0)
        a = lipschitz_lower_bound(net, X, random_state=1)
        assert a >= data_only
        assert a == lipschitz_lower_bound(net, X, random_state=1)
        assert a <= lipschitz_bound(net)


def test_more_restarts_than_rows_and_sparse_input():
    model = make_pipeline(StandardScaler(), Ridge()).fit(X, Y)
    dense = lipschitz_lower_bound(model, X[:2], n_restarts=5, random_state=0)
    sparse = lipschitz_lower_bound(
        model, sp.csr_matrix(X[:2]), n_restarts=5, random_state=0
    )
    assert dense == pytest.approx(sparse) == pytest.approx(lipschitz_bound(model))


def test_float32_model():
    model = MLPClassifier((6,), max_iter=20, random_state=0).fit(
        X.astype(np.float32), Y
    )
    assert model.coefs_[0].dtype == np.float32
    assert 0 < lipschitz_lower_bound(model, X, random_state=0) <= lipschitz_bound(model)


@pytest.fixture(scope="module")
def fitted():
    return make_pipeline(StandardScaler(), LogisticRegression()).fit(X, Y)


@pytest.mark.parametrize("bad, match", [(np.nan, "NaN"), (np.inf, "infinity")])
def test_non_finite_X(fitted, bad, match):
    Xb = X.copy()
    Xb[3, 2] = bad
    with pytest.raises(ValueError, match=match):
        lipschitz_lower_bound(fitted, Xb)


def test_wrong_number_of_features(fitted):
    with pytest.raises(
        ValueError, match="X has 4 features, but the model is expecting 5"
    ):
        lipschitz_lower_bound(fitted, X[:, :4])


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"n_restarts": 0}, "n_restarts"),
        ({"n_restarts": 2.5}, "n_restarts"),
        ({"n_iter": -1}, "n_iter"),
        ({"n_iter": True}, "n_iter"),
    ],
)
def test_bad_parameters(fitted, kwargs, name):
    with pytest.raises(ValueError, match=f"'{name}' parameter must be an int"):
        lipschitz_lower_bound(fitted, X, **kwargs)
