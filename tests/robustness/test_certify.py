"""The certification API: ``method=`` everywhere, ``certify`` and its oracles.

Oracles: soundness (no sample certified by any method is broken by sklip's
strongest attack at the same radius), exactness on linear models (the
distance to the decision boundary, L2 and Linf), the union ``auto`` never
below its members, radii consistent with the verdicts at a radius, and
certified output intervals that contain every output found by sampling or
attack.
"""

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklip import LipschitzMLPClassifier, certify
from sklip._core.inputs import Inputs
from sklip.lipschitz import lipschitz_bound
from sklip.robustness import (
    RobustnessCurveDisplay,
    certified_accuracy,
    certified_max_output_deviation,
    certified_radius,
    make_robustness_scorer,
    perturb,
)
from sklip.robustness._certify import classifier_certifier
from sklip.verification._methods import METHOD_NAMES, METHODS, auto_methods

from .._robustness_models import blobs

BOUND_METHODS = ["auto", "crown", "alpha-crown"]
RTOL = 1e-3  # the radius bisection's relative precision


def _random_mlp(activation, hidden, n_classes, seed, d=4, n=40, scale=1.5):
    """An sklearn MLP with random weights (fitted only to get the shapes)."""
    rng = np.random.default_rng(seed)
    X = rng.uniform(0, 1, size=(n, d))
    y = np.arange(n) % n_classes
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = MLPClassifier(hidden, activation=activation, max_iter=1).fit(X, y)
    model.coefs_ = [scale * rng.standard_normal(W.shape) / np.sqrt(W.shape[0])
                    for W in model.coefs_]  # fmt: skip
    model.intercepts_ = [0.3 * rng.standard_normal(b.shape) for b in model.intercepts_]
    return model, X, model.predict(X)


