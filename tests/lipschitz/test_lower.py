"""The empirical lower bound: attained by the model, below every upper bound."""

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklip._core.network import Network
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
    with pytest.raises(
        ValueError,
        match=f"'{name}' parameter of lipschitz_lower_bound must be an int in the",
    ):
        lipschitz_lower_bound(fitted, X, **kwargs)


# -- features: the constant over a subset of raw columns ------------------------


def test_features_linear_equals_coefficient_rows():
    # Oracle: the constant over S of an affine pipeline is the spectral norm of
    # the raw-unit coefficient rows S.
    from sklearn.linear_model import LogisticRegression as _LR
    from sklearn.pipeline import make_pipeline as _mp
    from sklearn.preprocessing import StandardScaler as _SS

    rng = np.random.default_rng(0)
    X = rng.standard_normal((60, 4)) * [1.0, 5.0, 0.2, 2.0]
    y = rng.integers(0, 3, 60)
    model = _mp(_SS(), _LR()).fit(X, y)
    W = model[-1].coef_.T / model[0].scale_[:, None]
    for S in ([0, 2], [3], None):
        rows = W if S is None else W[S]
        exact = np.linalg.norm(rows, 2)
        got = lipschitz_lower_bound(model, X, features=S, random_state=0, n_iter=3)
        assert abs(got - exact) <= 1e-9 * exact


def _mixed():
    pytest.importorskip("pandas")
    from tests._robustness_models import mixed_models

    return mixed_models()


@pytest.mark.parametrize("features", [None, ["x1", "x3"]])
def test_features_mixed_pipeline_below_bound_and_moves_only_s(features):
    from sklip.lipschitz import lipschitz_bound

    for name, model, df, _ in _mixed():
        low, point = lipschitz_lower_bound(
            model,
            df,
            features=features,
            n_restarts=3,
            n_iter=5,
            random_state=0,
            return_point=True,
        )
        up = lipschitz_bound(model, features=features)
        assert 0 < low <= up * (1 + 1e-9), name
        assert list(point.columns) == list(df.columns) and point.shape == (1, 4)
        moved = ["x1", "x2", "x3"] if features is None else features
        held = [c for c in df.columns if c not in moved]
        # The point keeps the held columns of one of the starting rows.
        match = (df[held] == point[held].iloc[0]).all(axis=1)
        assert match.any(), name
        assert point["region"].iloc[0] in {"north", "south", "east"}


def test_features_attained_by_model_finite_differences():
    # Brute force: central differences of the model's own predict along S at
    # the returned point give a Jacobian whose norm is the returned value.
    pytest.importorskip("pandas")
    from sklearn.compose import ColumnTransformer
    from sklearn.neural_network import MLPRegressor
    from sklearn.preprocessing import OneHotEncoder

    from tests._robustness_models import mixed_frame

    df, _ = mixed_frame()
    Y = np.column_stack([df.x1 / 10 + (df.region == "north"), df.x2 * df.x3])
    ct = ColumnTransformer(
        [
            ("num", StandardScaler(), ["x1", "x2", "x3"]),
            ("cat", OneHotEncoder(), ["region"]),
        ]
    )
    model = make_pipeline(
        ct,
        MLPRegressor(
            hidden_layer_sizes=(6,), activation="tanh", max_iter=200, random_state=0
        ),
    ).fit(df, Y)
    S = ["x1", "x2"]
    low, point = lipschitz_lower_bound(
        model,
        df,
        features=S,
        n_restarts=2,
        n_iter=5,
        random_state=0,
        return_point=True,
    )
    h = 1e-5
    cols = []
    for c in S:
        plus, minus = point.copy(), point.copy()
        plus[c] += h
        minus[c] -= h
        cols.append((model.predict(plus) - model.predict(minus))[0] / (2 * h))
    fd = np.linalg.norm(np.column_stack(cols), 2)
    assert abs(fd - low) <= 1e-6 * low


def test_features_none_numpy_matches_folded_network():
    # features=None on a plain array takes the folded network: same value and
    # point as the bare Network from as_network (the pre-features path).
    X, y = make_classification(60, 4, random_state=0)
    model = MLPClassifier((8,), max_iter=300, random_state=0).fit(X, y)
    kw = dict(n_restarts=4, n_iter=6, random_state=0, return_point=True)
    v1, p1 = lipschitz_lower_bound(model, X, **kw)
    v2, p2 = lipschitz_lower_bound(as_network(model), X, **kw)
    assert v1 == v2 and np.array_equal(p1, p2) and p1.shape == (4,)
    # A subset on a bare Network moves only those columns.
    v3, p3 = lipschitz_lower_bound(as_network(model), X, features=[1, 3], **kw)
    assert v3 <= lipschitz_bound(model, features=[1, 3]) * (1 + 1e-9)
    assert (np.all(X[:, [0, 2]] == p3[[0, 2]], axis=1)).any()


def test_features_none_on_numpy_unchanged_and_bad_features():
    pytest.importorskip("pandas")
    from tests._robustness_models import mixed_models

    _, model, df, _ = mixed_models()[0]
    with pytest.raises(ValueError, match="region"):
        lipschitz_lower_bound(model, df, features=["x1", "region"])
    with pytest.raises(ValueError):
        lipschitz_lower_bound(model, df, features=["nope"])
    with pytest.raises(ValueError):
        lipschitz_lower_bound(model, df, features=[7])
