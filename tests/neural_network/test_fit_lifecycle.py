"""What a fit starts from and leaves behind: given weights, partial_fit
classes, failed calls, extreme sample weights, the early-stopping split."""

import copy

import numpy as np
import pytest
from scipy.special import expit
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier

from sklip import LipschitzMLPClassifier, LipschitzMLPRegressor

pytestmark = pytest.mark.filterwarnings("ignore", category=ConvergenceWarning)
PENALTIES = ["none", "frobenius", "spectral"]


def _given_weights(seed=0, n_in=3, n_hidden=4):
    rng = np.random.default_rng(seed)
    coefs = [rng.normal(size=(n_in, n_hidden)), rng.normal(size=(n_hidden, 1))]
    intercepts = [rng.normal(size=n_hidden), rng.normal(size=1)]
    return coefs, intercepts


def _binary_data(seed=1, n=20, n_in=3):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, n_in))
    y = (X[:, 0] + 0.3 * rng.normal(size=n) > 0).astype(int)
    return X, y


def _penalty_value_and_grads(coefs, penalty, scale):
    """``scale * R(W)`` and its gradients, from exact norms (the oracle)."""
    value, grads = 0.0, []
    for W in coefs:
        if penalty == "frobenius":
            value += 0.5 * scale * np.sum(W * W)
            grads.append(scale * W)
        elif penalty == "spectral":
            U, s, Vt = np.linalg.svd(W)
            value += 0.5 * scale * s[0] ** 2
            grads.append(scale * s[0] * np.outer(U[:, 0], Vt[0]))
        else:
            grads.append(np.zeros_like(W))
    return value, grads


def _objective_by_hand(coefs, intercepts, X, y, penalty, alpha):
    """Binary log-loss of a tanh network plus the penalty, and the
    coefficient gradients, written out for one hidden layer."""
    (W1, W2), (b1, b2) = coefs, intercepts
    n = X.shape[0]
    H = np.tanh(X @ W1 + b1)
    p = expit(H @ W2 + b2).ravel()
    loss = -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))
    d = ((p - y) / n)[:, None]
    g2 = H.T @ d
    g1 = X.T @ ((d @ W2.T) * (1 - H**2))
    value, pen_grads = _penalty_value_and_grads(coefs, penalty, alpha / n)
    return loss + value, [g1 + pen_grads[0], g2 + pen_grads[1]]


# ---------------------------------------------------------------------------
# Weights given by hand (or by another tool)


@pytest.mark.parametrize("penalty", PENALTIES)
def test_partial_fit_takes_one_exact_sgd_step_from_weights_set_by_hand(penalty):
    X, y = _binary_data()
    coefs, intercepts = _given_weights()
    alpha, lr = 2.0, 0.1
    clf = LipschitzMLPClassifier(
        hidden_layer_sizes=(4,),
        activation="tanh",
        solver="sgd",
        penalty=penalty,
        alpha=alpha,
        learning_rate_init=lr,
        momentum=0.0,
        batch_size=X.shape[0],
        shuffle=False,
        random_state=0,
    )
    clf.coefs_ = [W.copy() for W in coefs]
    clf.intercepts_ = [b.copy() for b in intercepts]
    clf.partial_fit(X, y, classes=[0, 1])

    _, grads = _objective_by_hand(coefs, intercepts, X, y, penalty, alpha)
    for W, G, W_new in zip(coefs, grads, clf.coefs_):
        np.testing.assert_allclose(W_new, W - lr * G, rtol=1e-10, atol=1e-12)
    assert clf.n_iter_ == 1 and clf.t_ == X.shape[0]
    assert clf.n_layers_ == 3 and clf.out_activation_ == "logistic"
    # A second call keeps going from the state the first one built.
    clf.partial_fit(X, y)
    assert clf.t_ == 2 * X.shape[0] and len(clf.loss_curve_) == 2


@pytest.mark.parametrize("penalty", PENALTIES)
def test_warm_start_first_epoch_loss_is_the_objective_at_the_given_weights(penalty):
    X, y = _binary_data()
    coefs, intercepts = _given_weights(seed=3)
    alpha = 3.0
    clf = LipschitzMLPClassifier(
        hidden_layer_sizes=(4,),
        activation="tanh",
        solver="adam",
        penalty=penalty,
        alpha=alpha,
        batch_size=X.shape[0],
        max_iter=1,
        warm_start=True,
        random_state=0,
    )
    clf.coefs_, clf.intercepts_ = coefs, intercepts
    clf.fit(X, y)
    expected, _ = _objective_by_hand(coefs, intercepts, X, y, penalty, alpha)
    # One batch per epoch: the epoch loss is the objective before the step.
    # A spectral penalty read from unconverged power vectors would be lower.
    np.testing.assert_allclose(clf.loss_curve_[0], expected, rtol=1e-12)
    if penalty == "spectral":
        for W, (u, v) in zip(clf.coefs_, clf._power_vectors):
            np.testing.assert_allclose(abs(u @ W @ v), np.linalg.norm(W, 2), 1e-3)


