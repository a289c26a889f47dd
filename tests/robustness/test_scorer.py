"""make_robustness_scorer in model selection: dict scoring, refit callables,
n_jobs, sample weights, metadata routing and pickling."""

import pickle

import numpy as np
import pytest
import sklearn
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import GridSearchCV, KFold, cross_validate
from sklearn.neural_network import MLPClassifier

from sklip.lipschitz import lipschitz_bound
from sklip.robustness import (
    certified_accuracy,
    make_robustness_scorer,
    max_output_deviation,
    robust_accuracy,
)

from .._robustness_models import blobs, logreg, mlp_regressor, regression, ridge

ALL_CLASSIFIER_METRICS = [
    "robust_accuracy",
    "prediction_stability",
    "certified_accuracy",
]
ALL_REGRESSOR_METRICS = [
    "robust_r2",
    "max_output_deviation",
    "certified_max_output_deviation",
]


def _search(n_jobs, fit_params=None):
    X, y = blobs(2)
    scoring = {
        "accuracy": "accuracy",
        "robust": make_robustness_scorer(eps=0.5, n_restarts=2),
        "noise": make_robustness_scorer(eps=1.0, attack="noise", n_restarts=2),
        "certified": make_robustness_scorer(eps=0.5, metric="certified_accuracy"),
    }
    return GridSearchCV(
        MLPClassifier((8,), max_iter=100, random_state=0),
        {"alpha": [1e-4, 10.0]},
        scoring=scoring,
        refit="accuracy",
        cv=KFold(3),
        n_jobs=n_jobs,
    ).fit(X, y, **(fit_params or {}))


def test_identical_results_under_n_jobs_1_and_2():
    r1, r2 = _search(1).cv_results_, _search(2).cv_results_
    for key in r1:
        if "_test_" in key:
            np.testing.assert_array_equal(r1[key], r2[key], err_msg=key)


def test_refit_callable_best_accuracy_among_robust_candidates():
    X, y = blobs(2)
    scoring = {"accuracy": "accuracy", "robust": make_robustness_scorer(eps=0.25)}

    def refit(cv_results):
        """Best accuracy among candidates with robust accuracy >= 0.8."""
        acc = np.asarray(cv_results["mean_test_accuracy"])
        ok = np.asarray(cv_results["mean_test_robust"]) >= 0.8
        if not ok.any():
            raise ValueError("no candidate is robust enough")
        return int(np.flatnonzero(ok)[np.argmax(acc[ok])])

    search = GridSearchCV(
        LogisticRegression(),
        {"C": [1e-3, 1e-2, 1e-1, 1.0, 100.0]},
        scoring=scoring,
        refit=refit,
        cv=KFold(3),
    ).fit(X, y)
    res = search.cv_results_
    i = search.best_index_
    assert res["mean_test_robust"][i] >= 0.8
    better = res["mean_test_accuracy"] > res["mean_test_accuracy"][i]
    assert np.all(res["mean_test_robust"][better] < 0.8)
    # Not vacuous: plain accuracy alone would pick another candidate.
    assert better.any() and i != np.argmax(res["mean_test_accuracy"])
    assert hasattr(search, "best_estimator_")


def test_scores_match_the_metric_on_each_fold():
    X, y = blobs(2)
    scorer = make_robustness_scorer(eps=0.5, n_iter=10)
    cv = cross_validate(
        LogisticRegression(),
        X,
        y,
        cv=KFold(3),
        scoring={"r": scorer},
        return_estimator=True,
    )
    for est, (_, test), score in zip(cv["estimator"], KFold(3).split(X), cv["test_r"]):
        assert score == robust_accuracy(
            est, X[test], y[test], eps=0.5, n_iter=10, random_state=0
        )


def test_sample_weight_with_dict_scoring_without_routing():
    """scikit-learn 1.9 forwards fit's sample_weight to every scorer of a
    dict scoring in a search (and raises AttributeError for scorers lacking
    _accept_sample_weight, its issue 31599)."""
    X, y = blobs(2)
    w = np.random.default_rng(0).uniform(size=len(y))
    search = GridSearchCV(
        LogisticRegression(),
        {"C": [0.1, 1.0]},
        cv=KFold(3),
        refit="acc",
        scoring={"acc": "accuracy", "r": make_robustness_scorer(eps=0.5)},
    ).fit(X, y, sample_weight=w)
    train, test = next(KFold(3).split(X))
    est = LogisticRegression(C=0.1).fit(X[train], y[train], sample_weight=w[train])
    weighted = robust_accuracy(
        est, X[test], y[test], eps=0.5, random_state=0, sample_weight=w[test]
    )
    unweighted = robust_accuracy(est, X[test], y[test], eps=0.5, random_state=0)
    assert weighted != unweighted
    assert search.cv_results_["split0_test_r"][0] == pytest.approx(weighted)


