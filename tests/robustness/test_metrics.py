"""Robustness metrics: clean limits, monotonicity, soundness of certificates
against strong attacks, and exactness on linear models."""

import warnings
from functools import lru_cache

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score, r2_score

from sklip import LipschitzMLPClassifier, LipschitzMLPRegressor
from sklip.lipschitz import as_network, lipschitz_bound
from sklip.robustness import (
    certified_accuracy,
    certified_max_output_deviation,
    certified_radius,
    max_output_deviation,
    perturb,
    prediction_stability,
    robust_accuracy,
    robust_r2,
)

from .._robustness_models import (
    blobs,
    digits,
    logreg,
    mlp_binary,
    mlp_digits,
    mlp_multi,
    mlp_regressor,
    regression,
    ridge,
    scaled_logreg,
)

EPS_GRID = [0.0, 0.2, 0.5, 1.0, 2.0, 4.0]


@pytest.mark.parametrize("attack", ["noise", "fgsm", "pgd"])
def test_eps_zero_gives_clean_scores(attack):
    X, y = digits()
    model = mlp_digits()
    w = np.random.default_rng(0).uniform(size=len(y))
    assert robust_accuracy(model, X, y, eps=0, attack=attack) == model.score(X, y)
    assert robust_accuracy(
        model, X, y, eps=0, attack=attack, sample_weight=w
    ) == pytest.approx(accuracy_score(y, model.predict(X), sample_weight=w))
    assert prediction_stability(model, X, eps=0, attack=attack) == 1.0
    Xr, yr = regression()
    reg = mlp_regressor()
    assert robust_r2(reg, Xr, yr, eps=0, attack=attack) == r2_score(yr, reg.predict(Xr))
    assert max_output_deviation(reg, Xr, eps=0, attack=attack) == 0.0


@pytest.mark.parametrize("attack", ["noise", "fgsm", "pgd"])
@pytest.mark.parametrize("norm", [2, np.inf])
def test_scores_monotone_in_eps_and_below_clean(attack, norm):
    X, y = digits()
    model = mlp_digits()
    grid = np.array(EPS_GRID) / (8 if norm == np.inf else 1)
    acc = robust_accuracy(
        model, X, y, eps=grid, attack=attack, norm=norm, random_state=0
    )
    assert acc.shape == grid.shape
    assert np.all(np.diff(acc) <= 0) and acc[0] == model.score(X, y)
    if attack != "noise":  # random noise barely hurts; gradients do
        assert acc[-1] < acc[0]  # the grid is wide enough to matter
    # Order of eps does not matter; the first positive radius equals a scalar
    # call (clean point and one attack).
    perm = np.array([3, 0, 5, 1, 4, 2])
    np.testing.assert_array_equal(
        robust_accuracy(
            model, X, y, eps=grid[perm], attack=attack, norm=norm, random_state=0
        ),
        acc[perm],
    )
    assert acc[1] == robust_accuracy(
        model, X, y, eps=grid[1], attack=attack, norm=norm, random_state=0
    )
    stab = prediction_stability(
        model, X, eps=grid, attack=attack, norm=norm, random_state=0
    )
    assert np.all(np.diff(stab) <= 0)
    Xr, yr = regression()
    reg = mlp_regressor()
    r2 = robust_r2(reg, Xr, yr, eps=grid, attack=attack, norm=norm, random_state=0)
    dev = max_output_deviation(
        reg, Xr, eps=grid, attack=attack, norm=norm, random_state=0
    )
    assert np.all(np.diff(r2) <= 0) and np.all(np.diff(dev) >= 0)


def test_scalar_pgd_monotone_on_a_linear_model():
    """For a linear model PGD solves the attack exactly, so even independent
    scalar calls are monotone in eps."""
    X, y = blobs(2)
    accs = [
        robust_accuracy(logreg(), X, y, eps=e, n_iter=50, random_state=0)
        for e in np.linspace(0, 2, 9)
    ]
    assert np.all(np.diff(accs) <= 0)


