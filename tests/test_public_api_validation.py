"""Every public function validates its parameters like scikit-learn's own.

The public API is enumerated from ``sklip.__all__`` and the subpackages'
``__all__``; each function must be wrapped by
``sklearn.utils._param_validation.validate_params`` (which leaves
``__wrapped__`` and ``_skl_parameter_constraints`` on the wrapper) with a
constraint for every parameter, or be listed below with the reason why not.
"""

import importlib
import inspect

import numpy as np
import pytest
from sklearn.base import BaseEstimator
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression
from sklearn.utils._param_validation import InvalidParameterError

import sklip
from sklip.lipschitz import (
    lipschitz_bound,
    lipschitz_lower_bound,
    make_lipschitz_scorer,
    pairwise_lipschitz_bounds,
)
from sklip.robustness import (
    RobustnessCurveDisplay,
    certified_accuracy,
    certified_radius,
    default_eps,
    make_robustness_scorer,
    perturb,
    robust_accuracy,
)

PACKAGES = (
    "sklip",
    "sklip.lipschitz",
    "sklip.robustness",
    "sklip.neural_network",
    "sklip.pipeline",
    "sklip.distributed",
)

# Public classes that only hold results of a validated function.
RESULTS = {"CertifyResult": "returned by certify()"}

# Public callables that are not validate_params-wrapped functions, and why.
NOT_WRAPPED = {
    "get_worker_blas_threads": "takes no parameters",
    "lipschitz_scorer": (
        "a scorer object, make_lipschitz_scorer() made once at import (its "
        "call takes scikit-learn's scorer arguments)"
    ),
}


def _public_objects():
    seen = {}
    for package in PACKAGES:
        module = importlib.import_module(package)
        for name in module.__all__:
            seen.setdefault(name, (package, getattr(module, name)))
    return seen


PUBLIC = _public_objects()
FUNCTIONS = {
    name: obj
    for name, (_, obj) in PUBLIC.items()
    if inspect.isfunction(obj) or inspect.isfunction(getattr(obj, "__wrapped__", 0))
}
CLASSES = {name: obj for name, (_, obj) in PUBLIC.items() if inspect.isclass(obj)}


def test_the_api_is_enumerated():
    # A guard on the enumeration itself: the known entry points are found.
    for name in ("perturb", "robust_accuracy", "lipschitz_bound", "make_pipeline"):
        assert name in FUNCTIONS
    assert "connect" in FUNCTIONS and "local_cluster" in FUNCTIONS
    assert "LipschitzMLPClassifier" in CLASSES
    listed = set(FUNCTIONS) | set(CLASSES) | set(NOT_WRAPPED)
    assert listed == set(PUBLIC), set(PUBLIC) - listed


@pytest.mark.parametrize("name", sorted(set(FUNCTIONS) - set(NOT_WRAPPED)))
def test_public_function_is_wrapped_by_validate_params(name):
    func = FUNCTIONS[name]
    assert hasattr(func, "__wrapped__"), f"{name} is not wrapped"
    constraints = getattr(func, "_skl_parameter_constraints", None)
    assert isinstance(constraints, dict), f"{name} has no validate_params constraints"
    params = [
        p.name
        for p in inspect.signature(func).parameters.values()
        if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    ]
    missing = [p for p in params if p not in constraints]
    assert not missing, f"{name}: no constraint for {missing}"


@pytest.mark.parametrize("name", sorted(NOT_WRAPPED))
def test_unwrapped_callables_have_a_reason(name):
    assert name in PUBLIC and NOT_WRAPPED[name]
    obj = PUBLIC[name][1]
    if inspect.isfunction(obj):
        # The reason "takes no parameters" must stay true.
        assert not inspect.signature(obj).parameters


@pytest.mark.parametrize("name", sorted(CLASSES))
def test_public_classes_validate(name):
    cls = CLASSES[name]
    if issubclass(cls, BaseEstimator):
        constraints = cls._parameter_constraints
        params = set(inspect.signature(cls.__init__).parameters) - {"self"}
        assert params <= set(constraints), params - set(constraints)
    elif hasattr(cls, "from_estimator"):  # a display: stores computed data
        assert hasattr(cls.from_estimator, "_skl_parameter_constraints")
    else:  # a result container (CertifyResult), made by a validated function
        assert name in RESULTS, f"{name}: neither validated nor a known result"


# --------------------------------------------------------------------------
# The shared vocabulary: numpy scalars pass where Python numbers do.

X, Y = make_classification(n_samples=60, n_features=4, random_state=0)


@pytest.fixture(scope="module")
def clf():
    return LogisticRegression().fit(X, Y)


def test_numpy_scalars_give_the_same_results(clf):
    plain = robust_accuracy(
        clf, X, Y, eps=0.3, attack="pgd", n_iter=3, n_restarts=2, random_state=0
    )
    numpy = robust_accuracy(
        clf,
        X,
        Y,
        eps=np.float32(0.3),
        attack=np.str_("pgd"),
        n_iter=np.int64(3),
        n_restarts=np.int32(2),
        random_state=np.int64(0),
        norm=np.float64(2.0),
    )
    assert numpy == pytest.approx(plain, abs=1e-6)
    assert lipschitz_lower_bound(
        clf, X, n_restarts=np.int64(2), n_iter=np.int8(3), random_state=0
    ) == lipschitz_lower_bound(clf, X, n_restarts=2, n_iter=3, random_state=0)
    assert default_eps(X, fraction=np.float32(0.5)) == pytest.approx(
        default_eps(X, fraction=0.5)
    )
    previous = sklip.set_worker_blas_threads(np.int64(2))
    try:
        assert sklip.get_worker_blas_threads() == 2
        assert type(sklip.get_worker_blas_threads()) is int
    finally:
        sklip.set_worker_blas_threads(previous)
    with sklip.limit_blas_threads(np.int64(1)):
        pass
    scorer = make_robustness_scorer(eps=np.float64(0.3), n_iter=np.int64(3))
    assert scorer.n_iter == 3 and type(scorer.n_iter) is int


