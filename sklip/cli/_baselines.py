"""Baselines of every report, measured like the candidates.

- the majority-class (classification) or mean (regression) predictor: a
  constant, so its Lipschitz constant is 0 and no perturbation changes its
  predictions (robust = certified = clean score);
- a linear model on the same encoding and scaling (``LogisticRegression``,
  ``RidgeCV``), cross-validated on the same folds with the same scorers, so
  its bound, robust and certified scores are in the same units.

A candidate no better than the constant predictor has collapsed; a candidate
no better than the linear model is worth a remark.
"""

import numpy as np
from sklearn.dummy import DummyClassifier, DummyRegressor
from sklearn.linear_model import LogisticRegression, RidgeCV
from sklearn.model_selection import cross_validate
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from ._model import METRICS, make_scorers

CONSTANT = {"classification": "majority class", "regression": "mean predictor"}
LINEAR = {"classification": "LogisticRegression", "regression": "RidgeCV"}


def linear_model(task, encoder):
    """The linear baseline pipeline (unfitted)."""
    final = (
        LogisticRegression(max_iter=2000)
        if task == "classification"
        else RidgeCV(alphas=np.logspace(-3, 3, 13))
    )
    return Pipeline(
        [("encode", encoder), ("net", make_pipeline(StandardScaler(), final))]
    )


def _constant_scores(task, score):
    main, robust = METRICS[task][0], METRICS[task][2]
    scores = {main: score, "lipschitz_bound": 0.0, robust: score}
    if task == "classification":
        scores["certified_accuracy"] = score
    return scores


def run_baselines(encoder, X, y, held_out, cv, args, log):
    """``[constant, linear]``: dicts with ``name``, ``cv`` (mean scores on
    the folds of the search), ``test`` (scores on ``held_out``, a
    :class:`~sklip.cli._model.HeldOut`) and ``model``."""
    task = held_out.task
    main = METRICS[task][0]
    constant = (
        DummyClassifier(strategy="most_frequent")
        if task == "classification"
        else DummyRegressor(strategy="mean")
    )
    folds = cross_validate(constant, X, y, cv=cv, error_score="raise")
    fitted = constant.fit(X, y)
    rows = [
        {
            "name": CONSTANT[task],
            "cv": _constant_scores(task, float(np.mean(folds["test_score"]))),
            "test": _constant_scores(task, float(fitted.score(held_out.X, held_out.y))),
            "model": fitted,
        }
    ]
    log(f"baselines: {CONSTANT[task]}, {LINEAR[task]} ", end="")
    linear = linear_model(task, encoder)
    scoring = make_scorers(task, held_out.units, held_out.eps, args.random_state)
    folds = cross_validate(
        linear, X, y, cv=cv, scoring=scoring, n_jobs=args.n_jobs, error_score="raise"
    )
    cv_scores = {}
    for metric in METRICS[task]:
        sign = -1.0 if metric == "lipschitz_bound" else 1.0
        cv_scores[metric] = sign * float(np.mean(folds[f"test_{metric}"]))
    fitted = linear.fit(X, y)
    rows.append(
        {
            "name": LINEAR[task],
            "cv": cv_scores,
            "test": held_out.scores(fitted),
            "model": fitted,
        }
    )
    log(f"done; cv {main} {rows[0]['cv'][main]:.3f}, {cv_scores[main]:.3f}")
    return rows
