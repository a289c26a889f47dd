"""The Lipschitz scorer and the scorer base class inside scikit-learn's tools."""

import pickle
import warnings

import numpy as np
import pytest
import sklearn
from sklearn.base import clone
from sklearn.datasets import make_classification
from sklearn.exceptions import UnsetMetadataPassedError
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, make_scorer
from sklearn.model_selection import (
    GridSearchCV,
    KFold,
    RandomizedSearchCV,
    cross_validate,
)
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklip._scorer import BaseScorer
from sklip.lipschitz import lipschitz_bound, lipschitz_scorer, make_lipschitz_scorer
from sklip.neural_network import LipschitzMLPClassifier

X, Y = make_classification(
    n_samples=90, n_features=5, n_informative=3, n_classes=3, random_state=0
)
SW = np.random.default_rng(0).uniform(0.5, 2.0, size=len(Y))
CV = KFold(3)
GRID = {"logisticregression__C": [0.01, 0.1, 1.0]}


def pipe():
    return make_pipeline(StandardScaler(), LogisticRegression())


def expected_scores(C, method="auto", sample_weight=None):
    """Oracle: fit each fold by hand and take -bound."""
    scores = []
    for train, _ in CV.split(X, Y):
        model = pipe().set_params(logisticregression__C=C)
        kw = (
            {}
            if sample_weight is None
            else {"logisticregression__sample_weight": sample_weight[train]}
        )
        model.fit(X[train], Y[train], **kw)
        scores.append(-lipschitz_bound(model, method=method))
    return np.mean(scores)


def test_scorer_value_and_repr():
    model = pipe().fit(X, Y)
    assert lipschitz_scorer(model, X, Y) == -lipschitz_bound(model)
    assert lipschitz_scorer(model, X) == -lipschitz_bound(model)
    scorer = make_lipschitz_scorer("frobenius")
    assert scorer(model, X, Y, sample_weight=SW) == -lipschitz_bound(
        model, method="frobenius"
    )
    assert repr(lipschitz_scorer) == "make_lipschitz_scorer(method='auto')"
    assert repr(scorer) == "make_lipschitz_scorer(method='frobenius')"


def test_unknown_method():
    with pytest.raises(
        ValueError,
        match=r"'method' parameter of make_lipschitz_scorer must be a str among",
    ):
        make_lipschitz_scorer("lower")


def test_pickle_roundtrip():
    model = pipe().fit(X, Y)
    for scorer in (lipschitz_scorer, make_lipschitz_scorer("spectral")):
        clone_ = pickle.loads(pickle.dumps(scorer))
        assert repr(clone_) == repr(scorer)
        assert clone_(model, X, Y) == scorer(model, X, Y)


def test_grid_search_dict_scoring_with_sample_weight_n_jobs_2():
    search = GridSearchCV(
        pipe(),
        GRID,
        cv=CV,
        n_jobs=2,
        refit="accuracy",
        scoring={"accuracy": "accuracy", "lipschitz": lipschitz_scorer},
    )
    with warnings.catch_warnings():
        # scikit-learn warns when a scorer does not accept sample_weight.
        warnings.filterwarnings("error", message=".*does not support sample_weight")
        search.fit(X, Y, logisticregression__sample_weight=SW)
    got = search.cv_results_["mean_test_lipschitz"]
    want = [expected_scores(C, sample_weight=SW) for C in GRID["logisticregression__C"]]
    np.testing.assert_allclose(got, want, rtol=1e-6)
    assert np.all(np.diff(got) < 0)  # less regularisation, larger bound


def test_grid_search_passes_sample_weight_to_scorers():
    # sample_weight given to fit reaches the scorers when routing is disabled:
    # this crashed with AttributeError for objects lacking _accept_sample_weight.
    search = GridSearchCV(
        LogisticRegression(),
        {"C": [0.1, 1.0]},
        cv=CV,
        refit="lipschitz",
        scoring={"accuracy": "accuracy", "lipschitz": lipschitz_scorer},
    ).fit(X, Y, sample_weight=SW)
    assert "mean_test_lipschitz" in search.cv_results_
    assert search.best_index_ == 0


def test_refit_callable_and_single_scorer():
    search = GridSearchCV(
        pipe(),
        GRID,
        cv=CV,
        scoring={"acc": "accuracy", "lip": lipschitz_scorer},
        refit=lambda res: int(np.argmax(res["mean_test_lip"])),
    ).fit(X, Y)
    assert search.best_index_ == 0
    single = GridSearchCV(pipe(), GRID, cv=CV, scoring=lipschitz_scorer).fit(X, Y)
    np.testing.assert_allclose(
        single.cv_results_["mean_test_score"], search.cv_results_["mean_test_lip"]
    )
    assert single.best_params_ == {"logisticregression__C": 0.01}


