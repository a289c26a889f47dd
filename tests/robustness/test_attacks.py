"""Invariants of perturb(): norms, clipping, no mutation, reproducibility,
keep-the-worst bookkeeping and clear errors."""

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.neural_network import MLPClassifier
from sklearn.tree import DecisionTreeClassifier

from sklip import LipschitzMLPRegressor
from sklip.lipschitz import as_network
from sklip.robustness import (
    certified_max_output_deviation,
    perturb,
    prediction_stability,
)
from sklip.robustness._objectives import make_objective

from .._helpers import norms
from .._robustness_models import (
    blobs,
    classifiers,
    digits,
    logreg,
    mlp_digits,
    mlp_multi,
    mlp_regressor,
    regression,
    ridge,
)

CLASSIFIERS = classifiers()
IDS = [c[0] for c in CLASSIFIERS]
NORMS = [2, np.inf]


def _loss(model, X_adv, X, y=None):
    """The attack's own per-sample loss (larger = worse for the model)."""
    net = as_network(model)
    return make_objective(model, net, X, y)(net.forward(X_adv))


ALL_ATTACKS = [
    "noise",
    "fgsm",
    "pgd",
    "apgd-ce",
    "apgd-dlr",
    "apgd-t",
    "square",
    "auto",
]


@pytest.mark.parametrize("case", CLASSIFIERS, ids=IDS)
@pytest.mark.parametrize("attack", ALL_ATTACKS)
@pytest.mark.parametrize("norm", NORMS)
def test_perturbation_within_ball_and_input_untouched(case, attack, norm):
    _, model, X, y = case
    X_before = X.copy()
    eps = 0.7
    X_adv = perturb(model, X, y, eps=eps, attack=attack, norm=norm, random_state=0)
    assert X_adv.shape == X.shape and X_adv is not X
    assert np.all(norms(X_adv - X, norm) <= eps + 1e-12)
    np.testing.assert_array_equal(X, X_before)
    if attack == "noise" and norm == 2:
        # Noise lies on the sphere, not inside it.
        np.testing.assert_allclose(norms(X_adv - X, norm), eps, rtol=1e-12)


@pytest.mark.parametrize("attack", ALL_ATTACKS)
@pytest.mark.parametrize("norm", NORMS)
def test_clip_respected_with_scalar_and_per_feature_bounds(attack, norm):
    X, y = digits()
    model = mlp_digits()
    for clip in [(0.0, 16.0), (np.zeros(64), np.full(64, 16.0))]:
        X_adv = perturb(
            model,
            X,
            y,
            eps=3.0,
            attack=attack,
            norm=norm,
            clip=clip,
            n_queries=200,
            random_state=1,
        )
        assert X_adv.min() >= 0.0 and X_adv.max() <= 16.0
        assert np.all(norms(X_adv - X, norm) <= 3.0 + 1e-12)
    # Pixels at 0 or 16 cannot move outward, so clipping must bind somewhere.
    free = perturb(
        model, X, y, eps=3.0, attack=attack, norm=norm, n_queries=200, random_state=1
    )
    assert free.min() < 0.0 or free.max() > 16.0


@pytest.mark.parametrize("attack", ALL_ATTACKS)
def test_eps_zero_returns_a_copy_of_X(attack):
    X, y = blobs(2)
    X_adv = perturb(logreg(), X, y, eps=0.0, attack=attack)
    np.testing.assert_array_equal(X_adv, X)
    X_adv[0, 0] += 1.0
    assert X_adv[0, 0] != X[0, 0]


def test_list_and_float32_inputs_are_accepted_and_untouched():
    X, y = blobs(2)
    X32 = X.astype(np.float32)
    before = X32.copy()
    a = perturb(logreg(), X32, y, eps=0.3, random_state=0)
    b = perturb(logreg(), X32.tolist(), y, eps=0.3, random_state=0)
    np.testing.assert_array_equal(X32, before)
    np.testing.assert_array_equal(a, b)
    assert a.dtype == np.float64


@pytest.mark.parametrize("attack", ["noise", "pgd"])
def test_reproducible_for_fixed_random_state(attack):
    X, y = digits()
    kw = dict(eps=1.0, attack=attack, n_restarts=2, n_iter=5)
    a = perturb(mlp_digits(), X, y, random_state=3, **kw)
    b = perturb(mlp_digits(), X, y, random_state=3, **kw)
    c = perturb(mlp_digits(), X, y, random_state=4, **kw)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


