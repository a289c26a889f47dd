"""Empirical robustness metrics: the model's score on attacked inputs.

Each metric accepts one ``eps`` or an array of them. Per sample, the worst
point found at any radius ``<= eps`` (including the clean point, ``delta = 0``)
counts at ``eps``: all of them lie in the eps-ball, so this is still a valid
attack, and it makes every curve monotone in ``eps`` by construction (a fresh
attack at a larger radius can miss a point found at a smaller one).
"""

import numpy as np
from sklearn.base import is_classifier
from sklearn.metrics import r2_score

from .._validation import EPS_OR_ARRAY, SHARED, check_sample_weight, public
from ._attacks import run_attack
from ._blackbox import attack_inputs
from ._common import (
    check_classifier,
    check_eps,
    check_labels,
    check_regressor,
    check_target_length,
    check_targets,
    scaled_row_norms,
)
from ._params import (
    ATTACK_CHOICES_DOC,
    BUDGET_DOC,
    DEFAULT_N_QUERIES,
    DEFAULT_N_TARGETS,
    AttackParams,
    fill_doc,
    make_rng,
)

_ATTACK_DOC = (
    """\
attack : {attacks}, default="auto"
    See :func:`perturb`. ``"auto"`` is exact on linear models and an
    APGD-CE, APGD-T, Square Attack ensemble otherwise (Square Attack
    alone for models without a network view).
""".replace("{attacks}", ATTACK_CHOICES_DOC)
    + BUDGET_DOC
    + """
random_state : int, RandomState, Generator or None, default=None
    Seed of the attack's random draws; an int gives every radius the
    same draws. See :func:`perturb`."""
)

_FEATURES_DOC = """\
features : str, int, array-like of str, int or bool, default=None
    Columns to perturb (names, indices or a boolean mask); the others
    are held fixed. None: every column but categorical ones
    (non-numeric, or an encoder's input). See :func:`perturb`."""


def _worst_predictions(estimator, X, y_attack, eps, badness, params):
    """Per radius, the predictions at the worst point found so far.

    Yields ``(index, predictions)`` for the radii of ``eps`` in increasing
    order, where ``index`` points into ``eps``. ``badness(pred)`` scores each
    sample (larger is worse for the model).
    """
    pred = estimator.predict(X)
    if is_classifier(estimator) and np.ndim(pred) != 1:
        raise ValueError(
            "Multilabel and multi-output classifiers are not supported; "
            f"{type(estimator).__name__} predicts shape {np.shape(pred)}."
        )
    bad = badness(pred)
    # A RandomState/None seed becomes one Generator shared by all radii; an
    # int gives every radius the same draws, as a scorer would.
    if not isinstance(params.random_state, (int, np.integer)):
        params = params.replace(random_state=make_rng(params.random_state))
    for i in np.argsort(eps, kind="stable"):
        if eps[i] > 0:
            X_adv = run_attack(estimator, X, y_attack, eps=eps[i], params=params)
            cand = estimator.predict(X_adv)
            cand_bad = badness(cand)
            worse = cand_bad > bad
            pred = pred.copy()
            pred[worse] = cand[worse]
            bad = np.where(worse, cand_bad, bad)
        yield i, pred


def _evaluate(estimator, X, y_attack, eps, badness, score, params):
    """``score(worst_pred)`` for every radius; float for a scalar ``eps``."""
    eps_arr = np.atleast_1d(eps)
    out = np.empty(eps_arr.shape[0])
    for i, pred in _worst_predictions(estimator, X, y_attack, eps_arr, badness, params):
        out[i] = score(pred)
    return out if np.ndim(eps) else float(out[0])


def _prepare(estimator, X, y, eps, arguments):
    """Validate a metric's inputs; ``arguments`` (its ``locals()``) holds its
    attack parameters.

    Returns ``(eps, X, y, params)`` with ``params`` the :class:`AttackParams`.
    """
    params = AttackParams.from_arguments(arguments)
    eps = check_eps(eps, allow_array=True)
    # The user's X, validated (type, columns, features) and handed to the
    # model as given; perturb returns the same type.
    inputs = attack_inputs(estimator, X, params.features, attack=params.attack)
    X = inputs.X
    if y is not None:
        y = check_target_length(y, X)
    inputs.clip_bounds(params.clip)
    return eps, X, y, params


#: validate_params constraints of the metrics.
METRIC_CONSTRAINTS = {
    **SHARED,
    **AttackParams.CONSTRAINTS,
    "y": ["array-like"],
    "eps": EPS_OR_ARRAY,
}


