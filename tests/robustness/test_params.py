"""AttackParams: one definition of the attack parameters, validated once."""

import dataclasses
import inspect

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from sklip.robustness import (
    RobustnessCurveDisplay,
    make_robustness_scorer,
    max_output_deviation,
    perturb,
    prediction_stability,
    robust_accuracy,
    robust_r2,
)
from sklip.robustness._attacks import run_attack
from sklip.robustness._params import ATTACKS, BLACK_BOX, AttackParams

FIELDS = [f.name for f in dataclasses.fields(AttackParams)]


def test_frozen_and_normalised():
    params = AttackParams(
        attack="pgd",
        norm=np.float64(np.inf),
        n_iter=np.int64(4),
        step_size=np.float32(0.5),
        n_restarts=np.int32(2),
    )
    assert params.norm == np.inf and params.n_iter == 4
    assert type(params.n_iter) is int and type(params.n_restarts) is int
    assert type(params.step_size) is float
    with pytest.raises(dataclasses.FrozenInstanceError):
        params.n_iter = 5
    changed = params.replace(n_iter=7)
    assert changed.n_iter == 7 and params.n_iter == 4


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"attack": "cw"}, "attack"),
        ({"norm": 1}, "norm"),
        ({"n_iter": 0}, "n_iter"),
        ({"n_iter": True}, "n_iter"),
        ({"step_size": -1.0}, "step_size"),
        ({"n_restarts": 1.5}, "n_restarts"),
        ({"n_targets": None}, "n_targets"),
        ({"n_queries": 0}, "n_queries"),
        ({"random_state": True}, "random_state"),
        ({"features": [True, 1]}, "features"),
    ],
)
def test_validation_names_the_parameter(kwargs, name):
    with pytest.raises(ValueError, match=f"'{name}' parameter of AttackParams"):
        AttackParams(**kwargs)
    # The same constraints guard the public functions.
    with pytest.raises(ValueError, match=f"'{name}' parameter of perturb"):
        perturb(LogisticRegression(), [[0.0]], eps=0.1, **kwargs)


def test_defaults_come_from_the_registry():
    assert AttackParams(attack="pgd").steps == ATTACKS["pgd"].n_iter == 20
    assert AttackParams(attack="apgd-ce").steps == ATTACKS["apgd-ce"].n_iter == 50
    assert AttackParams(attack="pgd", n_iter=3).steps == 3
    assert AttackParams().queries(black_box=True) == 1000
    assert AttackParams().queries(black_box=False) == 250
    assert AttackParams(n_queries=7).queries(black_box=True) == 7
    assert BLACK_BOX == ("auto", "square", "noise")


@pytest.mark.parametrize(
    "func",
    [perturb, robust_accuracy, prediction_stability, robust_r2, max_output_deviation,
     make_robustness_scorer, RobustnessCurveDisplay.from_estimator],
)  # fmt: skip
def test_every_entry_point_has_the_same_keywords_and_defaults(func):
    signature = inspect.signature(func).parameters
    defaults = AttackParams()
    for name in FIELDS:
        if name == "attack" and "attacks" in signature:
            continue  # the display draws one curve per attack
        assert name in signature, name
        if name == "random_state":
            continue  # metrics: None; scorers and display: 0 (reproducible)
        assert signature[name].default == getattr(defaults, name), name


def test_perturb_is_run_attack_with_params():
    X = np.array([[-2.0, 0.0], [-1.0, 0.5], [1.0, -0.5], [2.0, 0.0]])
    clf = LogisticRegression().fit(X, [0, 0, 1, 1])
    params = AttackParams(attack="noise", n_restarts=3, random_state=0)
    a = perturb(clf, X, eps=0.5, **params.as_dict())
    b = run_attack(clf, X, None, eps=0.5, params=params)
    np.testing.assert_array_equal(a, b)