@pytest.mark.parametrize("case", CLASSIFIERS, ids=IDS)
@pytest.mark.parametrize("norm", NORMS)
def test_pgd_from_fgsm_point_finds_at_least_what_fgsm_finds(case, norm):
    _, model, X, y = case
    eps = 0.5
    X_fgsm = perturb(model, X, y, eps=eps, attack="fgsm", norm=norm)
    X_pgd = perturb(
        model, X, y, eps=eps, attack="pgd", norm=norm, random_state=0, _start=X_fgsm
    )
    # Tolerance: the attack and this check evaluate the network through
    # different BLAS calls, whose roundings differ by ~1e-15.
    assert np.all(_loss(model, X_pgd, X, y) >= _loss(model, X_fgsm, X, y) - 1e-10)
    fooled_fgsm = model.predict(X_fgsm) != y
    fooled_pgd = model.predict(X_pgd) != y
    assert np.all(fooled_pgd[fooled_fgsm])


@pytest.mark.parametrize("norm", NORMS)
def test_pgd_keeps_the_worst_iterate_and_restart(norm):
    """More iterations (same steps, so the short run's iterates are a prefix)
    and more restarts (the first restart is the same draw) can only find a
    worse point, per sample: only true if the worst, not the last, is kept."""
    X, y = digits()
    model = mlp_digits()
    kw = dict(eps=1.5, norm=norm, attack="pgd", step_size=0.4, random_state=0)
    short = _loss(model, perturb(model, X, y, n_iter=5, **kw), X, y)
    long = _loss(model, perturb(model, X, y, n_iter=15, **kw), X, y)
    more = _loss(model, perturb(model, X, y, n_iter=5, n_restarts=3, **kw), X, y)
    assert np.all(long >= short - 1e-10) and np.all(more >= short - 1e-10)
    # A large step overshoots, so the last iterate is often not the worst.
    assert np.any(long > short)


def test_y_none_attacks_own_predictions():
    X, y = digits()
    model = mlp_digits()
    own = model.predict(X)
    a = perturb(model, X, eps=1.0, random_state=0)
    b = perturb(model, X, own, eps=1.0, random_state=0)
    np.testing.assert_array_equal(a, b)


def test_string_labels_are_mapped_through_classes():
    X, y = blobs(3)
    names = np.array(["cat", "dog", "emu"])[y]
    model = MLPClassifier((8,), max_iter=500, random_state=0).fit(X, names)
    ref = mlp_multi()  # the same network fitted on the integer labels
    a = perturb(model, X, names, eps=0.5, random_state=0)
    b = perturb(ref, X, y, eps=0.5, random_state=0)
    np.testing.assert_allclose(a, b)
    with pytest.raises(ValueError, match="not in the estimator's classes_"):
        perturb(model, X, np.where(names == "emu", "gnu", names), eps=0.5)


def test_binary_linear_fgsm_is_the_exact_attack():
    """For a linear binary model the L2 FGSM step moves straight to the
    boundary: it flips exactly the correct samples closer than eps."""
    X, y = blobs(2)
    model = logreg()
    w, b = model.coef_[0], model.intercept_[0]
    dist = np.abs(X @ w + b) / np.linalg.norm(w)
    correct = model.predict(X) == y
    eps = np.median(dist)
    X_adv = perturb(model, X, y, eps=eps, attack="fgsm")
    flipped = model.predict(X_adv) != y
    far = np.abs(dist - eps) > 1e-9
    np.testing.assert_array_equal(flipped[correct & far], (dist < eps)[correct & far])


@pytest.mark.parametrize("attack", ["fgsm", "pgd", "apgd-ce", "square", "auto"])
def test_regressor_attack_increases_error(attack):
    X, y = regression()
    for model in (mlp_regressor(), ridge()):
        base = (model.predict(X) - y) ** 2
        X_adv = perturb(model, X, y, eps=0.3, attack=attack, random_state=0)
        assert np.all((model.predict(X_adv) - y) ** 2 >= base - 1e-12)
        # y=None: deviation from the clean prediction, nonzero even for FGSM
        # whose squared-error gradient vanishes at the clean point.
        X_dev = perturb(model, X, eps=0.3, attack=attack, random_state=0)
        assert np.all(np.abs(model.predict(X_dev) - model.predict(X)) > 0)


