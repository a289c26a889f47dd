"""Every input gets a right answer or a clear error (issue 8), one test per
class of input, parametrised over every public function it applies to."""

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklip import LipschitzMLPClassifier
from sklip._core.network import Network
from sklip.lipschitz import (
    as_network,
    lipschitz_bound,
    lipschitz_lower_bound,
    make_lipschitz_scorer,
    pairwise_lipschitz_bounds,
)
from sklip.robustness import (
    RobustnessCurveDisplay,
    certified_accuracy,
    certified_max_output_deviation,
    certified_radius,
    make_robustness_scorer,
    max_output_deviation,
    perturb,
    prediction_stability,
    robust_accuracy,
    robust_r2,
)

from .._robustness_models import blobs, logreg, mlp_multi, regression, ridge

X2, Y2 = blobs(2)
XR, YR = regression()

# name -> f(model, X, y, **kw) for classifiers; the regression ones below.
CLF_FUNCS = {
    "perturb": lambda m, X, y, **kw: perturb(m, X, y, eps=0.3, **kw),
    "perturb-noise": lambda m, X, y, **kw: perturb(
        m, X, y, eps=0.3, attack="noise", **kw
    ),
    "robust_accuracy": lambda m, X, y, **kw: robust_accuracy(m, X, y, eps=0.3, **kw),
    "certified_accuracy": lambda m, X, y, **kw: certified_accuracy(
        m, X, y, eps=0.3, **kw
    ),
    "scorer": lambda m, X, y, **kw: make_robustness_scorer(eps=0.3)(m, X, y, **kw),
    "certified_scorer": lambda m, X, y, **kw: make_robustness_scorer(
        eps=0.3, metric="certified_accuracy"
    )(m, X, y, **kw),
}
CLF_NO_Y = {
    "prediction_stability": lambda m, X, y, **kw: prediction_stability(
        m, X, eps=0.3, **kw
    ),
    "certified_radius": lambda m, X, y, **kw: certified_radius(m, X),
}
REG_FUNCS = {
    "robust_r2": lambda m, X, y, **kw: robust_r2(m, X, y, eps=0.3, **kw),
    "max_output_deviation": lambda m, X, y, **kw: max_output_deviation(
        m, X, eps=0.3, **kw
    ),
    "certified_max_output_deviation": lambda m, X, y, **kw: (
        certified_max_output_deviation(m, eps=0.3)
    ),
}


def _display(m, X, y, **kw):
    pytest.importorskip("matplotlib")
    import matplotlib.pyplot as plt

    d = RobustnessCurveDisplay.from_estimator(m, X, y, eps=[0.0, 0.3], **kw)
    plt.close(d.figure_)
    return d


# --------------------------------------------------------------------------
# Unfitted models: NotFittedError, not "single-output classifiers only".


@pytest.mark.parametrize(
    "func",
    [*CLF_FUNCS.values(), *CLF_NO_Y.values(), _display],
    ids=[*CLF_FUNCS, *CLF_NO_Y, "display"],
)
@pytest.mark.parametrize(
    "model",
    [
        LogisticRegression(),
        LipschitzMLPClassifier(),
        make_pipeline(StandardScaler(), MLPClassifier()),
    ],
    ids=["logreg", "sklip", "pipeline"],
)
def test_unfitted_classifier_is_not_fitted_error(func, model):
    with pytest.raises(NotFittedError):
        func(clone(model), X2, Y2)


@pytest.mark.parametrize("func", REG_FUNCS.values(), ids=REG_FUNCS.keys())
def test_unfitted_regressor_is_not_fitted_error(func):
    with pytest.raises(NotFittedError):
        func(Ridge(), XR, YR)


@pytest.mark.parametrize(
    "func",
    [
        lipschitz_bound,
        pairwise_lipschitz_bounds,
        as_network,
        lambda m: make_lipschitz_scorer()(m, X2, Y2),
        lambda m: lipschitz_lower_bound(m, X2),
    ],
    ids=["lipschitz_bound", "pairwise", "as_network", "lipschitz_scorer", "lower"],
)
def test_unfitted_model_in_bounds(func):
    with pytest.raises(NotFittedError):
        func(LogisticRegression())