@public(METRIC_CONSTRAINTS)
def robust_accuracy(
    estimator,
    X,
    y,
    *,
    eps,
    attack="auto",
    norm=2,
    n_iter=None,
    step_size=None,
    n_restarts=1,
    n_targets=DEFAULT_N_TARGETS,
    n_queries=DEFAULT_N_QUERIES,
    clip=None,
    random_state=None,
    sample_weight=None,
    features=None,
):
    """Accuracy of a classifier under perturbations of size ``eps``.

    A sample counts when the prediction at the clean point and at every
    perturbed point found (by default the exact attack on linear models, an
    APGD / Square Attack ensemble otherwise; Croce & Hein, 2020) is
    correct. ``eps=0`` gives the plain accuracy. An empirical *upper* bound
    of the true robust accuracy; :func:`certified_accuracy` is a lower bound.

    Parameters
    ----------
    estimator : fitted classifier
        The model to attack.
    X : array-like, DataFrame or sparse matrix of shape (n_samples, n_features)
        Clean inputs, raw units, handed to the model as given.
    y : array-like of shape (n_samples,)
        True labels; the attack targets them.
    eps : float or array-like of shape (n_eps,)
        Radius (raw input units). An array gives one score per radius,
        non-increasing in the radius.
    {attack_doc}
    sample_weight : array-like of shape (n_samples,), default=None
        Sample weights.
    {features_doc}

    Returns
    -------
    score : float or ndarray of shape (n_eps,)
        Weighted fraction of samples still correctly classified, per radius.

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklip.robustness import robust_accuracy
    >>> X, y = make_classification(n_samples=100, random_state=0)
    >>> clf = LogisticRegression().fit(X, y)
    >>> robust_accuracy(clf, X, y, eps=0.0) == clf.score(X, y)
    True
    >>> scores = robust_accuracy(clf, X, y, eps=[0.0, 0.5, 2.0], random_state=0)
    >>> bool(scores[0] >= scores[1] >= scores[2])
    True
    """
    check_classifier(estimator, "robust_accuracy")
    eps, X, y, params = _prepare(estimator, X, y, eps, locals())
    check_labels(estimator, y, X)
    y = y.reshape(-1)
    sample_weight = check_sample_weight(sample_weight, X.shape[0])
    return _evaluate(
        estimator,
        X,
        y,
        eps,
        badness=lambda p: (p != y).astype(np.float64),
        score=lambda p: np.average(p == y, weights=sample_weight),
        params=params,
    )


@public(METRIC_CONSTRAINTS)
def prediction_stability(
    estimator,
    X,
    *,
    eps,
    attack="auto",
    norm=2,
    n_iter=None,
    step_size=None,
    n_restarts=1,
    n_targets=DEFAULT_N_TARGETS,
    n_queries=DEFAULT_N_QUERIES,
    clip=None,
    random_state=None,
    sample_weight=None,
    features=None,
):
    """Fraction of samples whose predicted class survives the attack.

    Labels are not needed: the attack targets the model's own predictions.

    Parameters
    ----------
    estimator : fitted classifier
        The model to attack.
    X : array-like of shape (n_samples, n_features)
        Clean inputs, raw units.
    eps : float or array-like of shape (n_eps,)
        Radius (raw input units).
    {attack_doc}
    sample_weight : array-like of shape (n_samples,), default=None
        Sample weights.
    {features_doc}

    Returns
    -------
    stability : float or ndarray of shape (n_eps,)
        Weighted fraction of samples whose predicted class is unchanged,
        per radius.

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklip.robustness import prediction_stability
    >>> X, y = make_classification(n_samples=100, random_state=0)
    >>> clf = LogisticRegression().fit(X, y)
    >>> prediction_stability(clf, X, eps=0.0)
    1.0
    """
    check_classifier(estimator, "prediction_stability")
    eps, X, _, params = _prepare(estimator, X, None, eps, locals())
    sample_weight = check_sample_weight(sample_weight, X.shape[0])
    clean = estimator.predict(X)
    return _evaluate(
        estimator,
        X,
        None,
        eps,
        badness=lambda p: (p != clean).astype(np.float64),
        score=lambda p: np.average(p == clean, weights=sample_weight),
        params=params,
    )


def _r2(y, p, sample_weight):
    # At a huge eps the squared residuals overflow: R^2 is then -inf, which
    # is the right float answer, not a reason to warn.
    with np.errstate(over="ignore"):
        return r2_score(y, p, sample_weight=sample_weight)