def test_prediction_stability_is_robust_accuracy_on_own_predictions():
    X, _ = digits()
    model = mlp_digits()
    own = model.predict(X)
    for eps in (0.5, 2.0):
        assert prediction_stability(model, X, eps=eps, random_state=1) == (
            robust_accuracy(model, X, own, eps=eps, random_state=1)
        )


def _certified_mask(model, X, y, eps):
    return (model.predict(X) == y) & (certified_radius(model, X) > eps)


@lru_cache
def _sklip_models():
    X, y = blobs(3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return [
            LipschitzMLPClassifier(
                (8, 8),
                activation=act,
                penalty=pen,
                alpha=1.0,
                solver="lbfgs",
                max_iter=100,
                random_state=0,
            ).fit(X, y)
            for pen, act in [
                ("none", "relu"),
                ("frobenius", "tanh"),
                ("spectral", "logistic"),
            ]
        ]


def _networks():
    out = [(m, *blobs(3)) for m in _sklip_models()]
    out += [(mlp_multi(act), *blobs(3)) for act in ("relu", "tanh", "logistic")]
    out += [(mlp_multi("relu", (8, 8)), *blobs(3))]
    out += [(mlp_binary(act), *blobs(2)) for act in ("relu", "identity")]
    out += [(mlp_digits(), *digits()), (logreg(3), *blobs(3))]
    pipe, X, y = scaled_logreg()
    out.append((pipe, X, y))
    return out


@pytest.mark.slow
@pytest.mark.parametrize("norm", [2, np.inf])
def test_certified_samples_survive_strong_pgd(norm):
    """Soundness: no sample certified at eps is broken by the default
    attack (APGD-CE with restarts, APGD-T, Square Attack) at eps."""
    n_checked = 0
    for model, X, y in _networks():
        radius = certified_radius(model, X, method="lipschitz")
        correct = model.predict(X) == y
        # Radii where some samples are certified, others not.
        for q in (0.25, 0.5, 0.75):
            eps = float(np.quantile(radius[correct], q))
            if norm == np.inf:
                eps /= np.sqrt(X.shape[1])
            cert = correct & (
                radius > eps * (np.sqrt(X.shape[1]) if norm == np.inf else 1)
            )
            acc = certified_accuracy(
                model, X, y, eps=eps, norm=norm, method="lipschitz"
            )
            assert acc == pytest.approx(cert.mean())
            X_adv = perturb(
                model, X, y, eps=eps, norm=norm, n_iter=30, n_restarts=2, random_state=0
            )
            broken = model.predict(X_adv) != y
            assert not np.any(cert & broken), type(model).__name__
            assert (
                robust_accuracy(model, X, y, eps=eps, norm=norm, random_state=0) >= acc
            )
            n_checked += cert.sum()
    assert n_checked > 500  # not vacuous


def test_certified_radius_never_worse_than_global_margin_bound():
    X, y = blobs(3)
    for model in [mlp_multi(), logreg(3)] + _sklip_models():
        F = as_network(model).forward(X)
        top2 = np.sort(F, axis=1)[:, -2:]
        margin = top2[:, 1] - top2[:, 0]
        L = lipschitz_bound(model)
        r = certified_radius(model, X)
        assert np.all(r >= margin / (np.sqrt(2) * L) * (1 - 1e-12))


def test_binary_linear_radius_is_the_distance_to_the_boundary():
    X, y = blobs(2)
    model = logreg()
    w, b = model.coef_[0], model.intercept_[0]
    np.testing.assert_allclose(
        certified_radius(model, X), np.abs(X @ w + b) / np.linalg.norm(w), rtol=1e-9
    )
    # Pipeline: the radius is in raw units, through the scaler.
    pipe, Xp, _ = scaled_logreg()
    scaler, lr = pipe[0], pipe[-1]
    w_raw = lr.coef_[0] / scaler.scale_
    b_raw = lr.intercept_[0] - scaler.mean_ @ w_raw
    np.testing.assert_allclose(
        certified_radius(pipe, Xp),
        np.abs(Xp @ w_raw + b_raw) / np.linalg.norm(w_raw),
        rtol=1e-9,
    )


@pytest.mark.parametrize("case", ["binary", "multiclass", "pipeline"])
def test_linear_models_pgd_and_certificate_agree(case):
    """On linear models the certified radius is the exact distance to the
    decision region's boundary: PGD at 1.01 x radius flips every correctly
    classified sample, and robust and certified accuracy agree. "Enough
    steps": long steps (the loss is linear, overshooting is harmless as the
    worst iterate is kept) and restarts (the runner-up class of the margin
    loss depends on the start)."""
    if case == "pipeline":
        model, X, y = scaled_logreg()
    else:
        model = logreg(2 if case == "binary" else 3)
        X, y = blobs(2 if case == "binary" else 3)
    radius = certified_radius(model, X)
    correct = model.predict(X) == y
    for q in (0.2, 0.5, 0.8):
        eps = float(np.quantile(radius[correct], q))
        kw = dict(n_iter=50, step_size=eps / 2, n_restarts=5, random_state=0)
        X_adv = perturb(model, X, y, eps=eps, **kw)
        flipped = model.predict(X_adv) != y
        should_flip = correct & (radius * 1.01 <= eps)
        assert np.all(flipped[should_flip])
        assert 0 < should_flip.sum() < correct.sum()
        ra = robust_accuracy(model, X, y, eps=eps, **kw)
        ca = certified_accuracy(model, X, y, eps=eps)
        assert ca <= ra <= ca + 2 / len(y)


def test_certified_accuracy_boundary_is_strict():
    X, y = blobs(2)
    model = logreg()
    r = certified_radius(model, X)
    i = int(np.argmax(np.where(model.predict(X) == y, r, -1)))
    Xi, yi = X[i : i + 1], y[i : i + 1]
    # The Lipschitz radius is a supremum: certified below it, not at it.
    ri = certified_radius(model, Xi, method="lipschitz")[0]  # same BLAS call
    lip = {"method": "lipschitz"}
    assert certified_accuracy(model, Xi, yi, eps=ri, **lip) == 0.0
    assert certified_accuracy(model, Xi, yi, eps=np.nextafter(ri, 0), **lip) == 1.0
    # eps=0 is clean accuracy (no ties in continuous data).
    assert certified_accuracy(model, X, y, eps=0.0) == model.score(X, y)
    # Array eps is non-increasing; Linf certification is no easier than L2.
    grid = np.linspace(0, 2, 7)
    acc = certified_accuracy(model, X, y, eps=grid)
    assert np.all(np.diff(acc) <= 0)
    assert np.all(certified_accuracy(model, X, y, eps=grid, norm=np.inf) <= acc)


def test_regression_deviation_between_attack_and_certificate():
    X, y = regression()
    sklip_reg = LipschitzMLPRegressor(
        hidden_layer_sizes=(8,),
        penalty="spectral",
        alpha=1.0,
        solver="lbfgs",
        max_iter=100,
        random_state=0,
    ).fit(X, y)
    for model in (mlp_regressor(), ridge(), sklip_reg):
        for eps in (0.1, 0.5):
            found = max_output_deviation(model, X, eps=eps, n_iter=50, random_state=0)
            bound = certified_max_output_deviation(model, eps=eps)
            assert 0 < found <= bound
            assert bound == pytest.approx(lipschitz_bound(model) * eps)
    # Ridge: the attack reaches the bound, ||w|| eps (exact for linear maps).
    w = ridge().coef_
    found = max_output_deviation(ridge(), X, eps=0.5, n_iter=100, random_state=0)
    assert found == pytest.approx(np.linalg.norm(w) * 0.5, rel=1e-3)
    bound_inf = certified_max_output_deviation(ridge(), eps=0.5, norm=np.inf)
    found_inf = max_output_deviation(ridge(), X, eps=0.5, norm=np.inf, attack="fgsm")
    assert found_inf == pytest.approx(np.abs(w).sum() * 0.5)
    assert found_inf <= bound_inf


def test_robust_r2_matches_r2_of_perturbed_points_for_a_linear_model():
    X, y = regression()
    model = ridge()
    X_adv = perturb(model, X, y, eps=0.3, attack="fgsm")
    expected = min(r2_score(y, model.predict(X_adv)), model.score(X, y))
    assert robust_r2(model, X, y, eps=0.3, attack="fgsm") <= expected + 1e-12


def test_spectral_penalty_makes_digits_more_robust():
    """The headline claim, robustly: at the same L2 radius (pixel units in
    [0, 1]) a strongly spectrally penalised network keeps clearly more
    accuracy under PGD, and certifies more, than an unpenalised one of similar
    clean accuracy."""
    X, y = digits(1300)
    X = X / 16.0
    Xtr, ytr, Xte, yte = X[:400], y[:400], X[1000:], y[1000:]
    scores = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for penalty, alpha in [("none", 1e-4), ("spectral", 20.0)]:
            model = LipschitzMLPClassifier(
                (16,),
                penalty=penalty,
                alpha=alpha,
                solver="lbfgs",
                max_iter=150,
                random_state=0,
            ).fit(Xtr, ytr)
            scores[penalty] = (
                model.score(Xte, yte),
                robust_accuracy(model, Xte, yte, eps=[0.5, 0.75], random_state=0),
                certified_accuracy(model, Xte, yte, eps=[0.5, 0.75]),
            )
    (clean_n, rob_n, cert_n), (clean_s, rob_s, cert_s) = scores.values()
    assert min(clean_n, clean_s) > 0.85
    assert np.all(rob_s >= rob_n + 0.1)
    assert np.all(cert_s >= cert_n + 0.1)


@pytest.mark.parametrize(
    "func, kwargs, match",
    [
        (robust_accuracy, dict(eps=-1), "eps"),
        (robust_accuracy, dict(eps=[0.1, -1]), "eps"),
        (robust_accuracy, dict(eps=0.1, attack="bim"), "attack"),
        (robust_accuracy, dict(eps=0.1, norm=1), "norm"),
        (robust_accuracy, dict(eps=0.1, clip=(5, 6)), "clip bounds exclude X"),
        (robust_accuracy, dict(eps=0.1, sample_weight=np.ones(3)), "sample_weight"),
        (certified_accuracy, dict(eps=-1), "eps"),
        (certified_accuracy, dict(eps=0.1, norm=3), "norm"),
    ],
)
def test_metric_bad_parameters(func, kwargs, match):
    X, y = blobs(2)
    with pytest.raises(ValueError, match=match):
        func(logreg(), X, y, **kwargs)


def test_metric_bad_inputs():
    X, y = blobs(2)
    with pytest.raises(ValueError, match="y has 199 samples"):
        robust_accuracy(logreg(), X, y[1:], eps=0.1)
    with pytest.raises(ValueError, match="y has 199 samples"):
        certified_accuracy(logreg(), X, y[1:], eps=0.1)
    with pytest.raises(ValueError, match="needs a classifier"):
        robust_accuracy(ridge(), *regression(), eps=0.1)
    with pytest.raises(ValueError, match="needs a regressor"):
        robust_r2(logreg(), X, y, eps=0.1)
    with pytest.raises(ValueError, match="needs a classifier"):
        certified_radius(ridge(), regression()[0])
    with pytest.raises(ValueError, match="needs a regressor"):
        certified_max_output_deviation(logreg(), eps=0.1)
