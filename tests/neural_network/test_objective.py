"""The ``PENALTIES`` registry: the one list of penalties.

The ``penalty`` constraint, the estimators' documentation and the command
line's choices are derived from it, and a registered ``Penalty`` subclass is
all the training engine needs to train with a new penalty.
"""

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils._param_validation import StrOptions

from sklip import LipschitzMLPClassifier, LipschitzMLPRegressor
from sklip.cli import build_parser
from sklip.neural_network._base import BaseLipschitzMLP
from sklip.neural_network._objective import PENALTIES
from sklip.neural_network._penalties import Penalty

from .._helpers import numerical_gradient, objective_and_gradient

pytestmark = pytest.mark.filterwarnings("ignore", category=ConvergenceWarning)


class _QuarticPenalty(Penalty):
    """``R = sum_l sum W_l**4 / 4``: smooth, and unlike any built-in one."""

    description = "the quartic norm (a test penalty)"

    @classmethod
    def build(cls, flat, tracker, input_map):
        """Nothing to build from."""
        return cls()

    def __call__(self, coefs, coef_grads, scale, exact=False):
        value = 0.0
        for W, G in zip(coefs, coef_grads):
            G += scale * W**3
            value += float(np.sum(W**4)) / 4
        return scale * value


@pytest.fixture
def quartic(monkeypatch):
    """Register the quartic penalty as the one registry line would, and
    derive the constraint again (as importing the estimators does)."""
    monkeypatch.setitem(PENALTIES, "quartic", _QuarticPenalty)
    for cls in (BaseLipschitzMLP, LipschitzMLPClassifier, LipschitzMLPRegressor):
        monkeypatch.setitem(
            cls._parameter_constraints, "penalty", [StrOptions(set(PENALTIES))]
        )


def test_every_registered_penalty_is_a_penalty():
    assert list(PENALTIES) == ["none", "frobenius", "spectral"]
    for penalty in PENALTIES.values():
        assert issubclass(penalty, Penalty)
        assert penalty.description


@pytest.mark.parametrize("Estimator", [LipschitzMLPClassifier, LipschitzMLPRegressor])
def test_constraint_and_documentation_list_the_registry(Estimator):
    (constraint,) = Estimator._parameter_constraints["penalty"]
    assert constraint.options == set(PENALTIES)
    doc = Estimator.__doc__
    head = "penalty : {" + ", ".join(repr(name) for name in PENALTIES) + "}"
    assert head in doc
    for name, penalty in PENALTIES.items():
        assert f"``{name!r}``: {penalty.description}" in doc


def test_command_line_choices_are_the_registry():
    parser = build_parser()
    search = parser._subparsers._group_actions[0].choices["search"]
    (action,) = [a for a in search._actions if "--penalties" in a.option_strings]
    assert list(action.choices) == list(PENALTIES)
    assert action.default == list(PENALTIES)


@pytest.mark.usefixtures("quartic")
@pytest.mark.parametrize("weighted", [False, True])
def test_a_registered_penalty_enters_the_objective(weighted):
    """Its value and gradient are in the objective, checked against R by
    hand and finite differences."""
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((13, 4)), rng.integers(0, 3, 13)
    sw = rng.uniform(0.2, 3.0, 13) if weighted else None
    est = LipschitzMLPClassifier(
        hidden_layer_sizes=(5,), penalty="quartic", alpha=3.0, random_state=0
    )
    f, theta = objective_and_gradient(est, X, y, sample_weight=sw)
    loss, grad = f(theta)
    num = numerical_gradient(f, theta)
    assert np.linalg.norm(grad - num) / np.linalg.norm(num) <= 1e-6
    # The value is the data loss plus alpha / s * R(W), R by hand.
    plain = LipschitzMLPClassifier(
        hidden_layer_sizes=(5,), penalty="none", random_state=0
    )
    data_loss, _ = objective_and_gradient(plain, X, y, sample_weight=sw)[0](theta)
    n_coefs = 4 * 5 + 5 * 3
    s = 13 if sw is None else sw.sum()
    R = np.sum(theta[:n_coefs] ** 4) / 4
    assert loss == pytest.approx(data_loss + 3.0 / s * R, rel=1e-12)


@pytest.mark.usefixtures("quartic")
@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_a_registered_penalty_trains(solver):
    """A large alpha shrinks what the penalty measures."""
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((60, 4)), rng.integers(0, 3, 60)
    fits = {
        alpha: LipschitzMLPClassifier(
            hidden_layer_sizes=(8,),
            penalty="quartic",
            alpha=alpha,
            solver=solver,
            learning_rate_init=0.05,
            max_iter=80,
            random_state=0,
        ).fit(X, y)
        for alpha in (0.0, 30.0)
    }
    quartic = {a: sum(np.sum(W**4) for W in m.coefs_) for a, m in fits.items()}
    assert quartic[30.0] < 0.5 * quartic[0.0]