def _dist(P, T):
    """Per-sample L2 distance between predictions and targets (no overflow)."""
    return scaled_row_norms(np.asarray(P, dtype=np.float64).reshape(T.shape[0], -1) - T)


@public(METRIC_CONSTRAINTS)
def robust_r2(
    estimator,
    X,
    y,
    *,
    eps,
    attack="auto",
    norm=2,
    n_iter=None,
    step_size=None,
    n_restarts=1,
    n_targets=DEFAULT_N_TARGETS,
    n_queries=DEFAULT_N_QUERIES,
    clip=None,
    random_state=None,
    sample_weight=None,
    features=None,
):
    """R^2 of a regressor at the worst points found within ``eps``.

    The attack maximises each sample's squared error against ``y``.

    Parameters
    ----------
    estimator : fitted regressor
        The model to attack.
    X : array-like of shape (n_samples, n_features)
        Clean inputs, raw units.
    y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        True targets; the attack maximises the squared error against them.
    eps : float or array-like of shape (n_eps,)
        Radius (raw input units).
    {attack_doc}
    sample_weight : array-like of shape (n_samples,), default=None
        Sample weights.
    {features_doc}

    Returns
    -------
    score : float or ndarray of shape (n_eps,)
        R^2 at the worst points found, per radius.

    Examples
    --------
    >>> from sklearn.datasets import make_regression
    >>> from sklearn.linear_model import Ridge
    >>> from sklip.robustness import robust_r2
    >>> X, y = make_regression(n_samples=50, n_features=3, random_state=0)
    >>> reg = Ridge().fit(X, y)
    >>> robust_r2(reg, X, y, eps=0.0) == reg.score(X, y)
    True
    """
    check_regressor(estimator, "robust_r2")
    eps, X, y, params = _prepare(estimator, X, y, eps, locals())
    sample_weight = check_sample_weight(sample_weight, X.shape[0])
    T = check_targets(y, X).reshape(X.shape[0], -1)
    return _evaluate(
        estimator,
        X,
        y,
        eps,
        badness=lambda p: _dist(p, T),
        score=lambda p: _r2(y, p, sample_weight),
        params=params,
    )


@public(METRIC_CONSTRAINTS)
def max_output_deviation(
    estimator,
    X,
    *,
    eps,
    attack="auto",
    norm=2,
    n_iter=None,
    step_size=None,
    n_restarts=1,
    n_targets=DEFAULT_N_TARGETS,
    n_queries=DEFAULT_N_QUERIES,
    clip=None,
    random_state=None,
    sample_weight=None,
    features=None,
):
    """Largest output change ``||f(x + delta) - f(x)||_2`` found by attack.

    A lower estimate of the worst case; :func:`certified_max_output_deviation`
    gives the certified upper bound ``L * eps``.

    Parameters
    ----------
    estimator : fitted regressor
        The model to attack.
    X : array-like of shape (n_samples, n_features)
        Clean inputs, raw units.
    eps : float or array-like of shape (n_eps,)
        Radius (raw input units).
    {attack_doc}
    sample_weight : array-like of shape (n_samples,), default=None
        Only samples with positive weight are considered.
    {features_doc}

    Returns
    -------
    deviation : float or ndarray of shape (n_eps,)
        Largest L2 output change found, in output units, per radius.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LinearRegression
    >>> from sklip.robustness import max_output_deviation
    >>> reg = LinearRegression().fit([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]], [0, 3, 4])
    >>> round(max_output_deviation(reg, [[0.0, 0.0]], eps=0.1, random_state=0), 6)
    0.5
    """
    check_regressor(estimator, "max_output_deviation")
    eps, X, _, params = _prepare(estimator, X, None, eps, locals())
    sample_weight = check_sample_weight(sample_weight, X.shape[0])
    keep = np.ones(X.shape[0], bool) if sample_weight is None else sample_weight > 0
    clean = np.asarray(estimator.predict(X), dtype=np.float64).reshape(X.shape[0], -1)
    return _evaluate(
        estimator,
        X,
        None,
        eps,
        badness=lambda p: _dist(p, clean),
        score=lambda p: float(_dist(p, clean)[keep].max(initial=0.0)),
        params=params,
    )


for _f in (robust_accuracy, prediction_stability, robust_r2, max_output_deviation):
    fill_doc(_f, attack_doc=_ATTACK_DOC, features_doc=_FEATURES_DOC)