@pytest.mark.parametrize(
    "call",
    [
        lambda: lipschitz_bound(None),
        lambda: pairwise_lipschitz_bounds(None),
        lambda: as_network(None),
        lambda: lipschitz_lower_bound(None, X2),
        lambda: make_lipschitz_scorer()(None, X2, Y2),
    ],
    ids=["lipschitz_bound", "pairwise", "as_network", "lower", "scorer"],
)
def test_none_estimator_names_the_estimator(call):
    with pytest.raises(TypeError, match="'estimator' parameter must be a fitted"):
        call()


# --------------------------------------------------------------------------
# Labels: None, scalar, 2-D, mixed types.


@pytest.mark.parametrize("func", CLF_FUNCS.values(), ids=CLF_FUNCS.keys())
@pytest.mark.parametrize(
    "y, match",
    [
        (None, "'y' parameter of .* must be an array-like. Got None|needs y"),
        (1, "'y' parameter of .* must be an array-like.* Got 1|scalar"),
        (np.stack([Y2, Y2], axis=1), "1-D|shape"),
        (np.array([0, "a"] * (len(Y2) // 2), dtype=object), "labels not in"),
        (Y2[:-1], "same length"),
    ],
    ids=["none", "scalar", "2d", "mixed", "length"],
)
def test_bad_labels_are_clear_errors(func, y, match):
    if y is None and func in (CLF_FUNCS["perturb"], CLF_FUNCS["perturb-noise"]):
        # A right result, not an error: perturb attacks predict's labels.
        X_adv = func(logreg(), X2, None, random_state=0)
        assert np.array_equal(
            X_adv, func(logreg(), X2, logreg().predict(X2), random_state=0)
        )
        return
    with pytest.raises(ValueError, match=match):
        func(logreg(), X2, y)


@pytest.mark.parametrize(
    "func",
    [
        lambda y: perturb(ridge(), XR, y, eps=0.3),
        lambda y: robust_r2(ridge(), XR, y, eps=0.3),
        lambda y: make_robustness_scorer(eps=0.3, metric="robust_r2")(ridge(), XR, y),
    ],
    ids=["perturb", "robust_r2", "scorer"],
)
def test_nan_regression_target_is_an_error(func):
    y = YR.copy()
    y[3] = np.nan
    with pytest.raises(ValueError, match="y contains NaN"):
        func(y)


# --------------------------------------------------------------------------
# Sample weights: NaN, negative, all zero.

WEIGHTED = {
    "robust_accuracy": lambda sw: robust_accuracy(
        logreg(), X2, Y2, eps=0.3, sample_weight=sw, random_state=0
    ),
    "prediction_stability": lambda sw: prediction_stability(
        logreg(), X2, eps=0.3, sample_weight=sw, random_state=0
    ),
    "certified_accuracy": lambda sw: certified_accuracy(
        logreg(), X2, Y2, eps=0.3, sample_weight=sw
    ),
    "robust_r2": lambda sw: robust_r2(
        ridge(), XR, YR, eps=0.3, sample_weight=sw, random_state=0
    ),
    "max_output_deviation": lambda sw: max_output_deviation(
        ridge(), XR, eps=0.3, sample_weight=sw, random_state=0
    ),
    "scorer": lambda sw: make_robustness_scorer(eps=0.3)(
        logreg(), X2, Y2, sample_weight=sw
    ),
    "certified_scorer": lambda sw: make_robustness_scorer(
        eps=0.3, metric="certified_accuracy"
    )(logreg(), X2, Y2, sample_weight=sw),
}


@pytest.mark.parametrize("func", WEIGHTED.values(), ids=WEIGHTED.keys())
@pytest.mark.parametrize(
    "kind, match",
    [("nan", "NaN"), ("negative", "negative"), ("zero", "sums to zero")],
)
def test_bad_sample_weights_are_clear_errors(func, kind, match):
    regression_func = func in (WEIGHTED["robust_r2"], WEIGHTED["max_output_deviation"])
    sw = np.ones(len(YR) if regression_func else len(Y2))
    if kind == "nan":
        sw[0] = np.nan
    elif kind == "negative":
        sw[0] = -1.0
    else:
        sw[:] = 0.0
    with pytest.raises(ValueError, match=match):
        func(sw)


@pytest.mark.parametrize("func", WEIGHTED.values(), ids=WEIGHTED.keys())
def test_huge_sample_weights_give_the_weighted_score(func):
    """Weights whose sum overflows are rescaled, not turned into NaN."""
    n = (
        len(YR)
        if func in (WEIGHTED["robust_r2"], WEIGHTED["max_output_deviation"])
        else len(Y2)
    )
    sw = np.ones(n)
    assert func(sw * 1e308) == pytest.approx(func(sw))


# --------------------------------------------------------------------------
# Seeds and clip bounds name the parameter.

SEEDED = {
    "perturb": lambda **kw: perturb(logreg(), X2, Y2, eps=0.3, **kw),
    "robust_accuracy": lambda **kw: robust_accuracy(logreg(), X2, Y2, eps=0.3, **kw),
    "max_output_deviation": lambda **kw: max_output_deviation(
        ridge(), XR, eps=0.3, **kw
    ),
    "scorer": lambda **kw: make_robustness_scorer(eps=0.3, **kw)(logreg(), X2, Y2),
}


@pytest.mark.parametrize("func", SEEDED.values(), ids=SEEDED.keys())
@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(random_state=-1), "'random_state' parameter"),
        (dict(random_state="a"), "'random_state' parameter"),
        (dict(clip=(None, 5.0)), "clip low must be a number"),
        (dict(clip=("a", "b")), "clip low must be a number"),
        (dict(clip=(-5.0, [1.0, 2.0])), "clip high must be a scalar or have shape"),
        (dict(clip=5.0), "pair"),
    ],
    ids=["seed-negative", "seed-str", "clip-none", "clip-str", "clip-shape", "clip"],
)
def test_bad_seed_and_clip_name_the_parameter(func, kwargs, match):
    with pytest.raises(ValueError, match=match):
        func(**kwargs)