def _cases():
    """(model, X, y, features, clip) over activations, class counts,
    features=, clip and a scaler pipeline."""
    out = []
    for i, act in enumerate(["relu", "tanh", "logistic", "identity"]):
        for n_classes in (2, 3):
            hidden = (6,) if i % 2 else (5, 5)
            model, X, y = _random_mlp(act, hidden, n_classes, seed=10 * i + n_classes)
            out.append((model, X, y, None, None))
            out.append((model, X, y, [0, 2], (0.0, 1.0)))
    X, y = blobs(3, n=60)
    X = X * np.array([1.0, 10.0, 0.1, 1.0, 5.0, 1.0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        pipe = make_pipeline(
            StandardScaler(), MLPClassifier((8,), max_iter=300, random_state=0)
        ).fit(X, y)
    out.append((pipe, X, y, None, None))
    lo, hi = X.min(axis=0), X.max(axis=0)
    out.append((pipe, X, y, [1, 4], (lo, hi)))
    return out


def _eps(model, X, norm, features):
    """A radius where some samples are certified and others not."""
    r = certified_radius(model, X, norm=norm, method="lipschitz", features=features)
    return 2.0 * float(np.median(r[r > 0]))


@pytest.mark.parametrize("norm", [2, np.inf])
def test_certified_samples_are_never_broken_by_the_attack(norm):
    n_certified = {m: 0 for m in BOUND_METHODS}
    n_broken = 0
    for model, X, y, features, clip in _cases():
        eps = _eps(model, X, norm, features)
        X_adv = perturb(
            model, X, y, eps=eps, norm=norm, clip=clip, features=features,
            random_state=0,
        )  # fmt: skip
        broken = model.predict(X_adv) != y
        n_broken += broken.sum()
        for method in BOUND_METHODS:
            res = certify(
                model, X, y, eps=eps, norm=norm, method=method, clip=clip,
                features=features, random_state=0,
            )  # fmt: skip
            verified = res.verdict == "verified"
            assert not np.any(verified & broken), (model, method)
            n_certified[method] += verified.sum()
            acc = certified_accuracy(
                model, X, y, eps=eps, norm=norm, method=method, clip=clip,
                features=features,
            )  # fmt: skip
            assert acc == pytest.approx(verified.mean())
    # Not vacuous: both sides of the radius are populated.
    assert min(n_certified.values()) > 50 and n_broken > 50


@pytest.mark.parametrize("norm", [2, np.inf])
def test_crown_radius_is_the_distance_to_the_boundary_of_a_linear_model(norm):
    X, y = blobs(2)
    model = LogisticRegression().fit(X, y)
    w, b = model.coef_[0], model.intercept_[0]
    dual = np.abs(w).sum() if norm == np.inf else np.linalg.norm(w)
    exact = np.abs(X @ w + b) / dual
    r = certified_radius(model, X, norm=norm, method="crown")
    assert np.all(r <= exact * (1 + 1e-9))
    assert np.all(r >= exact * (1 - 2 * RTOL))
    lip = certified_radius(model, X, norm=norm, method="lipschitz")
    if norm == 2:
        assert np.allclose(lip, exact)
    else:
        # Linf through the L2 ball: |z| / (||w||_2 sqrt(d)) <= |z| / ||w||_1.
        assert np.all(lip <= r) and np.mean(lip < 0.9 * r) > 0.5


@pytest.mark.parametrize("norm", [2, np.inf])
def test_auto_is_never_below_lipschitz_or_crown(norm):
    model, X, y = _random_mlp("relu", (8,), 3, seed=3)
    eps = _eps(model, X, norm, None)
    verdicts = {
        m: certify(model, X, eps=eps, norm=norm, method=m).verdict == "verified"
        for m in ("auto", "lipschitz", "crown", "alpha-crown")
    }
    assert np.all(verdicts["auto"] >= verdicts["lipschitz"] | verdicts["crown"])
    assert np.all(verdicts["alpha-crown"] >= verdicts["crown"])
    radii = {m: certified_radius(model, X, norm=norm, method=m) for m in verdicts}
    for m in ("lipschitz", "crown"):
        assert np.all(radii["auto"] >= radii[m] * (1 - 2 * RTOL))
    assert np.all(radii["alpha-crown"] >= radii["crown"] * (1 - 2 * RTOL))
    assert np.mean(radii["crown"] > radii["lipschitz"]) > 0.3  # CROWN helps


@pytest.mark.parametrize("method", ["lipschitz", "crown", "alpha-crown", "auto"])
def test_radius_is_consistent_with_the_verdicts_at_a_radius(method):
    """Every sample is certified at its radius; at a radius eps the verdicts
    agree with ``radius > eps``. CROWN's adaptive lower slopes make its bound
    not exactly monotone in eps (a slope flips as the ball grows), so a rare
    sample may be certified at eps beyond the bisection's radius or not at an
    eps below it: at most 2% of the checks here (sound either way)."""
    n_off = n_checks = 0
    for seed, hidden in [(5, (6, 6)), (6, (8,))]:
        model, X, y = _random_mlp("relu", hidden, 3, seed=seed)
        r = certified_radius(model, X, norm=np.inf, method=method)
        if method != "lipschitz":
            inputs = Inputs(model, X)
            cert, _ = classifier_certifier(model, inputs, np.inf, None)
            at_r = r > 0
            assert np.all(cert.certified(r[at_r], method, np.flatnonzero(at_r)))
        grid = np.quantile(r, [0.2, 0.5, 0.8])
        acc = certified_accuracy(model, X, y, eps=grid, norm=np.inf, method=method)
        assert np.all(np.diff(acc) <= 0)  # monotone in eps
        for eps, a in zip(grid, acc):
            v = certify(model, X, y, eps=eps, norm=np.inf, method=method).verdict
            verified = v == "verified"
            assert a == pytest.approx(verified.mean())
            # Certified below the radius; the bisection stops within RTOL
            # of the largest radius.
            off = (~verified & (r > eps)) | (verified & (r < eps * (1 - RTOL)))
            n_off += off.sum()
            n_checks += off.size
    limit = 0 if method == "lipschitz" else 0.02 * n_checks
    assert n_off <= limit


def test_counterexamples_are_in_the_ball_and_change_the_prediction():
    model, X, y = _random_mlp("relu", (8,), 3, seed=7)
    eps = _eps(model, X, np.inf, None)
    res = certify(model, X, y, eps=eps, norm=np.inf, clip=(0, 1), random_state=0)
    assert set(res.decided_by) <= {"lipschitz", "crown", "alpha-crown", "attack"}
    fals = res.verdict == "falsified"
    assert fals.sum() > 5
    cex = res.counterexample
    assert np.all(np.isnan(cex[~fals]))
    assert np.all(np.abs(cex[fals] - X[fals]) <= eps * (1 + 1e-12))
    assert np.all((cex[fals] >= 0) & (cex[fals] <= 1))
    assert np.all(model.predict(cex[fals]) != y[fals])
    assert np.all(res.decided_by[fals] == "attack")
    # A wrong label is falsified at the clean point itself.
    wrong = certify(model, X, (y + 1) % 3, eps=eps, norm=np.inf)
    assert np.all(wrong.verdict == "falsified")
    assert np.all(wrong.decided_by == "clean") and np.allclose(wrong.counterexample, X)


def test_counterexample_keeps_the_type_of_x():
    pd = pytest.importorskip("pandas")
    X, y = blobs(2, n=60)
    df = pd.DataFrame(X, columns=[f"c{j}" for j in range(X.shape[1])])
    model = LogisticRegression().fit(df, y)
    res = certify(model, df, eps=0.5, features=["c0", "c1"], random_state=0)
    assert isinstance(res.counterexample, pd.DataFrame)
    assert list(res.counterexample.columns) == list(df.columns)
    fals = res.verdict == "falsified"
    assert fals.any()
    held = res.counterexample.loc[fals, ["c2", "c3", "c4", "c5"]].to_numpy()
    assert np.array_equal(held, df.loc[fals, ["c2", "c3", "c4", "c5"]].to_numpy())


def _regressor(activation, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.uniform(0, 1, size=(30, 3))
    y = np.c_[np.sin(3 * X[:, 0]) + X[:, 1], X[:, 2] ** 2]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = MLPRegressor(
            hidden_layer_sizes=(8,), activation=activation, max_iter=300,
            random_state=seed,
        )  # fmt: skip
        return model.fit(X, y), X


@pytest.mark.parametrize("activation", ["relu", "tanh"])
@pytest.mark.parametrize("norm", [2, np.inf])
def test_regression_bounds_contain_sampled_and_attacked_outputs(activation, norm):
    model, X = _regressor(activation)
    eps = 0.2
    L = lipschitz_bound(model)
    rng = np.random.default_rng(0)
    found = [perturb(model, X, eps=eps, norm=norm, random_state=0)]
    for _ in range(30):
        U = rng.standard_normal(X.shape)
        if norm == np.inf:
            U = np.sign(U) * rng.uniform(0, 1, X.shape) ** 0.1
        else:
            U /= np.linalg.norm(U, axis=1, keepdims=True)
        found.append(X + eps * U)
    f0 = model.predict(X)
    for method in ("lipschitz", "crown", "alpha-crown", "auto"):
        res = certify(model, X, eps=eps, norm=norm, method=method)
        assert res.verdict is None
        for P in found:
            F = model.predict(P)
            assert np.all(res.output_lower <= F + 1e-9)
            assert np.all(F <= res.output_upper + 1e-9)
            dev = np.linalg.norm(F - f0, axis=1)
            assert np.all(dev <= res.max_output_deviation + 1e-9)
        per_sample = certified_max_output_deviation(
            model, X, eps=eps, norm=norm, method=method
        )
        assert np.allclose(per_sample, res.max_output_deviation)
        global_ = certified_max_output_deviation(model, eps=eps, norm=norm)
        assert global_ == pytest.approx(
            L * eps * (np.sqrt(X.shape[1]) if norm == np.inf else 1)
        )
        if method == "auto":
            assert np.all(per_sample <= global_ * (1 + 1e-12))


def test_method_is_validated_everywhere():
    model, X, y = _random_mlp("relu", (4,), 2, seed=0)
    with pytest.raises(ValueError, match="method"):
        certify(model, X, eps=0.1, method="exact")
    # validate_params: the function, the registry's choices and the value.
    registry = r"must be a str among \{'auto', 'lipschitz', 'crown'"
    with pytest.raises(ValueError, match=rf"of certified_accuracy {registry}.*'exact'"):
        certified_accuracy(model, X, y, eps=0.1, method="exact")
    with pytest.raises(ValueError, match=rf"of certified_radius {registry}"):
        certified_radius(model, X, method="exact")
    with pytest.raises(ValueError, match=rf"of make_robustness_scorer {registry}"):
        make_robustness_scorer(eps=0.1, metric="certified_accuracy", method="x")
    with pytest.raises(ValueError, match="method must be one of"):
        RobustnessCurveDisplay.from_estimator(model, X, y, eps=[0.1], method="x")
    reg, Xr = _regressor("relu")
    with pytest.raises(ValueError, match="needs X"):
        certified_max_output_deviation(reg, eps=0.1, method="crown")
    with pytest.raises(ValueError, match="eps"):
        certify(model, X, eps=-1.0)


def test_registry_drives_the_cli_and_the_docs():
    import argparse
    from pathlib import Path

    from sklip.cli import build_parser

    sub = next(
        a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)
    )
    for name in ("search", "evaluate", "demo"):
        action = next(
            a for a in sub.choices[name]._actions if a.dest == "certify_method"
        )
        assert tuple(action.choices) == METHOD_NAMES and action.default == "auto"
    page = (Path(__file__).parents[2] / "docs/guide/certificates.rst").read_text()
    for name in METHODS:
        assert f'``"{name}"``' in page, name
    # auto adds alpha-CROWN (on CROWN's near misses) to ReLU networks only.
    from sklip.lipschitz import as_network

    relu, _, _ = _random_mlp("relu", (4,), 2, seed=0)
    tanh, _, _ = _random_mlp("tanh", (4,), 2, seed=0)
    assert auto_methods(as_network(relu)) == ("crown", "alpha-crown")
    assert auto_methods(as_network(tanh)) == ("crown",)


def test_auto_runs_alpha_crown_on_near_misses_only():
    """The screen never loses a sample alpha-CROWN certifies here, and skips
    most of the samples CROWN leaves undecided."""
    model, X, y = _random_mlp("relu", (8, 8), 3, seed=2, n=200)
    inputs = Inputs(model, X)
    cert, _ = classifier_certifier(model, inputs, np.inf, None)
    eps = _eps(model, X, np.inf, None)
    crown = cert.certified(eps, "crown")
    alpha = cert.certified(eps, "alpha-crown")
    auto = cert.certified(eps, "auto")
    assert np.all(auto >= alpha) and np.all(auto >= crown)
    worst = cert._bound_worst(np.arange(len(X)), np.full(len(X), eps), "crown")
    screened = cert._near_miss(np.arange(len(X)), worst) & ~crown
    assert screened.sum() < 0.5 * (~crown).sum()


def test_scorer_and_display_take_the_method():
    model, X, y = _random_mlp("relu", (6,), 3, seed=1)
    eps = _eps(model, X, 2, None)
    for method in ("lipschitz", "crown"):
        scorer = make_robustness_scorer(
            eps=eps, metric="certified_accuracy", method=method
        )
        assert scorer(model, X, y) == certified_accuracy(
            model, X, y, eps=eps, method=method
        )
        assert f"method='{method}'" in repr(scorer)
    display = RobustnessCurveDisplay.from_estimator(
        model, X, y, eps=[0.0, eps], attacks=("certified",), method="lipschitz"
    )
    assert np.allclose(
        display.scores["certified"],
        certified_accuracy(model, X, y, eps=[0.0, eps], method="lipschitz"),
    )
    import matplotlib.pyplot as plt

    plt.close(display.figure_)


def test_lipschitz_trained_net_defaults_to_at_least_the_margin():
    X, y = blobs(3, n=90)
    clf = LipschitzMLPClassifier(
        hidden_layer_sizes=(8,), penalty="spectral", alpha=1.0, max_iter=60,
        random_state=0,
    ).fit(X, y)  # fmt: skip
    eps = _eps(clf, X, 2, None)
    for norm in (2, np.inf):
        auto = certified_accuracy(clf, X, y, eps=eps, norm=norm)
        lip = certified_accuracy(clf, X, y, eps=eps, norm=norm, method="lipschitz")
        crown = certified_accuracy(clf, X, y, eps=eps, norm=norm, method="crown")
        assert auto >= max(lip, crown)


@pytest.mark.slow
@pytest.mark.parametrize("norm", [2, np.inf])
def test_soundness_sweep_over_many_random_nets(norm):
    n_certified = 0
    for seed in range(40):
        act = ["relu", "tanh", "logistic", "identity"][seed % 4]
        hidden = [(8,), (6, 6), (4, 4, 4)][seed % 3]
        model, X, y = _random_mlp(act, hidden, 2 + seed % 3, seed=100 + seed,
                                  d=5, n=60)  # fmt: skip
        clip = (0.0, 1.0) if seed % 2 else None
        for eps in (0.5, 1.0, 2.0):
            eps *= _eps(model, X, norm, None) / 2
            X_adv = perturb(model, X, y, eps=eps, norm=norm, clip=clip,
                            n_restarts=2, random_state=seed)  # fmt: skip
            broken = model.predict(X_adv) != y
            for method in BOUND_METHODS:
                res = certify(model, X, y, eps=eps, norm=norm, method=method,
                              clip=clip, random_state=seed)  # fmt: skip
                verified = res.verdict == "verified"
                assert not np.any(verified & broken), (seed, method, eps)
                n_certified += verified.sum()
    assert n_certified > 1000


@pytest.mark.parametrize("norm", [2, np.inf])
def test_complete_verdicts_are_sound_and_decide_tiny_nets(norm):
    """Verified samples survive the attack, falsified ones carry a point of
    the ball (and the box) that changes the prediction, and complete
    verification decides at least what ``auto`` certifies."""
    n_fals = n_ver = 0
    cases = [(seed, hidden, k) for seed, hidden, k in
             [(1, (6,), 2), (2, (6,), 3), (3, (4, 4), 3)]]  # fmt: skip
    for seed, hidden, n_classes in cases:
        model, X, y = _random_mlp("relu", hidden, n_classes, seed=seed, n=30)
        for features, clip in [(None, None), ([0, 2], (0.0, 1.0))]:
            eps = 2 * _eps(model, X, norm, features)
            kw = dict(eps=eps, norm=norm, clip=clip, features=features)
            res = certify(model, X, y, method="complete", time_budget=0.5,
                          random_state=0, **kw)  # fmt: skip
            auto = certify(model, X, y, random_state=0, **kw).verdict
            X_adv = perturb(model, X, y, random_state=1, **kw)
            verified = res.verdict == "verified"
            fals = res.verdict == "falsified"
            assert not np.any(verified & (model.predict(X_adv) != y))
            assert np.all(verified[auto == "verified"])
            assert np.mean(res.verdict != "undecided") >= 0.9
            moved = slice(None) if features is None else features
            assert np.all(np.isnan(res.counterexample[~fals][:, moved]))
            n_fals += fals.sum()
            n_ver += verified.sum()
            if not fals.any():
                continue
            cex = res.counterexample[fals]
            dist = np.abs(cex - X[fals]) if norm == np.inf else None
            if norm == 2:
                dist = np.linalg.norm(cex - X[fals], axis=1)
            assert np.all(dist <= eps * (1 + 1e-9))
            assert np.all(model.predict(cex) != y[fals])
            if clip is not None:
                assert np.all((cex >= 0) & (cex <= 1))
                assert np.array_equal(cex[:, [1, 3]], X[fals][:, [1, 3]])
            assert set(res.decided_by) <= {
                "lipschitz", "crown", "alpha-crown", "complete", "attack", "none"
            }  # fmt: skip
    assert n_fals > 20 and n_ver > 50


def test_complete_agrees_with_the_exact_milp():
    from sklip.verification._domain import Domain
    from sklip.verification._milp import milp_lower_bounds
    from sklip.verification._specs import margin_specs

    model, X, y = _random_mlp("relu", (6,), 3, seed=4, n=30)
    eps = _eps(model, X, np.inf, None)
    res = certify(model, X, eps=eps, norm=np.inf, method="complete", random_state=0)
    cert, pred = classifier_certifier(model, Inputs(model, X), np.inf, None)
    dom = Domain(cert.Z, eps, np.inf)
    lower = milp_lower_bounds(cert.network, dom, margin_specs(3, pred))
    done = ~np.isnan(lower).any(axis=1) & (res.verdict != "undecided")
    assert done.sum() > 20
    exact = lower.min(axis=1) > 0
    assert np.array_equal(res.verdict[done] == "verified", exact[done])


def test_complete_output_bounds_are_tighter_and_contain_the_outputs():
    model, X = _regressor("relu")
    eps = 0.2
    alpha = certify(model, X, eps=eps, norm=np.inf, method="alpha-crown")
    exact = certify(model, X, eps=eps, norm=np.inf, method="complete")
    assert np.all(exact.output_lower >= alpha.output_lower - 1e-9)
    assert np.all(exact.output_upper <= alpha.output_upper + 1e-9)
    assert np.any(exact.output_upper < alpha.output_upper - 1e-6)
    P = perturb(model, X, eps=eps, norm=np.inf, random_state=0)
    F = model.predict(P)
    assert np.all((exact.output_lower - 1e-7 <= F) & (F <= exact.output_upper + 1e-7))
