"""Certified upper bounds: closed forms, brute force, ordering and soundness."""

import itertools

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import make_classification, make_regression
from sklearn.decomposition import PCA
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
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler, StandardScaler
from sklearn.svm import LinearSVC, LinearSVR

from sklip._core.network import Network
from sklip.lipschitz import (
    as_network,
    lipschitz_bound,
    lipschitz_lower_bound,
    pairwise_lipschitz_bounds,
)
from sklip.neural_network import LipschitzMLPClassifier, LipschitzMLPRegressor

ACTIVATIONS = ["relu", "tanh", "logistic", "identity"]
C = {"relu": 1.0, "tanh": 1.0, "identity": 1.0, "logistic": 0.25}
X_CLF, Y3 = make_classification(
    n_samples=80, n_features=6, n_informative=4, n_classes=3, random_state=0
)
X_REG, Y_REG = make_regression(n_samples=80, n_features=6, random_state=0)
X_REG = X_REG * 3 + 1


def norm2(A):
    return np.linalg.norm(A, 2)


def random_network(rng, n_layers=None, activation=None):
    """A random chain; some layers low rank or aligned to stress tightness."""
    n_layers = rng.integers(1, 6) if n_layers is None else n_layers
    activation = rng.choice(ACTIVATIONS) if activation is None else activation
    units = rng.integers(1, 9, size=n_layers + 1)
    coefs = []
    for n_in, n_out in zip(units[:-1], units[1:], strict=True):
        W = rng.standard_normal((n_in, n_out)) * rng.uniform(0.2, 2.0)
        if rng.random() < 0.3:  # rank one
            W = np.outer(rng.standard_normal(n_in), rng.standard_normal(n_out))
        coefs.append(W)
    intercepts = [rng.standard_normal(W.shape[1]) for W in coefs]
    return Network(coefs, intercepts, str(activation))


def combettes_pesquet_by_enumeration(coefs, c):
    """The defining sum over all 2^(m-1) cut sets, one by one."""
    m = len(coefs)
    total = 0.0
    for cuts in itertools.product([False, True], repeat=m - 1):
        product, start = 1.0, 0
        for k in range(m):
            if k == m - 1 or cuts[k]:
                product *= norm2(
                    np.linalg.multi_dot(
                        [np.eye(coefs[start].shape[0])] + coefs[start : k + 1]
                    )
                )
                start = k + 1
        total += product
    return (c / 2) ** (m - 1) * total


# ---------------------------------------------------------------- closed forms

LINEAR = [
    (LogisticRegression(), X_CLF, Y3),
    (LogisticRegression(), X_CLF, Y3 == 1),
    (LogisticRegression(fit_intercept=False), X_CLF, Y3),
    (RidgeClassifier(), X_CLF, Y3),
    (SGDClassifier(random_state=0), X_CLF, Y3 == 1),
    (LinearSVC(), X_CLF, Y3),
    (LinearSVC(fit_intercept=False), X_CLF, Y3 == 1),
    (LinearRegression(), X_REG, Y_REG),
    (LinearRegression(fit_intercept=False), X_REG, Y_REG),
    (Ridge(), X_REG, np.column_stack([Y_REG, -Y_REG + 1])),
    (Lasso(alpha=0.5), X_REG, Y_REG),
    (ElasticNet(alpha=0.5), X_REG, Y_REG),
    (SGDRegressor(random_state=0), X_REG, Y_REG),
    (LinearSVR(random_state=0), X_REG, Y_REG),
]


@pytest.mark.parametrize(
    "est, X, y",
    LINEAR,
    ids=[f"{type(e).__name__}-{i}" for i, (e, _, _) in enumerate(LINEAR)],
)
@pytest.mark.parametrize("method", ["spectral", "combettes-pesquet", "auto"])
@pytest.mark.parametrize("pre", [None, "scaler", "pca"])
def test_linear_models_are_exact(est, X, y, method, pre):
    coef_matrix = lambda model: np.atleast_2d(model.coef_).T  # noqa: E731
    if pre is None:
        model = clone(est).fit(X, y)
        W = coef_matrix(model)
    elif pre == "scaler":
        model = make_pipeline(StandardScaler(), clone(est)).fit(X, y)
        W = np.diag(1 / model[0].scale_) @ coef_matrix(model[-1])
    else:
        model = make_pipeline(PCA(4, whiten=True), clone(est)).fit(X, y)
        pca = model[0]
        W = (
            pca.components_.T
            / np.sqrt(pca.explained_variance_)
            @ coef_matrix(model[-1])
        )
    bound = lipschitz_bound(model, method=method)
    np.testing.assert_allclose(bound, norm2(W), rtol=1e-10)
    assert bound >= norm2(W)