def test_metadata_routing():
    X, y = blobs(2)
    w = np.random.default_rng(0).uniform(size=len(y))
    with sklearn.config_context(enable_metadata_routing=True):
        scorer = make_robustness_scorer(eps=0.5).set_score_request(sample_weight=True)
        est = LogisticRegression().set_fit_request(sample_weight=True)
        cv = cross_validate(
            est,
            X,
            y,
            cv=KFold(3),
            scoring={"r": scorer},
            params={"sample_weight": w},
            return_estimator=True,
        )
        fitted, (_, test) = cv["estimator"][0], next(KFold(3).split(X))
        assert cv["test_r"][0] == pytest.approx(
            robust_accuracy(
                fitted,
                X[test],
                y[test],
                eps=0.5,
                random_state=0,
                sample_weight=w[test],
            )
        )
        # Not requested: passing sample_weight is an error, sklearn's default.
        with pytest.raises(Exception, match="sample_weight"):
            cross_validate(
                est,
                X,
                y,
                cv=KFold(3),
                scoring={"r": make_robustness_scorer(eps=0.5)},
                params={"sample_weight": w},
            )
    with pytest.raises(RuntimeError, match="metadata routing"):
        make_robustness_scorer(eps=0.5).set_score_request(sample_weight=True)


@pytest.mark.parametrize("metric", ALL_CLASSIFIER_METRICS + ALL_REGRESSOR_METRICS)
def test_every_metric_scores_and_pickles(metric):
    if metric in ALL_CLASSIFIER_METRICS:
        model, (X, y) = logreg(), blobs(2)
    else:
        model, (X, y) = mlp_regressor(), regression()
    scorer = make_robustness_scorer(eps=0.3, metric=metric, random_state=5)
    value = scorer(model, X, y)
    assert np.isfinite(value)
    clone = pickle.loads(pickle.dumps(scorer))
    assert clone(model, X, y) == value == scorer(model, X, y)
    assert repr(clone) == repr(scorer)
    assert repr(scorer).startswith(f"make_robustness_scorer(eps=0.3, metric={metric!r}")


def test_deviation_scorers_are_negated():
    X, y = regression()
    scorer = make_robustness_scorer(eps=0.3, metric="max_output_deviation")
    assert scorer(ridge(), X, y) == -max_output_deviation(
        ridge(), X, eps=0.3, random_state=0
    )
    cert = make_robustness_scorer(eps=0.3, metric="certified_max_output_deviation")
    assert cert(ridge(), X) == pytest.approx(-0.3 * lipschitz_bound(ridge()))
    # Greater is better: the smoother model scores higher.
    stiff = Ridge(alpha=1e-6).fit(X, 3 * y)
    assert cert(stiff, X) < cert(ridge(), X)


def test_certified_scorer_matches_metric():
    X, y = blobs(2)
    scorer = make_robustness_scorer(eps=0.4, metric="certified_accuracy")
    assert scorer(logreg(), X, y) == certified_accuracy(logreg(), X, y, eps=0.4)


def test_random_state_is_kept_as_an_int_seed():
    X, y = blobs(2)
    rs = np.random.RandomState(0)
    scorer = make_robustness_scorer(eps=1.0, attack="noise", random_state=rs)
    assert isinstance(scorer.random_state, int)
    assert scorer(logreg(), X, y) == scorer(logreg(), X, y)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(eps=0.1, metric="accuracy"), "metric"),
        (dict(eps=-0.1), "eps"),
        (dict(eps=0.1, attack="cw"), "attack"),
        (dict(eps=0.1, norm=1), "norm"),
        (dict(eps=0.1, n_iter=0), "n_iter"),
        (dict(eps=0.1, random_state="x"), "random_state"),
    ],
)
def test_bad_parameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_robustness_scorer(**kwargs)


def test_needs_y():
    X, _ = blobs(2)
    with pytest.raises(ValueError, match="needs y"):
        make_robustness_scorer(eps=0.1)(logreg(), X)


def test_default_metric_follows_the_task():
    """metric="auto": robust R^2 on a regressor (not a NaN from
    robust_accuracy refusing it), robust accuracy on a classifier."""
    from sklearn.datasets import make_classification, make_regression
    from sklearn.linear_model import LogisticRegression, Ridge

    from sklip.robustness import robust_accuracy, robust_r2

    X, y = make_regression(n_samples=60, n_features=3, noise=5.0, random_state=0)
    reg = Ridge().fit(X, y)
    scorer = make_robustness_scorer(eps=0.3)
    assert scorer(reg, X, y) == pytest.approx(
        robust_r2(reg, X, y, eps=0.3, random_state=0)
    )
    Xc, yc = make_classification(n_samples=60, random_state=0)
    clf = LogisticRegression().fit(Xc, yc)
    assert scorer(clf, Xc, yc) == pytest.approx(
        robust_accuracy(clf, Xc, yc, eps=0.3, random_state=0)
    )
