"""Error messages print plain numbers, not numpy 2's scalar reprs.

numpy 2 writes ``repr(np.float64(0.5))`` as ``np.float64(0.5)``; a message
built with ``{value!r}`` (ours, or scikit-learn's parameter validation)
then reads "got np.float64(-1.0)". Numpy-scalar bad values are driven
through public functions and estimators; each message must name the value
as a plain number.
"""

import warnings

import numpy as np
import pytest
from sklearn.datasets import make_classification

import sklip
from sklip import LipschitzMLPClassifier, LipschitzMLPRegressor, lipschitz, robustness
from sklip._validation import plain, plain_message, show

X, Y = make_classification(n_samples=40, n_features=4, random_state=0)
NUMPY_REPRS = ("np.float", "np.int", "np.str_", "np.bool", "np.True_")


@pytest.fixture(scope="module")
def mlp():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return LipschitzMLPClassifier(
            hidden_layer_sizes=(4,), max_iter=5, random_state=0
        ).fit(X, Y)


def _message(call):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises((ValueError, TypeError)) as info:
            call()
    return str(info.value)


CASES = {
    "perturb eps": (
        lambda m: robustness.perturb(m, X, eps=np.float64(-1.5)),
        "-1.5",
    ),
    "robust_accuracy n_iter": (
        lambda m: robustness.robust_accuracy(
            m, X, Y, eps=0.1, attack="pgd", n_iter=np.int64(-3)
        ),
        "-3",
    ),
    "certified_radius norm": (
        lambda m: robustness.certified_radius(m, X, norm=np.float64(3.0)),
        "3.0",
    ),
    "certify eps": (
        lambda m: robustness.certify(m, X, eps=np.float64(-0.25)),
        "-0.25",
    ),
    "scorer eps": (
        lambda m: robustness.make_robustness_scorer(eps=np.float64(-2.5)),
        "-2.5",
    ),
    "default_eps fraction": (
        lambda m: robustness.default_eps(X, fraction=np.float64(-0.5)),
        "-0.5",
    ),
    "lipschitz_bound features index": (
        lambda m: lipschitz.lipschitz_bound(m, features=[np.int64(17)]),
        "[17]",
    ),
    "lipschitz_bound features name": (
        lambda m: lipschitz.lipschitz_bound(m, features=[np.str_("nope")]),
        "['nope']",
    ),
    "lower bound random_state": (
        lambda m: lipschitz.lipschitz_lower_bound(m, X, random_state=np.int64(-7)),
        "-7",
    ),
    "threads": (lambda m: sklip.set_worker_blas_threads(np.int64(-4)), "-4"),
    "classifier alpha": (
        lambda m: LipschitzMLPClassifier(alpha=np.float64(-0.75)).fit(X, Y),
        "-0.75",
    ),
    "regressor max_iter": (
        lambda m: LipschitzMLPRegressor(max_iter=np.int64(-9)).fit(X, X[:, 0]),
        "-9",
    ),
    "lipschitz_margin too large": (
        lambda m: LipschitzMLPClassifier(
            hidden_layer_sizes=(4,), lipschitz_margin=np.float64(1e300), max_iter=2
        ).fit(X, Y),
        "lipschitz_margin=1e+300",
    ),
}


@pytest.mark.parametrize("case", CASES, ids=CASES)
def test_error_messages_print_plain_numbers(mlp, case):
    call, plain_value = CASES[case]
    message = _message(lambda: call(mlp))
    assert not any(r in message for r in NUMPY_REPRS), message
    assert plain_value in message, message


def test_plain_and_show():
    assert plain(np.float64(0.5)) == 0.5 and type(plain(np.float64(0.5))) is float
    assert plain((np.int64(1), [np.bool_(True)])) == (1, [True])
    assert plain(np.array([1.5, 2.0])) == [1.5, 2.0]
    big = np.zeros(50)
    assert plain(big) is big  # a large array keeps numpy's summarised repr
    assert show(np.str_("a")) == "'a'"
    assert show([np.int64(10)]) == "[10]"


def test_plain_message_rewrites_foreign_reprs():
    message = (
        "Got np.float64(-1.0) instead; [np.int64(10), np.uint8(3)], "
        "np.str_('nope'), np.True_, np.bool(False), np.float32(nan)."
    )
    assert plain_message(message) == (
        "Got -1.0 instead; [10, 3], 'nope', True, False, nan."
    )
    # Text that merely mentions numpy is left alone.
    assert plain_message("use np.inf or np.float64") == "use np.inf or np.float64"