def test_noise_attack_is_black_box():
    X, y = blobs(2)
    tree = DecisionTreeClassifier(random_state=0).fit(X, y)
    X_adv = perturb(tree, X, y, eps=0.5, attack="noise", n_restarts=3, random_state=0)
    assert np.all(norms(X_adv - X, 2) <= 0.5 + 1e-12)
    with pytest.raises(TypeError, match="attack='auto'"):
        perturb(tree, X, y, eps=0.5, attack="pgd")


def test_noise_restarts_keep_a_fooling_draw():
    X, y = digits()
    model = mlp_digits()
    one = model.predict(perturb(model, X, y, eps=4.0, attack="noise", random_state=0))
    many = model.predict(
        perturb(model, X, y, eps=4.0, attack="noise", n_restarts=8, random_state=0)
    )
    # The first draw is shared, so every sample fooled by it stays fooled.
    assert np.all((many != y)[one != y])


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(eps=-0.1), "eps"),
        (dict(eps=np.nan), "eps"),
        (dict(eps="big"), "eps"),
        (dict(eps=0.1, attack="cw"), "attack"),
        (dict(eps=0.1, norm=1), "norm"),
        (dict(eps=0.1, norm="inf"), "norm"),
        (dict(eps=0.1, n_iter=0), "n_iter"),
        (dict(eps=0.1, n_restarts=0), "n_restarts"),
        (dict(eps=0.1, step_size=-1.0), "step_size"),
        (dict(eps=0.1, clip=(0.0,)), "clip"),
        (dict(eps=0.1, clip=(0.0, -1.0)), "clip"),
        (dict(eps=0.1, clip=(0.0, 1.0)), "clip bounds exclude X"),
        (dict(eps=0.1, clip=(np.zeros(3), np.ones(3))), "clip"),
        (dict(eps=0.1, random_state="seed"), "random_state"),
    ],
)
def test_bad_parameters_raise_naming_the_parameter(kwargs, match):
    X, y = blobs(2)
    err = TypeError if kwargs.get("eps") == "big" else ValueError
    with pytest.raises(err, match=match):
        perturb(logreg(), X, y, **kwargs)


def test_bad_data_raise():
    X, y = blobs(2)
    with pytest.raises(ValueError, match="y has 199 samples but X has 200"):
        perturb(logreg(), X, y[:-1], eps=0.1)
    with pytest.raises(ValueError, match="features"):
        perturb(logreg(), X[:, :3], y, eps=0.1)
    with pytest.raises(NotFittedError):
        perturb(clone(logreg()), X, y, eps=0.1)


def test_poisson_regressor_attacks_the_prediction_not_the_log():
    X, y = regression()
    counts = np.round(np.exp(y))
    model = LipschitzMLPRegressor(
        loss="poisson",
        hidden_layer_sizes=(8,),
        solver="lbfgs",
        max_iter=200,
        random_state=0,
    ).fit(X, counts)
    base = (model.predict(X) - counts) ** 2
    X_adv = perturb(model, X, counts, eps=0.3, random_state=0)
    assert np.all((model.predict(X_adv) - counts) ** 2 >= base - 1e-9)
    assert np.mean((model.predict(X_adv) - counts) ** 2) > np.mean(base)
    X_dev = perturb(model, X, eps=0.3, attack="fgsm")
    assert np.all(np.abs(model.predict(X_dev) - model.predict(X)) > 0)
    with pytest.raises(ValueError, match="Poisson"):
        certified_max_output_deviation(model, eps=0.3)


def test_multilabel_classifiers_are_rejected():
    X, y = blobs(3)
    Y = np.eye(3, dtype=int)[y]
    Y[:, 0] |= y == 1
    model = MLPClassifier((8,), max_iter=200, random_state=0).fit(X, Y)
    with pytest.raises(ValueError, match="[Mm]ultilabel"):
        perturb(model, X, eps=0.3)
    with pytest.raises(ValueError, match="[Mm]ultilabel"):
        prediction_stability(model, X, eps=0.3, attack="noise")