def test_two_layer_closed_form():
    rng = np.random.default_rng(0)
    for _ in range(20):
        W1, W2 = rng.standard_normal((5, 7)), rng.standard_normal((7, 3))
        for act in ACTIVATIONS:
            net = Network([W1, W2], [np.zeros(7), np.zeros(3)], act)
            expected = C[act] * (norm2(W1 @ W2) + norm2(W1) * norm2(W2)) / 2
            got = lipschitz_bound(net, method="combettes-pesquet")
            np.testing.assert_allclose(got, expected, rtol=1e-12)
            np.testing.assert_allclose(
                lipschitz_bound(net, method="spectral"),
                C[act] * norm2(W1) * norm2(W2),
                rtol=1e-12,
            )
            np.testing.assert_allclose(
                lipschitz_bound(net, method="frobenius"),
                C[act] * np.linalg.norm(W1) * np.linalg.norm(W2),
                rtol=1e-12,
            )


def test_dynamic_programme_matches_enumeration_of_cut_sets():
    rng = np.random.default_rng(1)
    for n_layers in range(1, 7):
        for act in ("relu", "logistic"):
            net = random_network(rng, n_layers=n_layers, activation=act)
            expected = combettes_pesquet_by_enumeration(net.coefs, C[act])
            got = lipschitz_bound(net, method="combettes-pesquet")
            np.testing.assert_allclose(got, expected, rtol=1e-10)


def test_affine_network_auto_is_exact_product_norm():
    rng = np.random.default_rng(2)
    for _ in range(20):
        net = random_network(rng, activation="identity")
        exact = norm2(np.linalg.multi_dot([np.eye(net.n_features_in), *net.coefs]))
        np.testing.assert_allclose(lipschitz_bound(net), exact, rtol=1e-10)


# ---------------------------------------------- ordering on random networks


def _check_order(net, X, rng):
    fro = lipschitz_bound(net, method="frobenius")
    spec = lipschitz_bound(net, method="spectral")
    cp = lipschitz_bound(net, method="combettes-pesquet")
    auto = lipschitz_bound(net)
    lower = lipschitz_lower_bound(
        net, X, n_restarts=3, n_iter=6, random_state=int(rng.integers(1000))
    )
    # CP <= spectral holds exactly for exact norms; the tiny rtol absorbs the
    # rounding slack each of them adds (e.g. rank-one chains, where equal).
    assert fro >= spec * (1 - 1e-12)
    assert spec >= cp * (1 - 1e-12)
    assert auto <= min(spec, cp)
    assert auto >= lower, (auto, lower)
    return auto, lower


def test_order_on_random_networks():
    rng = np.random.default_rng(3)
    for _ in range(200):
        net = random_network(rng)
        X = rng.standard_normal((12, net.n_features_in)) * 2
        _check_order(net, X, rng)


@pytest.mark.parametrize("depth", [1, 2, 3, 4])
@pytest.mark.parametrize("cls", [MLPClassifier, MLPRegressor])
def test_order_on_sklearn_mlps_with_random_weights(cls, depth):
    rng = np.random.default_rng(depth)
    y = Y3 if cls is MLPClassifier else X_CLF[:, 0]
    for act in ACTIVATIONS:
        model = cls(
            hidden_layer_sizes=(5,) * depth, activation=act, max_iter=2, random_state=0
        )
        model.fit(X_CLF, y)
        for _ in range(4):
            model.coefs_ = [rng.standard_normal(W.shape) for W in model.coefs_]
            _check_order(model, X_CLF[:20], rng)