def test_cross_validate_and_randomized_search_with_sklip_estimator():
    model = LipschitzMLPClassifier(
        hidden_layer_sizes=(8,), max_iter=20, penalty="spectral", random_state=0
    )
    res = cross_validate(
        model,
        X,
        Y,
        cv=CV,
        return_estimator=True,
        scoring={"accuracy": "accuracy", "lipschitz": lipschitz_scorer},
    )
    np.testing.assert_allclose(
        res["test_lipschitz"], [-lipschitz_bound(est) for est in res["estimator"]]
    )
    search = RandomizedSearchCV(
        model,
        {"alpha": [1e-4, 1e-2, 1.0]},
        n_iter=2,
        cv=CV,
        random_state=0,
        scoring={
            "accuracy": "accuracy",
            "lipschitz": make_lipschitz_scorer("spectral"),
        },
        refit="accuracy",
    ).fit(X, Y)
    assert np.all(search.cv_results_["mean_test_lipschitz"] < 0)


class WeightedAccuracyScorer(BaseScorer):
    """A data-dependent subclass, as the robustness scorers are built."""

    _score_metadata = {"sample_weight": None}
    _factory_name = "make_weighted_accuracy_scorer"

    def _score(self, estimator, X, y, sample_weight=None):
        return accuracy_score(y, estimator.predict(X), sample_weight=sample_weight)


def test_base_scorer_receives_sample_weight_like_sklearn_scorers():
    common = dict(cv=CV, refit=False)
    ours = GridSearchCV(
        LogisticRegression(),
        {"C": [0.01, 1.0]},
        **common,
        scoring={"acc": WeightedAccuracyScorer(), "lip": lipschitz_scorer},
    )
    ref = GridSearchCV(
        LogisticRegression(), {"C": [0.01, 1.0]}, **common, scoring={"acc": "accuracy"}
    )
    ours.fit(X, Y, sample_weight=SW)
    ref.fit(X, Y, sample_weight=SW)
    np.testing.assert_allclose(
        ours.cv_results_["mean_test_acc"], ref.cv_results_["mean_test_acc"]
    )
    assert repr(WeightedAccuracyScorer()) == "make_weighted_accuracy_scorer()"


def test_metadata_routing():
    with sklearn.config_context(enable_metadata_routing=True):
        ours = WeightedAccuracyScorer().set_score_request(sample_weight=True)
        ref = make_scorer(accuracy_score).set_score_request(sample_weight=True)
        est = LogisticRegression().set_fit_request(sample_weight=True)
        results = {}
        for name, acc in (("ours", ours), ("ref", ref)):
            search = GridSearchCV(
                clone(est),
                {"C": [0.01, 1.0]},
                cv=CV,
                refit="acc",
                n_jobs=1,
                scoring={"acc": acc, "lip": lipschitz_scorer},
            )
            search.fit(X, Y, sample_weight=SW)
            results[name] = search.cv_results_["mean_test_acc"]
        np.testing.assert_allclose(results["ours"], results["ref"])
        assert np.all(search.cv_results_["mean_test_lip"] < 0)

        # Requested sample weights differ from unweighted scoring.
        unweighted = GridSearchCV(
            clone(est),
            {"C": [0.01, 1.0]},
            cv=CV,
            scoring=WeightedAccuracyScorer().set_score_request(sample_weight=False),
        ).fit(X, Y, sample_weight=SW)
        assert not np.allclose(
            unweighted.cv_results_["mean_test_score"], results["ours"]
        )

        # The Lipschitz scorer consumes no metadata, so it needs no request...
        assert not lipschitz_scorer.get_metadata_routing().consumes(
            "score", ["sample_weight"]
        )
        res = cross_validate(
            clone(est),
            X,
            Y,
            cv=CV,
            scoring=lipschitz_scorer,
            params={"sample_weight": SW},
        )
        assert np.all(res["test_score"] < 0)
        # ... but may be given one; the value ignores it.
        scorer = make_lipschitz_scorer().set_score_request(sample_weight=True)
        assert scorer.get_metadata_routing().consumes("score", ["sample_weight"])
        model = clone(est).fit(X, Y)
        assert scorer(model, X, Y, sample_weight=SW) == -lipschitz_bound(model)
        with pytest.raises(ValueError, match="alias you're setting"):
            make_lipschitz_scorer().set_score_request(sample_weight=3.5)

        # A scorer whose sample_weight request is unset errors, as in sklearn.
        with pytest.raises(UnsetMetadataPassedError, match="sample_weight"):
            GridSearchCV(
                clone(est),
                {"C": [1.0]},
                cv=CV,
                scoring={"acc": WeightedAccuracyScorer()},
                refit=False,
            ).fit(X, Y, sample_weight=SW)


def test_routing_disabled_errors():
    with pytest.raises(RuntimeError, match="enable_metadata_routing=True"):
        make_lipschitz_scorer().set_score_request(sample_weight=True)
    model = pipe().fit(X, Y)
    with pytest.raises(ValueError, match="only supported if enable_metadata_routing"):
        lipschitz_scorer(model, X, Y, groups=np.zeros(len(Y)))
