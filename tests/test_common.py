"""scikit-learn's estimator checks over every public estimator and penalty."""

import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from sklip import LipschitzMLPClassifier, LipschitzMLPRegressor


def _instances():
    for penalty in ("spectral", "frobenius", "none"):
        # Small networks and budgets keep the checks fast; the checks' own
        # accuracy thresholds are met with these settings.
        yield LipschitzMLPClassifier(penalty=penalty, max_iter=100, random_state=0)
        yield LipschitzMLPRegressor(penalty=penalty, max_iter=100, random_state=0)
    # Certified training: the margin and the budget change the objective and
    # the update; both must keep every scikit-learn convention.
    common = dict(max_iter=100, random_state=0)
    yield LipschitzMLPClassifier(lipschitz_margin=0.1, **common)
    yield LipschitzMLPClassifier(
        lipschitz_margin=0.1, margin_kind="global", penalty="none", **common
    )
    yield LipschitzMLPClassifier(max_lipschitz=10.0, **common)
    yield LipschitzMLPRegressor(lipschitz_margin=0.1, **common)
    yield LipschitzMLPRegressor(max_lipschitz=10.0, **common)


@parametrize_with_checks(list(_instances()))
def test_sklearn_compatible_estimator(estimator, check):
    """scikit-learn's own check, which raises on a failure (its asserts are
    inside ``check``)."""
    check(estimator)


@pytest.mark.parametrize("Estimator", [LipschitzMLPClassifier, LipschitzMLPRegressor])
def test_param_validation(Estimator):
    from sklearn.utils.estimator_checks import check_param_validation

    check_param_validation(Estimator.__name__, Estimator())
