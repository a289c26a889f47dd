"""A matrix of bad or unusual inputs to sklip's public functions.

Each case calls one public function with one parameter changed and says
what should happen: ``"error"`` (the value is invalid) or ``"ok"`` (a numpy
scalar or another spelling of a valid value, whose result must equal the
plain spelling's). Outcomes:

- ``ok``: returned as expected (and equal to the reference, when there is one);
- ``clear``: an expected ``ValueError``/``TypeError`` whose message names the
  parameter;
- ``unclear``: any other exception, or a message that does not name it or
  shows a numpy repr (``np.float64(-1.0)`` where ``-1.0`` was meant);
- ``silent``: returned where an error was expected, or a result different
  from the plain spelling's (silent coercion).

Run with the package to measure on ``PYTHONPATH`` (only the public API is
used, so it runs on older commits too)::

    PYTHONPATH=. python benchmarks/bad_inputs_matrix.py [--verbose]
"""

import argparse
import warnings
from collections import Counter

import numpy as np
from sklearn.datasets import make_classification, make_regression
from sklearn.linear_model import LogisticRegression, Ridge

import sklip
from sklip import lipschitz, robustness

X, Y = make_classification(n_samples=40, n_features=4, random_state=0)
XR, YR = make_regression(n_samples=40, n_features=4, random_state=0)
CLF = LogisticRegression().fit(X, Y)
REG = Ridge().fit(XR, YR)
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    MLP = sklip.LipschitzMLPClassifier(
        hidden_layer_sizes=(5,), max_iter=30, random_state=0
    ).fit(X, Y)
MULTILABEL = np.c_[Y, 1 - Y]
MULTIOUTPUT = np.c_[Y, (X[:, 0] > 0).astype(int) + (X[:, 1] > 0)]

FAST = dict(attack="pgd", n_iter=2, random_state=0)

# function name -> (callable(**kwargs), base kwargs)
FUNCTIONS = {
    "perturb": (lambda **k: robustness.perturb(MLP, X, **k), dict(eps=0.2, **FAST)),
    "robust_accuracy": (
        lambda **k: robustness.robust_accuracy(MLP, X, k.pop("y", Y), **k),
        dict(eps=0.2, **FAST),
    ),
    "prediction_stability": (
        lambda **k: robustness.prediction_stability(MLP, X, **k),
        dict(eps=0.2, **FAST),
    ),
    "robust_r2": (
        lambda **k: robustness.robust_r2(REG, XR, k.pop("y", YR), **k),
        dict(eps=0.2, **FAST),
    ),
    "max_output_deviation": (
        lambda **k: robustness.max_output_deviation(REG, XR, **k),
        dict(eps=0.2, **FAST),
    ),
    "certified_accuracy": (
        lambda **k: robustness.certified_accuracy(MLP, X, k.pop("y", Y), **k),
        dict(eps=0.2),
    ),
    "certified_radius": (lambda **k: robustness.certified_radius(MLP, X, **k), {}),
    "certified_max_output_deviation": (
        lambda **k: robustness.certified_max_output_deviation(REG, **k),
        dict(eps=0.2),
    ),
    "scorer": (
        lambda **k: robustness.make_robustness_scorer(**k)(MLP, X, Y),
        dict(eps=0.2, **FAST),
    ),
    "default_eps": (lambda **k: robustness.default_eps(X, **k), {}),
    "lipschitz_bound": (lambda **k: lipschitz.lipschitz_bound(MLP, **k), {}),
    "pairwise_lipschitz_bounds": (
        lambda **k: lipschitz.pairwise_lipschitz_bounds(MLP, **k),
        {},
    ),
    "lipschitz_lower_bound": (
        lambda **k: lipschitz.lipschitz_lower_bound(MLP, X, **k),
        dict(n_restarts=2, n_iter=2, random_state=0),
    ),
    "lipschitz_scorer": (
        lambda **k: lipschitz.make_lipschitz_scorer(**k)(MLP, X, Y),
        {},
    ),
    "set_worker_blas_threads": (
        lambda **k: sklip.set_worker_blas_threads(**k),
        dict(n=1),
    ),
    "limit_blas_threads": (
        lambda **k: _enter(sklip.limit_blas_threads(**k)),
        dict(n=1),
    ),
}


def _enter(context):
    with context:
        return True


