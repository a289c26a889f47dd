"""scikit-learn's own MLP tests, run against sklip.

The test module shipped inside the installed scikit-learn
(``sklearn/neural_network/tests/test_mlp.py``) is executed with
``MLPClassifier`` / ``MLPRegressor`` replaced by
``LipschitzMLPClassifier`` / ``LipschitzMLPRegressor`` with
``penalty="frobenius"`` (scikit-learn's L2 term, same ``alpha`` convention).
Every upstream test is collected here, so tests a new scikit-learn release
adds run against sklip automatically. The deliberate differences (documented
in docs/estimators.md, "Differences from scikit-learn")
are strict expected failures: should one start passing, or an upstream test
named here disappear, this module fails and the list must be revisited.
"""

import importlib.util
import os
import types
from pathlib import Path

import pytest
import sklearn
import sklearn.neural_network

from sklip import LipschitzMLPClassifier, LipschitzMLPRegressor

UPSTREAM = Path(sklearn.__file__).parent / "neural_network" / "tests" / "test_mlp.py"
if not UPSTREAM.exists():
    pytest.skip(
        f"this scikit-learn installation ships without its tests ({UPSTREAM})",
        allow_module_level=True,
    )

# Test id (function name, or name[parameters]) -> why sklip differs on purpose.
DELIBERATE_DIFFERENCES = {
    "test_mlp_diverging_loss": (
        "a diverging fit raises a ValueError naming learning_rate_init and "
        "keeps the previous model, instead of warning and returning NaN/inf "
        "weights"
    ),
    "test_nonfinite_params": (
        "inputs near the float maximum make the loss non-finite before any "
        "step; sklip's ValueError says so and blames X, where scikit-learn's "
        "message speaks of non-finite weights"
    ),
    "test_preserve_feature_names[MLPClassifier]": (
        "a classifier fitted on a single class is a clear ValueError: it "
        "would have no decision boundary and no Lipschitz margin to certify"
    ),
    "test_gradient": (
        "calls scikit-learn's private _loss_grad_lbfgs; sklip's gradients "
        "are checked by finite differences in tests/neural_network/test_gradients.py"
    ),
}


def _frobenius_by_default(cls, name):
    """``cls`` with ``penalty="frobenius"`` as the constructor default.

    The constructor is the parent's own code with one keyword default
    changed, so ``get_params``/``clone`` see an ordinary signature.
    """
    init = cls.__init__
    new_init = types.FunctionType(
        init.__code__, init.__globals__, "__init__", init.__defaults__, init.__closure__
    )
    new_init.__kwdefaults__ = {**init.__kwdefaults__, "penalty": "frobenius"}
    new_init.__qualname__ = f"{name}.__init__"
    return type(name, (cls,), {"__init__": new_init, "__module__": __name__})


MLPClassifier = _frobenius_by_default(LipschitzMLPClassifier, "MLPClassifier")
MLPRegressor = _frobenius_by_default(LipschitzMLPRegressor, "MLPRegressor")


def _load_upstream():
    """Execute the upstream module with sklip's estimators in place of
    scikit-learn's: patched on ``sklearn.neural_network`` while the module's
    ``from sklearn.neural_network import ...`` runs, so that module-level
    parametrizations hold them too; restored right after."""
    spec = importlib.util.spec_from_file_location(
        "_sklearn_test_mlp_on_sklip", UPSTREAM
    )
    module = importlib.util.module_from_spec(spec)
    originals = {
        name: getattr(sklearn.neural_network, name)
        for name in ("MLPClassifier", "MLPRegressor")
    }
    try:
        sklearn.neural_network.MLPClassifier = MLPClassifier
        sklearn.neural_network.MLPRegressor = MLPRegressor
        spec.loader.exec_module(module)
    finally:
        for name, value in originals.items():
            setattr(sklearn.neural_network, name, value)
    assert module.MLPClassifier is MLPClassifier
    assert module.MLPRegressor is MLPRegressor
    return module


_upstream = _load_upstream()
UPSTREAM_TESTS = sorted(n for n in vars(_upstream) if n.startswith("test_"))
for _name in UPSTREAM_TESTS:
    globals()[_name] = getattr(_upstream, _name)
del _name


def _global_random_seeds():
    """The seeds scikit-learn's conftest selects from the same variable."""
    value = os.environ.get("SKLEARN_TESTS_GLOBAL_RANDOM_SEED")
    if value is None:
        return [42]
    if value == "all":
        return list(range(100))
    if "-" in value:
        start, stop = value.split("-")
        return list(range(int(start), int(stop) + 1))
    return [int(value)]


@pytest.fixture(params=_global_random_seeds())
def global_random_seed(request):
    """scikit-learn's conftest fixture, which its test module relies on."""
    return request.param


@pytest.fixture(autouse=True)
def _deliberate_differences(request):
    node = request.node
    reason = DELIBERATE_DIFFERENCES.get(node.name) or DELIBERATE_DIFFERENCES.get(
        node.originalname
    )
    if reason is not None:
        request.applymarker(pytest.mark.xfail(strict=True, reason=reason))


def test_every_listed_difference_names_an_upstream_test_and_is_documented():
    functions = {key.split("[")[0] for key in DELIBERATE_DIFFERENCES}
    assert functions <= set(UPSTREAM_TESTS)
    page = Path(__file__).parents[1] / "docs" / "guide" / "penalties.rst"
    docs = page.read_text()
    section = docs[docs.index("Differences from scikit-learn\n---") :]
    for key in DELIBERATE_DIFFERENCES:
        assert f"`{key}`" in section, key