FITTED = [
    LipschitzMLPClassifier(
        hidden_layer_sizes=(8,), max_iter=20, penalty="spectral", random_state=0
    ),
    LipschitzMLPClassifier(
        hidden_layer_sizes=(8, 6),
        activation="tanh",
        max_iter=20,
        penalty="frobenius",
        random_state=0,
    ),
    LipschitzMLPRegressor(hidden_layer_sizes=(8, 4), max_iter=20, random_state=0),
    MLPClassifier(hidden_layer_sizes=(8, 6, 4), max_iter=50, random_state=0),
    MLPRegressor(
        hidden_layer_sizes=(8,), activation="logistic", max_iter=50, random_state=0
    ),
]


@pytest.mark.parametrize("est", FITTED, ids=lambda e: type(e).__name__)
def test_order_on_fitted_models(est):
    is_reg = "Regressor" in type(est).__name__
    X, y = (X_REG, Y_REG / 100) if is_reg else (X_CLF, Y3)
    model = make_pipeline(StandardScaler(), clone(est)).fit(X, y)
    auto, lower = _check_order(model, X, np.random.default_rng(0))
    assert lower > 0


# -------------------------------------------------------- brute force ReLU


def test_one_hidden_relu_bound_dominates_all_activation_patterns():
    rng = np.random.default_rng(4)
    for h in range(1, 13):
        for _ in range(2):
            d, k = rng.integers(1, 7, size=2)
            W1, W2 = rng.standard_normal((d, h)), rng.standard_normal((h, k))
            net = Network([W1, W2], [rng.standard_normal(h), np.zeros(k)], "relu")
            patterns = np.array(list(itertools.product([0.0, 1.0], repeat=h)))
            # Row convention: the Jacobian transpose is W1 diag(D) W2.
            jac_t = (W1[None] * patterns[:, None, :]) @ W2
            brute = np.linalg.norm(jac_t, 2, axis=(1, 2)).max()
            for method in ("spectral", "combettes-pesquet", "auto"):
                assert lipschitz_bound(net, method=method) >= brute
            X = rng.standard_normal((16, d))
            assert lipschitz_lower_bound(net, X, random_state=0) <= brute * (1 + 1e-12)


# ----------------------------------------------------- pipeline composition


@pytest.mark.parametrize("cls", [MLPClassifier, LipschitzMLPClassifier])
def test_standard_scaler_pipeline_equals_hand_composition(cls):
    X = X_CLF * np.array([1, 10, 0.1, 3, 5, 0.5]) + 2
    pipe = make_pipeline(StandardScaler(), cls((6, 5), max_iter=30, random_state=0))
    pipe.fit(X, Y3)
    scaler, mlp = pipe
    W1 = mlp.coefs_[0] / scaler.scale_[:, None]
    b1 = mlp.intercepts_[0] - (scaler.mean_ / scaler.scale_) @ mlp.coefs_[0]
    hand = Network([W1, *mlp.coefs_[1:]], [b1, *mlp.intercepts_[1:]], mlp.activation)
    np.testing.assert_allclose(as_network(pipe).forward(X), hand.forward(X), rtol=1e-10)
    for method in ("frobenius", "spectral", "combettes-pesquet", "auto"):
        np.testing.assert_allclose(
            lipschitz_bound(pipe, method=method),
            lipschitz_bound(hand, method=method),
            rtol=1e-12,
        )


# ---------------------------------------------------------------- soundness


def test_no_sampled_pair_exceeds_the_bound():
    rng = np.random.default_rng(5)
    for _ in range(60):
        net = random_network(rng)
        bound = lipschitz_bound(net)
        d = net.n_features_in
        X1 = rng.standard_normal((300, d)) * 3
        # Far pairs and near pairs (where the local slope dominates).
        scale = np.where(np.arange(300) < 150, 3.0, 1e-3)[:, None]
        X2 = X1 + scale * rng.standard_normal((300, d))
        num = np.linalg.norm(net.forward(X1) - net.forward(X2), axis=1)
        den = np.linalg.norm(X1 - X2, axis=1)
        assert np.all(num <= bound * den * (1 + 1e-9) + 1e-12)