def test_lbfgs_warm_start_continues_from_a_scikit_learn_model():
    X, y = make_classification(n_samples=80, n_features=5, random_state=0)
    params = dict(hidden_layer_sizes=(6,), alpha=1e-2, solver="lbfgs", max_iter=300)
    theirs = MLPClassifier(random_state=0, **params).fit(X, y)
    ours = LipschitzMLPClassifier(
        penalty="frobenius", warm_start=True, random_state=1, **params
    )
    ours.coefs_ = [W.copy() for W in theirs.coefs_]
    ours.intercepts_ = [b.copy() for b in theirs.intercepts_]
    ours.fit(X, y)
    # Same objective, started at scikit-learn's minimum: lbfgs only descends
    # from there (a cold start begins far above it).
    assert ours.loss_curve_[0] <= theirs.loss_ + 1e-12
    np.testing.assert_array_equal(ours.predict(X), theirs.predict(X))


def test_partial_fit_continues_a_scikit_learn_model_with_its_classes():
    X, y = make_classification(
        n_samples=60, n_features=5, n_informative=3, n_classes=3, random_state=0
    )
    y = np.array(["ant", "bee", "cat"])[y]
    # Plain SGD carries no optimizer state, so one more epoch from the same
    # weights is the same step in both libraries.
    params = dict(
        hidden_layer_sizes=(5,),
        solver="sgd",
        momentum=0.0,
        batch_size=60,
        shuffle=False,
        learning_rate_init=0.1,
        alpha=1e-3,
        random_state=0,
    )
    theirs = MLPClassifier(max_iter=20, **params).fit(X, y)
    ours = LipschitzMLPClassifier(penalty="frobenius", **params)
    ours.coefs_ = [W.copy() for W in theirs.coefs_]
    ours.intercepts_ = [b.copy() for b in theirs.intercepts_]
    ours.classes_ = theirs.classes_.copy()
    ours.n_features_in_ = 5
    ours.partial_fit(X, y)  # classes_ given: no classes= needed
    theirs.partial_fit(X, y)
    for a, b in zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)
    assert ours.out_activation_ == "softmax"
    np.testing.assert_array_equal(ours.predict(X), theirs.predict(X))


def test_switching_to_the_spectral_penalty_starts_from_the_exact_singular_pair():
    X, y = _binary_data(n=30)
    clf = LipschitzMLPClassifier(
        hidden_layer_sizes=(4,), penalty="frobenius", max_iter=5, random_state=0
    ).fit(X, y)
    assert clf._power_vectors is None
    clf.set_params(penalty="spectral", warm_start=True, max_iter=1)
    before = [W.copy() for W in clf.coefs_]
    clf.fit(X, y)
    # The vectors start at the top pair of the given weights; one small Adam
    # step later they still are (random vectors would not be).
    for W, (u, v) in zip(before, clf._power_vectors):
        U, s, Vt = np.linalg.svd(W)
        assert abs(u @ U[:, 0]) > 0.999 and abs(v @ Vt[0]) > 0.999


@pytest.mark.parametrize(
    "mutate, match",
    [
        (lambda m: m.intercepts_.__setitem__(0, np.zeros(5)), "shapes"),
        (lambda m: m.coefs_[0].__setitem__((0, 0), np.nan), "finite"),
        (lambda m: m.__delattr__("intercepts_"), "intercepts_"),
    ],
)
def test_inconsistent_given_weights_are_a_clear_error(mutate, match):
    X, y = _binary_data()
    clf = LipschitzMLPClassifier(hidden_layer_sizes=(4,), solver="sgd")
    clf.coefs_, clf.intercepts_ = _given_weights()
    mutate(clf)
    with pytest.raises(ValueError, match=match):
        clf.partial_fit(X, y, classes=[0, 1])


# ---------------------------------------------------------------------------
# partial_fit classes


def _three_classes():
    X, y = make_classification(
        n_samples=90, n_features=4, n_informative=3, n_redundant=0, n_classes=3,
        random_state=0,
    )  # fmt: skip
    return X, y


