"""The spectral penalty controls what it claims to control."""

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning

from sklip import LipschitzMLPClassifier, LipschitzMLPRegressor
from sklip.neural_network._penalties import power_iteration

pytestmark = pytest.mark.filterwarnings("ignore", category=ConvergenceWarning)


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X / 16, y


def _fit(digits, penalty, alpha):
    X, y = digits
    return LipschitzMLPClassifier(
        hidden_layer_sizes=(32,),
        penalty=penalty,
        alpha=alpha,
        max_iter=60,
        random_state=0,
    ).fit(X, y)


def _spectral_product(est):
    return np.prod([np.linalg.norm(W, 2) for W in est.coefs_])


def _stable_ranks(est):
    return [np.linalg.norm(W) ** 2 / np.linalg.norm(W, 2) ** 2 for W in est.coefs_]


def test_increasing_alpha_decreases_the_spectral_product(digits):
    products = [_spectral_product(_fit(digits, "spectral", a)) for a in (1e-3, 1, 10)]
    assert products[0] > products[1] > products[2]


def test_spectral_penalty_keeps_a_higher_stable_rank_than_frobenius(digits):
    spectral = _stable_ranks(_fit(digits, "spectral", 10.0))
    frobenius = _stable_ranks(_fit(digits, "frobenius", 10.0))
    # It shrinks the top of the spectrum, not all of it.
    assert all(s > f for s, f in zip(spectral, frobenius))


def test_penalty_none_ignores_alpha(digits):
    a = _fit(digits, "none", 0.0)
    b = _fit(digits, "none", 50.0)
    for Wa, Wb in zip(a.coefs_, b.coefs_):
        np.testing.assert_array_equal(Wa, Wb)


def test_power_iteration_tracks_the_exact_norm_during_training(digits):
    est = _fit(digits, "spectral", 1.0)
    for W, (u, v) in zip(est.coefs_, est._power_vectors):
        exact = np.linalg.norm(W, 2)
        estimate = power_iteration(W, u.copy(), v.copy(), 1)
        # A Rayleigh quotient never exceeds sigma; warm-started, it stays
        # close even though the penalty clusters the top singular values.
        assert 0.95 * exact <= estimate <= exact * (1 + 1e-12)


def test_power_iteration_converges_to_the_top_singular_pair():
    rng = np.random.default_rng(0)
    W = rng.standard_normal((50, 30))
    u = rng.standard_normal(50)
    u /= np.linalg.norm(u)
    v = np.zeros(30)
    one_step = power_iteration(W, u.copy(), v.copy(), 1)
    sigma = power_iteration(W, u, v, 500)
    assert sigma == pytest.approx(np.linalg.norm(W, 2), rel=1e-8)
    assert u @ W @ v == pytest.approx(sigma, rel=1e-12)
    # From a cold start one step underestimates: never used for certificates.
    assert one_step < 0.95 * sigma


def test_power_vectors_persist_across_partial_fit_and_warm_start(digits):
    X, y = digits
    est = LipschitzMLPClassifier(hidden_layer_sizes=(16,), random_state=0)
    est.partial_fit(X, y, classes=np.unique(y))
    first = [u.copy() for u, _ in est._power_vectors]
    est.partial_fit(X, y)
    second = [u for u, _ in est._power_vectors]
    for a, b in zip(first, second):
        # Continued from where the first call left them, not redrawn.
        assert abs(a @ b) > 0.9
        assert not np.array_equal(a, b)

    warm = LipschitzMLPClassifier(
        hidden_layer_sizes=(16,), max_iter=3, warm_start=True, random_state=0
    ).fit(X, y)
    u0 = warm._power_vectors[0][0].copy()
    warm.fit(X, y)
    # Warm-started vectors are already aligned: a refit moves them little.
    assert abs(u0 @ warm._power_vectors[0][0]) > 0.9


def test_power_vectors_come_from_random_state(digits):
    X, y = digits
    params = dict(hidden_layer_sizes=(8,), max_iter=2)
    a = LipschitzMLPClassifier(random_state=0, **params).fit(X, y)
    b = LipschitzMLPClassifier(random_state=0, **params).fit(X, y)
    c = LipschitzMLPClassifier(random_state=1, **params).fit(X, y)
    np.testing.assert_array_equal(a._power_vectors[0][0], b._power_vectors[0][0])
    assert not np.allclose(a._power_vectors[0][0], c._power_vectors[0][0])