COUNT_BAD = [0, -1, 2.5, True, "3", np.nan, np.int64(-1), np.float64(2.5)]
REAL_BAD = [-1.0, np.nan, np.inf, "a", True, None, np.float64(-1.0), np.int64(-2)]
FEATURES_BAD = [[True, 1], [np.True_, 1], [], [10], ["nope"], [0.5], [[0, 1]]]
FEATURES_BAD += [[np.int64(10)], np.int64(-9), [np.float64(0.5)], [np.str_("nope")]]
SEED_BAD = [-1, "a", 2**33, 1.5, True, np.int64(-1), np.float64(1.5)]
# numpy 2 reprs: a message must print the number, not its type.
NUMPY_REPRS = ("np.float", "np.int", "np.uint", "np.bool", "np.str_", "np.True_")

# parameter -> (bad values, unusual-but-valid values with the plain spelling)
PARAMETERS = {
    "eps": (REAL_BAD + [[0.1, -1.0], "0.1"], [(np.float32(0.25), 0.25)]),
    "norm": (
        [1, "inf", True, 3, None, np.float64(3.0), np.int64(1)],
        [(np.float64(np.inf), np.inf), (2.0, 2)],
    ),
    "attack": (["cw", None, 3, "PGD"], []),
    "n_iter": (COUNT_BAD, [(np.int64(2), 2), (np.int32(2), 2)]),
    "n_restarts": (COUNT_BAD + [None], [(np.int64(2), 2)]),
    "n_targets": (COUNT_BAD + [None], [(np.int64(2), 2)]),
    "n_queries": (COUNT_BAD, [(np.int64(5), 5)]),
    "step_size": (
        [0, -1.0, np.nan, np.inf, "a", True, np.float64(-1.0)],
        [(np.float32(0.5), 0.5)],
    ),
    "random_state": (SEED_BAD, [(np.int64(3), 3)]),
    "features": (
        FEATURES_BAD,
        [
            ([np.int64(0), np.int64(2)], [0, 2]),
            (np.array([True, False, True, False]), [0, 2]),
            (np.int64(1), 1),
        ],
    ),
    "sample_weight": (
        [np.full(40, -1.0), np.zeros(40), np.full(40, np.nan), np.ones(39), "a"],
        [],
    ),
    "clip": (
        [5.0, (None, 1.0), ("a", "b"), (-5.0, [1.0, 2.0]), np.float64(5.0)],
        [],
    ),
    "method": (["exact", None, 2, "Spectral"], []),
    "fraction": (
        [0, -1.0, np.nan, np.inf, "a", True, np.float64(-1.0)],
        [(np.float32(0.5), 0.5)],
    ),
    "n": ([-1, 1.5, True, "1", None, np.int64(-1)], [(np.int64(1), 1)]),
    "y": ([None, 1, MULTILABEL, MULTIOUTPUT, Y[:-1]], []),
    "metric": (["r2", None], []),
}


def _accepts(name, param):
    """Whether the public function ``name`` has the parameter ``param``."""
    import inspect

    has_y = name in ("robust_accuracy", "robust_r2", "certified_accuracy")
    if param == "y":
        return has_y
    if name in ("scorer", "lipschitz_scorer"):
        target = (
            robustness.make_robustness_scorer
            if name == "scorer"
            else lipschitz.make_lipschitz_scorer
        )
    else:
        target = (
            {
                "set_worker_blas_threads": sklip.set_worker_blas_threads,
                "limit_blas_threads": sklip.limit_blas_threads,
            }.get(name)
            or getattr(robustness, name, None)
            or getattr(lipschitz, name)
        )
    target = getattr(target, "__wrapped__", target)
    return param in inspect.signature(target).parameters


def _equal(a, b):
    try:
        if hasattr(a, "shape") or isinstance(a, (list, tuple)):
            return np.array_equal(np.asarray(a), np.asarray(b), equal_nan=True)
        return a == b or (a != a and b != b)
    except Exception:  # noqa: BLE001 - incomparable results are a difference
        return False


def run_case(func, base, param, value, expect, reference=None):
    """Outcome of one case: ok, clear, unclear or silent (and the message)."""
    kwargs = dict(base, **{param: value})
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = func(**kwargs)
    except (ValueError, TypeError) as exc:
        if expect == "ok":
            return "unclear", f"refused a valid value: {exc}"
        named = param in str(exc) or (param == "n" and "'n'" in str(exc))
        plain = not any(r in str(exc) for r in NUMPY_REPRS)
        return ("clear" if named and plain else "unclear"), str(exc)
    except Exception as exc:  # noqa: BLE001 - any other exception is unclear
        return "unclear", f"{type(exc).__name__}: {exc}"
    if expect == "error":
        return "silent", f"returned {str(result)[:60]!r}"
    if reference is not None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ref = func(**dict(base, **{param: reference}))
        if not _equal(result, ref):
            return "silent", f"{result!r} != {ref!r} with {reference!r}"
    return "ok", ""