def test_partial_fit_classes_fix_the_classes_on_the_first_call():
    X, y = _three_classes()
    clf = LipschitzMLPClassifier(hidden_layer_sizes=(5,), random_state=0)
    clf.partial_fit(X[y < 2], y[y < 2], classes=[0, 1, 2])
    np.testing.assert_array_equal(clf.classes_, [0, 1, 2])
    before = clf.predict_proba(X)
    assert before.shape == (90, 3)
    clf.partial_fit(X[y == 2], y[y == 2])  # announced, seen only now
    np.testing.assert_array_equal(clf.classes_, [0, 1, 2])
    # The step on the class-2 rows raises their class-2 probability.
    after = clf.predict_proba(X)
    assert after[y == 2, 2].mean() > before[y == 2, 2].mean()
    # A first batch of one class is fine when the classes were announced.
    one = LipschitzMLPClassifier(hidden_layer_sizes=(5,), random_state=0)
    one.partial_fit(X[y == 0], y[y == 0], classes=[0, 1, 2])
    assert one.out_activation_ == "softmax"


def test_partial_fit_classes_errors():
    X, y = _three_classes()
    clf = LipschitzMLPClassifier(hidden_layer_sizes=(5,), random_state=0)
    with pytest.raises(ValueError, match="classes must be passed"):
        clf.partial_fit(X, y)
    with pytest.raises(ValueError, match="classes not in"):
        clf.partial_fit(X, y, classes=[0, 1])
    assert not hasattr(clf, "classes_")  # the failed call left nothing
    clf.partial_fit(X, y, classes=[0, 1, 2])
    with pytest.raises(ValueError, match="not the same"):
        clf.partial_fit(X, y, classes=[0, 1, 2, 3])
    with pytest.raises(ValueError, match="at least 2 classes"):
        LipschitzMLPClassifier().partial_fit(X[y == 0], y[y == 0], classes=[0])


# ---------------------------------------------------------------------------
# A failed call leaves the model as it was


def _state(est):
    return copy.deepcopy({k: v for k, v in vars(est).items() if k.endswith("_")})


def _assert_same_state(a, b):
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_equal(a[k], b[k], err_msg=k)


def _nan_X(X, y, sw):
    X = X.copy()
    X[3, 1] = np.nan
    return X, y, sw


def _negative_weight(X, y, sw):
    sw = np.ones(len(y))
    sw[0] = -1
    return X, y, sw


def _diverge(X, y, sw):
    return 1e300 * X, y, sw  # the loss overflows at once


@pytest.mark.parametrize(
    "Estimator, failure",
    [
        (LipschitzMLPClassifier, _nan_X),
        (LipschitzMLPClassifier, _negative_weight),
        (LipschitzMLPRegressor, _nan_X),
        (LipschitzMLPRegressor, _negative_weight),
        # The classifier's clipped log-loss stays finite on such inputs.
        (LipschitzMLPRegressor, _diverge),
    ],
)
@pytest.mark.parametrize("call", ["fit", "warm_start", "partial_fit"])
def test_a_failed_call_keeps_the_fitted_model(Estimator, failure, call):
    X, y = _binary_data(n=40)
    est = Estimator(
        hidden_layer_sizes=(4,),
        solver="sgd",
        learning_rate_init=0.5,
        penalty="spectral",
        max_iter=3,
        random_state=0,
    ).fit(X, y)
    est.set_params(warm_start=call == "warm_start")
    before = _state(est)
    pred = est.predict(X)
    bad = failure(X, y, None)
    method = est.partial_fit if call == "partial_fit" else est.fit
    with pytest.raises(ValueError):
        method(bad[0], bad[1], sample_weight=bad[2])
    _assert_same_state(before, _state(est))
    np.testing.assert_array_equal(est.predict(X), pred)
    # Training continues exactly as if the failed call had not happened
    # (optimizer state and power vectors included).
    twin = Estimator(**est.get_params()).set_params(warm_start=False).fit(X, y)
    est.partial_fit(X, y)
    twin.partial_fit(X, y)
    np.testing.assert_array_equal(est.coefs_[0], twin.coefs_[0])


@pytest.mark.parametrize("width", [4, 70])  # dense SVD, Lanczos (svds)
def test_lbfgs_spectral_on_huge_inputs_is_a_clear_error(width):
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(40, width)), rng.normal(size=40)
    reg = LipschitzMLPRegressor(
        hidden_layer_sizes=(width,),
        solver="lbfgs",
        penalty="spectral",
        max_iter=5,
        random_state=0,
    ).fit(X, y)
    coefs = [W.copy() for W in reg.coefs_]
    with pytest.raises(ValueError, match="Scale the input features"):
        reg.fit(1e150 * X, y)
    np.testing.assert_array_equal(reg.coefs_[0], coefs[0])


@pytest.mark.parametrize("solver", ["lbfgs", "sgd"])
def test_a_loss_not_finite_before_any_step_blames_the_data(solver):
    X, y = _binary_data(n=40)
    reg = LipschitzMLPRegressor(hidden_layer_sizes=(4,), solver=solver)
    with pytest.raises(ValueError, match="before any step") as info:
        reg.fit(1e300 * X, y)
    assert "learning_rate_init" not in str(info.value)
    assert "StandardScaler" in str(info.value)