# --------------------------------------------------------------------------
# Huge radii: L2 norms must not overflow into a no-op attack.


@pytest.mark.parametrize("eps", [1e155, 1e200])
def test_huge_eps_attacks_do_not_become_no_ops(eps):
    assert robust_accuracy(logreg(), X2, Y2, eps=100.0, random_state=0) == 0.0
    assert robust_accuracy(logreg(), X2, Y2, eps=eps, random_state=0) == 0.0
    assert (
        robust_accuracy(logreg(), X2, Y2, eps=eps, attack="fgsm", random_state=0) == 0.0
    )
    X_adv = perturb(logreg(), X2, Y2, eps=eps, random_state=0)
    norms = np.abs(X_adv - X2).max(axis=1)
    assert np.all(norms > 0.1 * eps / np.sqrt(X2.shape[1]))
    dev = max_output_deviation(ridge(), XR, eps=eps, random_state=0)
    assert np.isfinite(dev) and dev > 0.5 * np.linalg.norm(ridge().coef_) * eps
    assert robust_r2(ridge(), XR, YR, eps=eps, random_state=0) < 0


@pytest.mark.parametrize(
    "func",
    [
        lambda: robust_accuracy(logreg(), X2, Y2, eps=1.7e308, random_state=0),
        lambda: perturb(logreg(), X2, Y2, eps=1.7e308, attack="fgsm"),
    ],
    ids=["robust_accuracy", "fgsm"],
)
def test_eps_that_overflows_the_model_is_an_error(func):
    with pytest.raises(ValueError, match="eps=.* too large"):
        func()


# --------------------------------------------------------------------------
# Multilabel classifiers: the noise attack with restarts.


