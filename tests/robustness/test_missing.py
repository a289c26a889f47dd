"""Missing values behind an imputer: attacks and certificates hold a NaN
entry at its imputed value and move each row's observed columns only.

Oracles: the NaN pattern itself (kept exactly), the eps-ball over the
observed columns (raw units), the per-missingness-pattern computation with
``features=`` the observed columns (what the command line did before the
library could), the attack (no certified row is broken) and, on a linear
model, the closed-form radius ``|z| / ||w_observed||_dual``.
"""

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.datasets import make_classification, make_regression
from sklearn.impute import KNNImputer, SimpleImputer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from sklip import LipschitzMLPClassifier, LipschitzMLPRegressor
from sklip.robustness import (
    certified_accuracy,
    certified_radius,
    certify,
    perturb,
    robust_accuracy,
    robust_r2,
)

N_FEATURES = 4


def _with_nan(X, rate=0.25, seed=0):
    """``X`` with entries set to NaN at ``rate``, one fully missing row and
    one fully observed."""
    rng = np.random.default_rng(seed)
    X = np.array(X, dtype=float)
    X[rng.uniform(size=X.shape) < rate] = np.nan
    X[0] = np.nan
    X[1] = np.abs(X[1]) + 1.0
    return X


@pytest.fixture(scope="module")
def data():
    X, y = make_classification(
        n_samples=120, n_features=N_FEATURES, n_informative=3, n_redundant=0,
        random_state=0,
    )  # fmt: skip
    X = X * np.array([1.0, 10.0, 0.1, 3.0]) + 5.0  # raw units differ per column
    return _with_nan(X), y