# ---------------------------------------------------------------------------
# Sample weights near the ends of the float range


@pytest.mark.parametrize("solver", ["lbfgs", "adam"])
@pytest.mark.parametrize("penalty", PENALTIES)
@pytest.mark.parametrize("exponent", [-700, 600])
def test_scaling_sample_weight_by_a_power_of_two_changes_nothing_but_alpha(
    solver, penalty, exponent
):
    X, y = _binary_data(n=40)
    sw = np.random.default_rng(0).uniform(0.5, 2.0, size=len(y))
    params = dict(hidden_layer_sizes=(4,), solver=solver, penalty=penalty, max_iter=5)
    ref = LipschitzMLPClassifier(alpha=0.3, random_state=0, **params)
    ref.fit(X, y, sample_weight=sw)
    # The penalty is alpha / sum(sample_weight): scale alpha with the weights.
    est = LipschitzMLPClassifier(
        alpha=np.ldexp(0.3, exponent), random_state=0, **params
    ).fit(X, y, sample_weight=np.ldexp(sw, exponent))
    for a, b in zip(ref.coefs_, est.coefs_):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(ref.loss_curve_, est.loss_curve_)


@pytest.mark.parametrize(
    "certified", [{"lipschitz_margin": 0.1}, {"max_lipschitz": 2.0}]
)
def test_scaling_sample_weight_is_exact_with_certified_training(certified):
    X, y = _binary_data(n=40)
    sw = np.random.default_rng(0).uniform(0.5, 2.0, size=len(y))
    params = dict(hidden_layer_sizes=(4,), max_iter=5, random_state=0, **certified)
    ref = LipschitzMLPClassifier(alpha=0.3, **params).fit(X, y, sample_weight=sw)
    est = LipschitzMLPClassifier(alpha=np.ldexp(0.3, 600), **params)
    est.fit(X, y, sample_weight=np.ldexp(sw, 600))
    np.testing.assert_array_equal(ref.coefs_[0], est.coefs_[0])


@pytest.mark.parametrize("solver", ["lbfgs", "sgd"])
@pytest.mark.parametrize("weight", [1e308, 1e-320])
def test_extreme_uniform_sample_weights_train_as_unweighted(solver, weight):
    X, y = _binary_data(n=40)
    params = dict(hidden_layer_sizes=(4,), solver=solver, penalty="none", max_iter=5)
    ref = LipschitzMLPClassifier(random_state=0, **params).fit(X, y)
    est = LipschitzMLPClassifier(random_state=0, **params)
    est.fit(X, y, sample_weight=np.full(len(y), weight))
    np.testing.assert_allclose(est.coefs_[0], ref.coefs_[0], rtol=1e-9)


def test_sample_weights_too_small_for_the_penalty_are_a_clear_error():
    X, y = _binary_data(n=40)
    clf = LipschitzMLPClassifier(hidden_layer_sizes=(4,), penalty="spectral")
    with pytest.raises(ValueError, match=r"sample_weight is too small.*alpha"):
        clf.fit(X, y, sample_weight=np.full(len(y), 1e-320))
    assert not hasattr(clf, "coefs_")


# ---------------------------------------------------------------------------
# The early-stopping validation split


@pytest.mark.parametrize(
    "validation_fraction, part",
    # 2 weighted samples of 60: with random_state=0 both land in training at
    # 10% validation and both in validation at 90%.
    [(0.1, "validation"), (0.9, "training")],
)
def test_early_stopping_with_a_weightless_split_is_a_clear_error(
    validation_fraction, part
):
    X, y = _binary_data(n=60)
    sw = np.zeros(len(y))
    sw[:2] = 1.0
    clf = LipschitzMLPClassifier(
        hidden_layer_sizes=(4,),
        early_stopping=True,
        validation_fraction=validation_fraction,
        max_iter=30,
        random_state=0,
    )
    with pytest.raises(ValueError, match=rf"{part} split.*zero sample_weight"):
        clf.fit(X, y, sample_weight=sw)
    assert not hasattr(clf, "coefs_")
    # With weight on both sides the same split trains and scores normally.
    clf.fit(X, y, sample_weight=np.ones(len(y)))
    assert max(clf.validation_scores_) > 0


@pytest.mark.parametrize(
    "y, named",
    [
        (["a"] * 10 + ["b"] * 10 + ["c"], r"\['c'\]"),
        ([0] * 20 + [1], r"\['True'\].*True is class 1"),
    ],
)
def test_early_stopping_names_the_class_too_small_to_stratify(y, named):
    X = np.random.default_rng(0).normal(size=(len(y), 3))
    clf = LipschitzMLPClassifier(early_stopping=True)
    with pytest.raises(ValueError, match=r"least populated classes.*" + named):
        clf.fit(X, np.array(y))