def test_multilabel_noise_attack_with_restarts():
    Y = np.stack([Y2, 1 - Y2], axis=1)
    model = MLPClassifier((4,), max_iter=300, random_state=0).fit(X2, Y)
    kw = dict(eps=1.0, attack="noise", n_restarts=3, random_state=0)
    X_adv = perturb(model, X2, Y, **kw)
    assert X_adv.shape == X2.shape
    # L2 noise lies on the sphere; each row keeps one of its draws.
    np.testing.assert_allclose(np.linalg.norm(X_adv - X2, axis=1), 1.0, rtol=1e-12)
    # Without y the attack targets the model's own (multilabel) predictions.
    X_own = perturb(model, X2, **kw)
    np.testing.assert_array_equal(X_own, perturb(model, X2, model.predict(X2), **kw))
    # The first draw is shared with a single-restart run; a row it fools (any
    # label wrong) stays fooled, and the restarts fool some row.
    fooled = (model.predict(X_adv) != Y).any(axis=1)
    first = perturb(model, X2, Y, **{**kw, "n_restarts": 1})
    assert np.all(fooled[(model.predict(first) != Y).any(axis=1)])
    assert fooled.any()


# --------------------------------------------------------------------------
# Bounds: certificates are finite and sound, or errors.


def _net(scales, seed=0):
    rng = np.random.default_rng(seed)
    shapes = [(4, 6), (6, 5), (5, 3)]
    return Network(
        [s * rng.standard_normal(shape) for s, shape in zip(scales, shapes)],
        [np.zeros(shape[1]) for shape in shapes],
        "relu",
    )


@pytest.mark.parametrize(
    "method", ["auto", "frobenius", "spectral", "combettes-pesquet"]
)
@pytest.mark.parametrize("scale_exp", [-300, -200, 100, 150], ids=lambda e: f"2**{e}")
def test_bounds_scale_exactly_with_the_weights(method, scale_exp):
    """Multiplying every layer by 2**e multiplies the bound by 2**(3 e): no
    inf * 0 = NaN from overflow, no 0 from underflow."""
    base = lipschitz_bound(_net([1, 1, 1]), method=method)
    s = 2.0**scale_exp
    scaled = lipschitz_bound(_net([s, s, s]), method=method)
    expected = np.ldexp(base, 3 * scale_exp)
    assert np.isfinite(scaled) and scaled > 0
    if expected > np.finfo(float).tiny:
        assert scaled == pytest.approx(expected, rel=1e-12)
    else:  # underflow: still a positive upper bound of the true value
        assert scaled >= expected
    K = pairwise_lipschitz_bounds(_net([s, s, s]), method=method)
    assert np.all(np.isfinite(K)) and np.all(K[~np.eye(3, dtype=bool)] > 0)


def test_bound_beyond_the_float_range_is_an_error():
    with pytest.raises(ValueError, match="exceeds the float64 range"):
        lipschitz_bound(_net([1e200, 1e200, 1e200]))


@pytest.mark.parametrize(
    "exps",
    [(830, -830, 0), (664, 664, -664), (-500, -500, 900)],
    ids=["huge-tiny-one", "huge-huge-tiny", "tiny-tiny-huge"],
)
def test_mixed_huge_and_tiny_layers_stay_sound(exps):
    """Layers scaled by 2**e1, 2**e2, 2**e3: intermediate products overflow
    or underflow in plain float arithmetic (inf * 0 = NaN in the pairwise
    matrix), yet the bounds are 2**(e1 + e2 + e3) times those of the
    unscaled network, exactly."""
    net = _net([2.0**e for e in exps])
    ref = _net([1.0, 1.0, 1.0])
    total = sum(exps)
    for method in ("auto", "spectral", "combettes-pesquet", "frobenius"):
        assert lipschitz_bound(net, method=method) == pytest.approx(
            np.ldexp(lipschitz_bound(ref, method=method), total), rel=1e-12
        )
        K = pairwise_lipschitz_bounds(net, method=method)
        np.testing.assert_allclose(
            K,
            np.ldexp(pairwise_lipschitz_bounds(ref, method=method), total),
            rtol=1e-12,
        )
    lower = lipschitz_lower_bound(ref, np.eye(4), n_iter=5)
    assert np.ldexp(lipschitz_bound(net), -total) >= lower