def test_soundness_on_fitted_pipeline():
    pipe = make_pipeline(
        MinMaxScaler(),
        LipschitzMLPRegressor(hidden_layer_sizes=(16, 8), max_iter=30, random_state=0),
    )
    pipe.fit(X_REG, Y_REG / 100)
    rng = np.random.default_rng(6)
    X1 = X_REG[rng.integers(0, 80, 500)]
    X2 = X1 + rng.standard_normal(X1.shape) * rng.uniform(1e-2, 3, size=(500, 1))
    ratio = np.abs(pipe.predict(X1) - pipe.predict(X2)) / np.linalg.norm(
        X1 - X2, axis=1
    )
    assert ratio.max() <= lipschitz_bound(pipe)


# ------------------------------------------------------------------ pairwise


def test_pairwise_linear_is_exact():
    model = LogisticRegression().fit(X_CLF, Y3)
    K = pairwise_lipschitz_bounds(model)
    W = model.coef_
    expected = np.linalg.norm(W[:, None, :] - W[None, :, :], axis=2)
    np.testing.assert_allclose(K, expected, rtol=1e-10, atol=0)


def test_pairwise_matches_difference_networks():
    rng = np.random.default_rng(7)
    for _ in range(60):
        net = random_network(rng)
        k = net.n_outputs
        if k < 2:
            continue
        X = rng.standard_normal((10, net.n_features_in))
        Ks = {
            m: pairwise_lipschitz_bounds(net, method=m)
            for m in ("frobenius", "spectral", "combettes-pesquet", "auto")
        }
        for K in Ks.values():
            np.testing.assert_array_equal(K, K.T)
            np.testing.assert_array_equal(np.diag(K), 0)
        tol = 1 + 1e-12
        assert np.all(Ks["frobenius"] * tol >= Ks["spectral"])
        assert np.all(Ks["spectral"] * tol >= Ks["combettes-pesquet"])
        assert np.all(Ks["auto"] <= Ks["combettes-pesquet"])
        assert np.all(Ks["auto"] <= np.sqrt(2) * lipschitz_bound(net) * tol)
        for i, j in itertools.combinations(range(k), 2):
            W_last = net.coefs[-1][:, [i]] - net.coefs[-1][:, [j]]
            diff = Network(
                [*net.coefs[:-1], W_last],
                [*net.intercepts[:-1], np.zeros(1)],
                net.activation,
            )
            for method in ("frobenius", "spectral", "combettes-pesquet"):
                expected = min(
                    lipschitz_bound(diff, method=method),
                    np.sqrt(2) * lipschitz_bound(net, method=method),
                )
                np.testing.assert_allclose(Ks[method][i, j], expected, rtol=1e-9)
            lower = lipschitz_lower_bound(
                diff, X, n_restarts=2, n_iter=4, random_state=0
            )
            assert Ks["auto"][i, j] >= lower


def test_pairwise_binary_is_two_by_two():
    model = MLPClassifier((4,), max_iter=20, random_state=0).fit(X_CLF, Y3 == 1)
    K = pairwise_lipschitz_bounds(model, method="spectral")
    L = lipschitz_bound(model, method="spectral")
    np.testing.assert_array_equal(K, [[0, L], [L, 0]])


@pytest.mark.parametrize(
    "model",
    [
        MLPRegressor(hidden_layer_sizes=(3,), max_iter=5, random_state=0).fit(
            X_REG, Y_REG
        ),
        MLPClassifier((3,), max_iter=5, random_state=0).fit(
            X_CLF, np.column_stack([Y3 == 0, Y3 == 1])
        ),
    ],
    ids=["regressor", "multilabel"],
)
def test_pairwise_rejects_non_multiclass(model):
    with pytest.raises(ValueError, match="binary or multiclass classifier"):
        pairwise_lipschitz_bounds(model)


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize("func", [lipschitz_bound, pairwise_lipschitz_bounds])
@pytest.mark.parametrize("method", ["exact", "Spectral", None, 2])
def test_unknown_method(func, method):
    model = LogisticRegression().fit(X_CLF, Y3)
    with pytest.raises(
        ValueError,
        match=(
            r"'method' parameter of \w+ must be a str among "
            r"\{'auto', 'frobenius', 'spectral', 'combettes-pesquet'\}"
        ),
    ):
        func(model, method=method)