def _fit(model, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence: a few iterations suffice
        return model.fit(X, y)


@pytest.fixture(scope="module", params=["sklip", "sklearn"])
def mlp(request, data):
    X, y = data
    if request.param == "sklip":
        net = LipschitzMLPClassifier((8,), max_iter=60, random_state=0)
    else:
        net = MLPClassifier((8,), max_iter=60, random_state=0)
    return _fit(make_pipeline(SimpleImputer(), StandardScaler(), net), X, y)


@pytest.fixture(scope="module")
def linear(data):
    X, y = data
    model = make_pipeline(SimpleImputer(strategy="median"), StandardScaler())
    return _fit(make_pipeline(model, LogisticRegression()), X, y)


def _moved(X, X_adv):
    """The perturbation on the observed entries (0 on the missing ones)."""
    return np.where(np.isnan(X), 0.0, X_adv - X)


def _groups(X, columns=None):
    """``[(rows, observed columns)]`` per pattern of missing entries."""
    columns = np.arange(X.shape[1]) if columns is None else np.asarray(columns)
    missing = np.isnan(X[:, columns])
    patterns, which = np.unique(missing, axis=0, return_inverse=True)
    return [
        (np.flatnonzero(which.ravel() == k), columns[~p])
        for k, p in enumerate(patterns)
    ]


# --------------------------------------------------------------------------
# (a) the NaN stay, the observed columns move within eps.


@pytest.mark.parametrize(
    "attack", ["auto", "apgd-ce", "apgd-t", "pgd", "fgsm", "square", "noise"]
)
@pytest.mark.parametrize("norm", [2, np.inf])
def test_perturb_keeps_nan_and_moves_observed_within_eps(mlp, data, attack, norm):
    X, y = data
    eps = 0.7
    X_adv = perturb(mlp, X, y, eps=eps, norm=norm, attack=attack, random_state=0)
    assert np.array_equal(np.isnan(X_adv), np.isnan(X))
    delta = _moved(X, X_adv)
    size = (
        np.abs(delta).max(axis=1) if norm == np.inf else np.linalg.norm(delta, axis=1)
    )
    assert np.all(size <= eps * (1 + 1e-9))
    assert np.all(size[0] == 0)  # nothing of the all-missing row can move
    if attack == "noise":  # on the sphere of the observed columns
        observed = ~np.isnan(X).all(axis=1)
        np.testing.assert_allclose(size[observed], eps, rtol=1e-9)
    # The attack did something on the observed entries, and what the model
    # predicts there is what the attack was scored on.
    assert np.any(size > 0.5 * eps)
    assert np.isfinite(mlp.predict_proba(X_adv)).all()


def test_missing_entries_keep_their_imputed_value(linear, data):
    """The perturbed row's model input differs from the clean one by the
    observed columns' moves only: the imputer's value stays."""
    X, y = data
    X_adv = perturb(linear, X, y, eps=2.0, random_state=0)
    pre = linear[:-1]
    Z, Z_adv = pre.transform(X), pre.transform(X_adv)
    scale = linear[0][-1].scale_
    np.testing.assert_allclose(Z_adv - Z, _moved(X, X_adv) / scale, atol=1e-12)


def test_dataframe_and_features_with_nan(data):
    """A frame with a categorical column: NaN in a numeric column behind a
    ColumnTransformer's imputer; ``features=`` selects among the observed."""
    X, y = data
    df = pd.DataFrame(X, columns=list("abcd"))
    df["cat"] = np.where(y == 1, "u", "v")
    df.loc[::5, "cat"] = "w"
    pre = ColumnTransformer(
        [
            ("num", make_pipeline(SimpleImputer(), StandardScaler()), list("abcd")),
            ("cat", OneHotEncoder(), ["cat"]),
        ]
    )
    model = _fit(make_pipeline(pre, LogisticRegression()), df, y)
    adv = perturb(model, df, y, eps=1.0, features=["a", "b"], random_state=0)
    assert adv["cat"].equals(df["cat"])
    np.testing.assert_array_equal(adv[["c", "d"]].to_numpy(), df[["c", "d"]].to_numpy())
    assert np.array_equal(adv[list("ab")].isna(), df[list("ab")].isna())
    delta = _moved(df[list("ab")].to_numpy(), adv[list("ab")].to_numpy())
    assert np.all(np.linalg.norm(delta, axis=1) <= 1.0 + 1e-9)
    # (b) on the frame: equal to the per-pattern computation.
    radius = certified_radius(model, df, features=["a", "b"])
    for rows, observed in _groups(X, [0, 1]):
        if observed.size:
            names = [["a", "b"][j] for j in observed]
            part = certified_radius(model, df.iloc[rows], features=names)
            np.testing.assert_allclose(radius[rows], part, rtol=1e-9)
        else:
            assert np.all(np.isinf(radius[rows]))


# --------------------------------------------------------------------------
# (b) the library equals the per-missingness-pattern computation.


def test_linear_robust_accuracy_equals_grouped(linear, data):
    """On a linear model the attack is exact, so the per-row-mask result and
    the per-pattern one (features= the observed columns) agree exactly."""
    X, y = data
    for eps in (0.3, 1.0, 3.0):
        whole = robust_accuracy(linear, X, y, eps=eps, random_state=0)
        correct = 0
        for rows, observed in _groups(X):
            if observed.size == 0:
                correct += np.sum(linear.predict(X[rows]) == y[rows])
                continue
            part = robust_accuracy(
                linear, X[rows], y[rows], eps=eps, features=observed, random_state=0
            )
            correct += part * rows.size
        assert whole == pytest.approx(correct / len(y), abs=1e-12)


def test_fgsm_equals_grouped(mlp, data):
    """FGSM is deterministic: the same point per row either way."""
    X, y = data
    X_adv = perturb(mlp, X, y, eps=0.5, attack="fgsm")
    for rows, observed in _groups(X):
        if observed.size == 0:
            continue
        part = perturb(mlp, X[rows], y[rows], eps=0.5, attack="fgsm", features=observed)
        np.testing.assert_allclose(X_adv[rows], part, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("method", ["lipschitz", "crown", "auto"])
@pytest.mark.parametrize("norm", [2, np.inf])
def test_certificates_equal_grouped(mlp, data, method, norm):
    X, y = data
    radius = certified_radius(mlp, X, norm=norm, method=method)
    acc = certified_accuracy(mlp, X, y, eps=0.4, norm=norm, method=method)
    correct = 0.0
    for rows, observed in _groups(X):
        if observed.size == 0:
            assert np.all(np.isinf(radius[rows]))
            correct += np.sum(mlp.predict(X[rows]) == y[rows])
            continue
        part = certified_radius(
            mlp, X[rows], norm=norm, method=method, features=observed
        )
        # Bisection (bound methods) stops at a relative width of 1e-3.
        rtol = 1e-9 if method == "lipschitz" else 2e-3
        np.testing.assert_allclose(radius[rows], part, rtol=rtol)
        correct += rows.size * certified_accuracy(
            mlp, X[rows], y[rows], eps=0.4, norm=norm, method=method,
            features=observed,
        )  # fmt: skip
    assert acc == pytest.approx(correct / len(y), abs=1e-12)


# --------------------------------------------------------------------------
# (c) sound certificates; the closed form on a linear model.


@pytest.mark.parametrize("norm", [2, np.inf])
def test_no_certified_row_is_broken(mlp, data, norm):
    X, y = data
    eps = 0.5 if norm == 2 else 0.3
    result = certify(mlp, X, y, eps=eps, norm=norm, random_state=0)
    verified = result.verdict == "verified"
    assert verified.sum() > 10 and (~verified).sum() > 0
    X_adv = perturb(mlp, X, y, eps=eps, norm=norm, random_state=1)
    assert np.all(mlp.predict(X_adv)[verified] == y[verified])
    # The counterexamples are real, NaN kept, in the ball of observed columns.
    falsified = np.flatnonzero(result.verdict == "falsified")
    cex = result.counterexample[falsified]
    assert np.array_equal(np.isnan(cex), np.isnan(X[falsified]))
    assert np.all(mlp.predict(cex) != y[falsified])


@pytest.mark.parametrize("norm", [2, np.inf])
def test_linear_radius_is_the_closed_form_over_observed_columns(linear, data, norm):
    X, _ = data
    radius = certified_radius(linear, X, norm=norm)
    w = linear[-1].coef_[0] / linear[0][-1].scale_  # raw units
    observed = ~np.isnan(X)
    dual = 1 if norm == np.inf else 2
    with np.errstate(divide="ignore"):  # a row with nothing observed: inf
        closed = np.abs(linear.decision_function(X)) / np.linalg.norm(
            w * observed, ord=dual, axis=1
        )
    np.testing.assert_allclose(radius, closed, rtol=1e-3)
    assert np.isinf(radius[0])  # all missing: nothing can move


def test_clip_box_excluding_the_placeholder(data):
    """Inputs in [lo, hi] far from 0: the missing entries' placeholders go
    into the box, so a projection onto it cannot change the imputed value."""
    X, y = data
    X = X + 100.0
    pre = make_pipeline(SimpleImputer(), StandardScaler())
    linear = _fit(make_pipeline(pre, LogisticRegression()), X, y)
    low, high = np.nanmin(X, axis=0), np.nanmax(X, axis=0)
    assert np.all(low > 0)  # 0, the natural placeholder, lies outside
    X_adv = perturb(linear, X, y, eps=2.0, clip=(low, high), random_state=0)
    assert np.array_equal(np.isnan(X_adv), np.isnan(X))
    inside = np.where(np.isnan(X_adv), low, X_adv)
    assert np.all((inside >= low) & (inside <= high))
    # The exact attack with the box equals the per-pattern one.
    whole = robust_accuracy(linear, X, y, eps=2.0, clip=(low, high))
    correct = 0
    for rows, observed in _groups(X):
        if observed.size == 0:
            correct += np.sum(linear.predict(X[rows]) == y[rows])
            continue
        correct += rows.size * robust_accuracy(
            linear, X[rows], y[rows], eps=2.0, clip=(low, high), features=observed
        )
    assert whole == pytest.approx(correct / len(y), abs=1e-12)
    radius = certified_radius(linear, X, clip=(low, high), method="crown")
    free = certified_radius(linear, X, method="crown")
    assert np.all(radius >= free * (1 - 2e-3))


def test_regression_with_nan(data):
    X, _ = data
    _, t = make_regression(n_samples=X.shape[0], n_features=2, random_state=0)
    pre = make_pipeline(SimpleImputer(), StandardScaler())
    for reg in (
        Ridge(),
        LipschitzMLPRegressor(hidden_layer_sizes=(8,), max_iter=60, random_state=0),
    ):
        model = _fit(make_pipeline(pre, reg), X, t)
        scores = robust_r2(model, X, t, eps=[0.0, 1.0], random_state=0)
        assert scores[0] == pytest.approx(model.score(X, t))
        assert scores[1] < scores[0]
        result = certify(model, X, eps=1.0, method="crown")
        adv = perturb(model, X, t, eps=1.0, random_state=0)
        pred = model.predict(adv)
        assert np.all(result.output_lower[:, 0] <= pred + 1e-9)
        assert np.all(pred <= result.output_upper[:, 0] + 1e-9)


# --------------------------------------------------------------------------
# (d) no imputer: a clear error.


@pytest.mark.parametrize(
    "func",
    [
        lambda m, X, y: perturb(m, X, y, eps=0.1, attack="pgd"),
        lambda m, X, y: robust_accuracy(m, X, y, eps=0.1),
        lambda m, X, y: certified_accuracy(m, X, y, eps=0.1),
        lambda m, X, y: certified_radius(m, X),
        lambda m, X, y: certify(m, X, y, eps=0.1),
    ],
    ids=["perturb", "robust", "certified", "radius", "certify"],
)
def test_nan_without_imputer_is_a_clear_error(data, func):
    X, y = data
    model = make_pipeline(StandardScaler(), LogisticRegression())
    model = _fit(model, np.nan_to_num(X, nan=5.0), y)
    with pytest.raises(ValueError, match=r"X contains NaN in column \d.*not impute"):
        func(model, X, y)


def test_nan_behind_knn_imputer_is_refused_by_certificates(data):
    X, y = data
    model = _fit(make_pipeline(KNNImputer(), LogisticRegression()), X, y)
    with pytest.raises(TypeError, match="KNNImputer.*not a per-column constant"):
        certified_radius(model, X)
    # A black-box attack needs no gradient: the NaN stay, the imputer
    # imputes them from the moved values.
    for attack in ("square", "noise"):
        X_adv = perturb(model, X, y, eps=0.5, attack=attack, random_state=0)
        assert np.array_equal(np.isnan(X_adv), np.isnan(X))
        size = np.linalg.norm(_moved(X, X_adv), axis=1)
        assert np.all(size <= 0.5 + 1e-9) and np.median(size) > 0.45


def test_infinity_is_still_an_error(linear, data):
    X, y = data
    X = X.copy()
    X[3, 1] = np.inf
    with pytest.raises(ValueError, match="X contains infinity in column 1"):
        perturb(linear, X, y, eps=0.1)


# --------------------------------------------------------------------------
# Scorers inside a search: NaN rows score, failures surface.


def test_search_scores_rows_with_nan_behind_an_imputer(data):
    """The failure that used to hide as NaN in GridSearchCV: the default
    robustness scorer on rows with NaN behind an imputer now scores, for a
    classifier (robust accuracy) and a regressor (robust R^2)."""
    from sklearn.model_selection import GridSearchCV

    from sklip.robustness import make_robustness_scorer

    X, y = data
    _, t = make_regression(n_samples=X.shape[0], n_features=2, random_state=0)
    scorer = make_robustness_scorer(eps=0.5)
    pre = make_pipeline(SimpleImputer(), StandardScaler())
    cases = (
        (LogisticRegression(), "C", y, "accuracy"),
        (Ridge(), "alpha", t, "r2"),
    )
    for final, param, target, clean_metric in cases:
        model = make_pipeline(pre, final)
        search = GridSearchCV(
            model, {f"{model.steps[-1][0]}__{param}": [0.1, 1.0]},
            scoring={"robust": scorer, "clean": clean_metric},
            refit=False, cv=2, error_score="raise",
        ).fit(X, target)  # fmt: skip
        robust = search.cv_results_["mean_test_robust"]
        clean = search.cv_results_["mean_test_clean"]
        assert np.all(np.isfinite(robust)) and np.all(robust < clean)
    # The regressor's default score is robust R^2, the task's metric.
    fitted = _fit(make_pipeline(pre, Ridge()), X, t)
    assert scorer(fitted, X, t) == pytest.approx(
        robust_r2(fitted, X, t, eps=0.5, random_state=0)
    )


def test_scorer_failure_in_search_raises_with_sklips_message(data):
    from sklearn.model_selection import GridSearchCV

    from sklip.robustness import make_robustness_scorer

    X, y = data
    model = make_pipeline(KNNImputer(), LogisticRegression())
    scorer = make_robustness_scorer(eps=0.5, metric="certified_accuracy")
    search = GridSearchCV(
        model, {"logisticregression__C": [1.0]}, scoring=scorer, cv=2,
        error_score="raise",
    )  # fmt: skip
    with pytest.raises(TypeError, match="KNNImputer: its imputed values depend"):
        search.fit(X, y)
    # scikit-learn's default hides it as NaN, but says why, in sklip's words.
    search.set_params(error_score=np.nan)
    with (
        pytest.warns(UserWarning, match="KNNImputer: its imputed values depend"),
        pytest.warns(UserWarning, match="test scores are non-finite"),
    ):
        search.fit(X, y)
    assert np.isnan(search.cv_results_["mean_test_score"]).all()


def test_a_non_finite_score_is_an_error():
    from sklip._scorer import BaseScorer

    class NaNScorer(BaseScorer):
        def _score(self, estimator, X, y, **kwargs):
            return np.float64(np.nan)

    with pytest.raises(ValueError, match="NaNScorer.*as nan, not a finite"):
        NaNScorer()(LogisticRegression(), None)


# --------------------------------------------------------------------------
# The display and the empirical lower bound on rows with NaN.


def test_display_grid_counts_missing_entries_as_no_spread(linear, data):
    from sklip.robustness import RobustnessCurveDisplay, default_eps

    X, y = data
    display = RobustnessCurveDisplay.from_estimator(
        linear, X, y, attacks=("auto", "certified")
    )
    mean = np.nanmean(X, axis=0)
    filled = np.where(np.isnan(X), mean, X)
    assert display.eps[5] == pytest.approx(default_eps(filled))
    auto, certified = display.scores["auto"], display.scores["certified"]
    assert np.all(np.isfinite(auto)) and np.all(certified <= auto + 1e-12)
    # The curve at eps is the library's robust accuracy on the same rows.
    assert auto[5] == pytest.approx(
        robust_accuracy(linear, X, y, eps=display.eps[5], random_state=0)
    )


def test_lower_bound_point_keeps_nan_where_it_was_measured(mlp, data):
    from sklip._core.inputs import Inputs
    from sklip.lipschitz import lipschitz_bound, lipschitz_lower_bound
    from sklip.lipschitz._lower import _jacobian_norms

    X, _ = data
    value, point = lipschitz_lower_bound(
        mlp, X, n_restarts=4, n_iter=5, random_state=0, return_point=True
    )
    assert 0 < value <= lipschitz_bound(mlp)
    row = np.flatnonzero([np.array_equal(np.isnan(point), np.isnan(x)) for x in X])
    assert row.size  # the point has the NaN pattern of some row of X
    # Its Jacobian norm over the raw columns, through the imputer, is the value.
    network, Z, _ = Inputs(mlp, point[None, :]).attack_space()
    assert _jacobian_norms(network, Z, X.shape[1])[0] == pytest.approx(value, rel=1e-9)


def test_falsifier_holds_each_rows_missing_entries(mlp, data):
    """The attack certify runs on undecided rows (a subset) moves, in the
    attack space, only the observed coordinates of those very rows."""
    from sklip._core.inputs import Inputs
    from sklip.robustness._certify import _falsifier, classifier_certifier

    X, y = data
    inputs = Inputs(mlp, X)
    cert, pred = classifier_certifier(mlp, inputs, 2, None)
    falsifier = _falsifier(mlp, cert, mlp.classes_[pred], 0)
    rows = np.flatnonzero(np.isnan(X).any(axis=1))[::-1][:25]
    points = falsifier(rows, 2.0)
    moved = points - cert.Z[rows]
    assert np.all(moved[~cert.mask[rows]] == 0)
    assert np.abs(moved).max() > 0.5


def test_pandas_nullable_missing_is_nan(data):
    """``pd.NA`` in a nullable ``Float64`` frame is a missing entry like NaN:
    the same perturbation, the same scores, and it stays missing."""
    X, y = data
    frame = pd.DataFrame(X, columns=[f"x{j}" for j in range(X.shape[1])])
    nullable = frame.astype("Float64")
    assert nullable.isna().to_numpy().sum() == np.isnan(X).sum() > 0
    net = LipschitzMLPClassifier((8,), max_iter=60, random_state=0)
    mlp = _fit(make_pipeline(SimpleImputer(), StandardScaler(), net), frame, y)
    adv = perturb(mlp, frame, y, eps=0.5, random_state=0)
    adv_nullable = perturb(mlp, nullable, y, eps=0.5, random_state=0)
    np.testing.assert_array_equal(
        np.asarray(adv_nullable, dtype=float), np.asarray(adv, dtype=float)
    )
    assert robust_accuracy(mlp, nullable, y, eps=0.5, random_state=0) == (
        robust_accuracy(mlp, frame, y, eps=0.5, random_state=0)
    )
    assert certified_accuracy(mlp, nullable, y, eps=0.5) == certified_accuracy(
        mlp, frame, y, eps=0.5
    )