def _fit(dtype, **params):
    model = sklip.LipschitzMLPClassifier(
        hidden_layer_sizes=(4,), max_iter=3, random_state=0, **params
    )
    model.fit(X.astype(dtype), Y)
    if not all(np.isfinite(W).all() for W in model.coefs_):
        raise AssertionError("non-finite weights")  # a silent wrong result
    return model


def _connect(timeout):
    from sklip.distributed import connect

    return connect("tcp://127.0.0.1:1", timeout=timeout)


def _lower(scale, activation):
    model = sklip.LipschitzMLPClassifier(
        hidden_layer_sizes=(5,), activation=activation, max_iter=20, random_state=0
    ).fit(X, Y)
    value = lipschitz.lipschitz_lower_bound(model, X * scale, random_state=0)
    if not 0 <= value <= lipschitz.lipschitz_bound(model):
        raise AssertionError(f"lower bound {value} outside [0, upper]")
    return value


# Extremes that pass the type checks: (label, call, parameter named if refused).
EXTREMES = [
    *[
        (f"fit({k}={v:g}, {d.__name__})", lambda d=d, k=k, v=v: _fit(d, **{k: v}), k)
        for d in (np.float32, np.float64)
        for k, v in [
            ("lipschitz_margin", 1e300),
            ("lipschitz_margin", 1e30),
            ("max_lipschitz", 1e-300),
            ("max_lipschitz", 1e-30),
            ("max_lipschitz", 1e300),
        ]
    ],
    *[
        (f"lower(X*{sc:g}, {a})", lambda sc=sc, a=a: _lower(sc, a), "X")
        for sc in (1e-300, 1e160, 1e300)
        for a in ("tanh", "logistic", "relu")
    ],
    ("connect(timeout=inf)", lambda: _connect(np.inf), "timeout"),
]


def run_extreme(call, param):
    """ok (computed, checked), clear (refused naming ``param``), unclear or
    silent (a wrong result)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            call()
    except AssertionError as exc:
        return "silent", str(exc)
    except (ValueError, TypeError) as exc:
        plain = not any(r in str(exc) for r in NUMPY_REPRS)
        return ("clear" if param in str(exc) and plain else "unclear"), str(exc)
    except Exception as exc:  # noqa: BLE001 - any other exception is unclear
        return "unclear", f"{type(exc).__name__}: {exc}"
    return "ok", ""


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--verbose", action="store_true", help="print every case")
    args = parser.parse_args()
    counts = Counter()
    per_class = Counter()
    for name, (func, base) in FUNCTIONS.items():
        for param, (bad, fine) in PARAMETERS.items():
            if not _accepts(name, param):
                continue
            if name == "lipschitz_lower_bound" and param == "n_iter":
                bad = [v for v in bad if v != 0]  # n_iter=0 is valid there
            if name == "scorer" and param == "method":
                bad = [v for v in bad if v is not None]  # each metric's default
            cases = [(v, "error", None) for v in bad]
            cases += [(v, "ok", ref) for v, ref in fine]
            for value, expect, ref in cases:
                outcome, message = run_case(func, base, param, value, expect, ref)
                counts[outcome] += 1
                per_class[(param, outcome)] += 1
                if args.verbose or outcome in ("unclear", "silent"):
                    shown = repr(value)[:40]
                    print(f"{outcome:8s} {name}({param}={shown}): {message[:150]}")
    for label, call, param in EXTREMES:
        outcome, message = run_extreme(call, param)
        counts[outcome] += 1
        per_class[(param, outcome)] += 1
        if args.verbose or outcome in ("unclear", "silent"):
            print(f"{outcome:8s} {label}: {message[:150]}")
    total = sum(counts.values())
    print(f"\n{total} cases: " + ", ".join(f"{k} {counts[k]}" for k in sorted(counts)))
    bad = sorted({p for (p, o) in per_class if o in ("unclear", "silent")})
    print("parameters with unclear or silent cases:", ", ".join(bad) or "none")


if __name__ == "__main__":
    main()