@pytest.mark.parametrize("solver", ["lbfgs", "adam", "sgd"])
def test_spectral_penalty_shrinks_a_regressor(solver):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((100, 5))
    y = X @ rng.standard_normal(5) * 3
    params = dict(hidden_layer_sizes=(10,), solver=solver, max_iter=100, random_state=0)
    weak = LipschitzMLPRegressor(alpha=1e-4, **params).fit(X, y)
    strong = LipschitzMLPRegressor(alpha=100.0, **params).fit(X, y)
    assert _spectral_product(strong) < _spectral_product(weak)


@pytest.mark.parametrize("riding", [False, True])
def test_n_power_iterations_improves_the_estimate(riding):
    # From a poor pair, more steps per update give a better estimate, both
    # computed apart (lbfgs-free terms, margin) and riding in the GEMMs.
    from sklip._core.network import Network
    from sklip.neural_network._penalties import SpectralPenalty, SpectralTracker

    rng = np.random.default_rng(1)
    coefs = [rng.standard_normal((20, 30)), rng.standard_normal((30, 3))]
    net = Network(coefs, [np.zeros(30), np.zeros(3)])
    X = rng.standard_normal((65, 20))  # 64 rows and a spare one
    errors = []
    for k in (1, 20):
        start = np.random.default_rng(2)
        vectors = [
            (start.standard_normal(W.shape[0]), np.zeros(W.shape[1])) for W in coefs
        ]
        for u, _ in vectors:
            u /= np.linalg.norm(u)
        tracker = SpectralTracker(coefs, vectors, k)
        if riding:
            penalty = SpectralPenalty(tracker)
            acts, _ = net.allocate(65)
            penalty.begin(coefs, X, 64)
            net.forward(X, acts, rider=penalty)
        else:
            tracker.update(coefs)
        errors.append(abs(tracker.sigmas[0] - np.linalg.norm(coefs[0], 2)))
    assert errors[1] < 0.1 * errors[0]


@pytest.mark.parametrize(
    "dtype, magnitude",
    [(np.float64, m) for m in (1e-200, 1e-30, 1.0, 1e18, 1e200)]
    + [(np.float32, m) for m in (1e-30, 1.0, 1e18)],
)
def test_power_vectors_normalise_without_underflow_or_overflow(dtype, magnitude):
    # The squares of tiny or huge entries underflow or overflow; the norm
    # and the direction must not.
    from sklip.neural_network._penalties import _normalise

    x = np.array([3.0, -4.0, 0.0], dtype=dtype) * dtype(magnitude)
    out = np.empty_like(x)
    with np.errstate(over="ignore"):
        norm = _normalise(x, out=out)
    assert norm == pytest.approx(5 * magnitude, rel=1e-6)
    np.testing.assert_allclose(out, [0.6, -0.8, 0.0], rtol=1e-6)
    zero = np.zeros(3, dtype)
    assert _normalise(zero) == 0.0 and not zero.any()


@pytest.mark.parametrize(
    "shape", [(1, 1), (5, 3), (3, 5), (64, 64), (40, 90), (100, 70), (120, 150)]
)
@pytest.mark.parametrize("scale", [1e-150, 1.0, 1e150])
def test_exact_top_singular_pair_matches_the_spectral_norm(shape, scale):
    # Small matrices take the Gram eigenvector route, larger ones Lanczos;
    # both must give the exact norm and a consistent unit pair.
    from sklip.neural_network._penalties import exact_top_singular

    rng = np.random.default_rng(0)
    M = rng.standard_normal(shape) * scale
    u, v = np.zeros(shape[0]), np.zeros(shape[1])
    sigma = exact_top_singular(M, u, v)
    exact = np.linalg.norm(M / scale, 2) * scale
    assert sigma == pytest.approx(exact, rel=1e-12)
    assert np.linalg.norm(u) == pytest.approx(1.0, rel=1e-12)
    assert np.linalg.norm(v) == pytest.approx(1.0, rel=1e-12)
    assert (u @ (M / scale) @ v) * scale == pytest.approx(exact, rel=1e-10)