@pytest.mark.parametrize("bad", [np.nan, np.inf])
@pytest.mark.parametrize(
    "func",
    [
        lambda m: lipschitz_bound(m),
        lambda m: pairwise_lipschitz_bounds(m),
        lambda m: certified_radius(m, blobs(3)[0]),
        lambda m: certified_accuracy(m, *blobs(3), eps=0.1),
        lambda m: perturb(m, blobs(3)[0], eps=0.1),
        lambda m: lipschitz_lower_bound(m, blobs(3)[0]),
    ],
    ids=["bound", "pairwise", "radius", "certified", "perturb", "lower"],
)
def test_non_finite_weights_are_a_clear_error(func, bad):
    model = clone(mlp_multi())
    model.fit(*blobs(3))
    model.coefs_[1][0, 0] = bad
    with pytest.raises(ValueError, match="non-finite"):
        func(model)


# --------------------------------------------------------------------------
# Ties: certificates and attacks agree with predict.


def _tied_logreg():
    """Binary logistic regression whose logit is exactly 0 on some rows."""
    model = LogisticRegression().fit(X2, Y2)
    model.coef_[:] = 0.0
    model.coef_[0, 0] = 1.0
    model.intercept_[:] = 0.0
    X = X2.copy()
    X[:20, 0] = 0.0
    return model, X


def _tied_mlp_binary():
    """Binary MLP whose logit is a tiny positive number on some rows: the
    sigmoid rounds it to exactly 0.5 and predict says class 0."""
    model = MLPClassifier((3,), max_iter=200, random_state=0).fit(X2, Y2)
    model.coefs_[0][:] = 0.0
    model.coefs_[0][0, 0] = 1.0
    model.intercepts_[0][:] = 0.0
    model.coefs_[1][:] = 0.0
    model.coefs_[1][0, 0] = 1.0
    model.intercepts_[1][:] = 1e-17
    X = X2.copy()
    X[:20, 0] = -1.0  # relu(-1) = 0: the logit is the bias, 1e-17
    return model, X


def _tied_mlp_multi():
    """Three-class MLP whose logits are all equal on some rows."""
    model = clone(mlp_multi()).fit(*blobs(3))
    model.coefs_[-1][:, 1] = model.coefs_[-1][:, 0]
    model.intercepts_[-1][1] = model.intercepts_[-1][0]
    return model, blobs(3)[0]


@pytest.mark.parametrize(
    "make",
    [_tied_logreg, _tied_mlp_binary, _tied_mlp_multi],
    ids=["zero-logit", "sigmoid-half", "softmax-tie"],
)
def test_certificates_and_attacks_agree_with_predict_on_ties(make):
    model, X = make()
    pred = model.predict(X)
    F = as_network(model).forward(X)
    if F.shape[1] == 1:
        logit_class = model.classes_[(F[:, 0] > 0).astype(int)]
    else:
        logit_class = model.classes_[F.argmax(axis=1)]
    tied = np.isclose(
        F.max(axis=1) if F.shape[1] > 1 else F[:, 0],
        np.sort(F, 1)[:, -2] if F.shape[1] > 1 else 0.0,
        atol=1e-15,
        rtol=0,
    )
    assert tied.sum() >= 5  # the construction creates ties
    radius = certified_radius(model, X)
    assert np.all(radius[tied] == 0.0)
    assert np.all(radius[pred != logit_class] == 0.0)
    # Labels = the predictions: certified accuracy never exceeds accuracy.
    for y in (pred, logit_class):
        assert certified_accuracy(model, X, y, eps=0.0) <= np.mean(pred == y)
    # eps=0 perturbation and the own-prediction attack start from predict.
    assert prediction_stability(model, X, eps=0.0) == 1.0
    X_adv = perturb(model, X, eps=1e-12, random_state=0)
    assert np.mean(model.predict(X_adv) == pred) >= 1 - tied.mean() - 1e-12