def test_estimators_accept_numpy_scalars():
    a = sklip.LipschitzMLPClassifier(
        hidden_layer_sizes=(np.int64(3),),
        max_iter=np.int64(5),
        alpha=np.float64(1e-3),
        random_state=0,
    ).fit(X, Y)
    b = sklip.LipschitzMLPClassifier(
        hidden_layer_sizes=(3,),
        max_iter=5,
        alpha=1e-3,
        random_state=0,
    ).fit(X, Y)
    for ca, cb in zip(a.coefs_, b.coefs_):
        np.testing.assert_array_equal(ca, cb)


@pytest.mark.parametrize(
    "call, name",
    [
        (lambda m: robust_accuracy(m, X, Y, eps=0.1, n_iter=True), "n_iter"),
        (lambda m: robust_accuracy(m, X, Y, eps=True), "eps"),
        (lambda m: perturb(m, X, eps=0.1, n_restarts=0), "n_restarts"),
        (lambda m: perturb(m, X, eps=np.inf), "eps"),
        (lambda m: perturb(m, X, eps=0.1, norm=1), "norm"),
        (lambda m: perturb(m, X, eps=0.1, attack="cw"), "attack"),
        (lambda m: perturb(m, X, eps=0.1, step_size=0), "step_size"),
        (lambda m: certified_accuracy(m, X, Y, eps=-1.0), "eps"),
        (lambda m: make_robustness_scorer(eps=0.1, metric="r2"), "metric"),
        (lambda m: lipschitz_bound(m, method="exact"), "method"),
        (lambda m: default_eps(X, fraction=0), "fraction"),
    ],
)
def test_bad_values_name_the_function_the_parameter_and_the_range(clf, call, name):
    with pytest.raises(InvalidParameterError, match=f"'{name}' parameter of") as info:
        call(clf)
    assert "Got " in str(info.value)  # the value given is echoed


def test_attack_choices_come_from_the_registry(clf):
    from sklip.robustness._params import ATTACKS

    with pytest.raises(InvalidParameterError) as info:
        perturb(clf, X, eps=0.1, attack="cw")
    listed = ", ".join(repr(a) for a in ATTACKS)
    assert f"{{{listed}}}" in str(info.value)


# --------------------------------------------------------------------------
# One selector parser: every entry point reads features= the same way.

MIXED = [True, 1]


@pytest.mark.parametrize(
    "call",
    [
        lambda m: perturb(m, X, eps=0.1, features=MIXED),
        lambda m: robust_accuracy(m, X, Y, eps=0.1, features=MIXED),
        lambda m: make_robustness_scorer(eps=0.1, features=MIXED),
        lambda m: make_lipschitz_scorer(features=MIXED),
        lambda m: lipschitz_bound(m, features=MIXED),
        lambda m: pairwise_lipschitz_bounds(m, features=MIXED),
        lambda m: lipschitz_lower_bound(m, X, features=MIXED),
        lambda m: certified_radius(m, X, features=MIXED),
        lambda m: certified_accuracy(m, X, Y, eps=0.1, features=MIXED),
        lambda m: RobustnessCurveDisplay.from_estimator(
            m, X, Y, eps=[0.1], features=MIXED
        ),
    ],
    ids=[
        "perturb",
        "robust_accuracy",
        "robustness_scorer",
        "lipschitz_scorer",
        "lipschitz_bound",
        "pairwise",
        "lower",
        "certified_radius",
        "certified_accuracy",
        "display",
    ],
)
def test_mixed_bool_and_int_selection_is_refused_everywhere(clf, call):
    pytest.importorskip("matplotlib")
    with pytest.raises(ValueError, match=r"'features' parameter .*not a mix"):
        call(clf)


def test_scorer_features_read_as_the_metric_reads_them(clf):
    # numpy ints and a boolean mask select the same columns as Python ints:
    # the scorer stores plain values, never np.asarray's coercion.
    mask = np.array([True, False, True, False])
    ref = robust_accuracy(clf, X, Y, eps=0.5, features=[0, 2], random_state=0)
    for features in ([np.int64(0), np.int64(2)], mask, (0, 2), np.array([0, 2])):
        scorer = make_robustness_scorer(eps=0.5, features=features)
        assert all(type(v) in (int, bool) for v in scorer.features)
        assert scorer(clf, X, Y) == ref
    assert make_robustness_scorer(eps=0.5, features=mask).features == (
        True,
        False,
        True,
        False,
    )


def test_selection_edge_cases():
    from sklip._validation import resolve_features

    assert resolve_features(np.int64(-1), 4).tolist() == [3]
    assert resolve_features(np.array(2), 4).tolist() == [2]
    assert resolve_features(np.array([True, False, False, True]), 4).tolist() == [0, 3]
    with pytest.raises(ValueError, match="selects no column"):
        resolve_features([], 4)
    with pytest.raises(ValueError, match="not a mix"):
        resolve_features(["a", 0], 4, names=list("abcd"))
    with pytest.raises(ValueError, match="not a mix"):
        resolve_features([0.5], 4)
