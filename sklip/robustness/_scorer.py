"""Robustness metrics as scorers for ``GridSearchCV`` and ``cross_validate``."""

import numbers

import numpy as np
from sklearn.base import is_classifier

from .._scorer import BaseScorer
from .._validation import SHARED, Choices, check_seed, freeze_selection, public
from ..verification._methods import METHODS, check_method
from ._certify import certified_accuracy, certified_max_output_deviation
from ._common import check_eps
from ._metrics import (
    max_output_deviation,
    prediction_stability,
    robust_accuracy,
    robust_r2,
)
from ._params import (
    BUDGET_DOC,
    DEFAULT_N_QUERIES,
    DEFAULT_N_TARGETS,
    AttackParams,
    fill_doc,
)

# name -> (function, sign, needs y, uses attack parameters)
_METRICS = {
    "robust_accuracy": (robust_accuracy, 1, True, True),
    "prediction_stability": (prediction_stability, 1, False, True),
    "certified_accuracy": (certified_accuracy, 1, True, False),
    "robust_r2": (robust_r2, 1, True, True),
    "max_output_deviation": (max_output_deviation, -1, False, True),
    "certified_max_output_deviation": (
        certified_max_output_deviation,
        -1,
        False,
        False,
    ),
}


def _seed(random_state):
    """An int seed (or None) from ``random_state``: scorers must not hold a
    generator, whose state would differ between candidates and workers."""
    random_state = check_seed(random_state)
    if random_state is None or isinstance(random_state, numbers.Integral):
        return random_state
    if isinstance(random_state, np.random.RandomState):
        return int(random_state.randint(np.iinfo(np.int32).max))
    return int(random_state.integers(np.iinfo(np.int32).max))


class _RobustnessScorer(BaseScorer):
    """Scores a fitted model by a robustness metric at a fixed radius."""

    _factory_name = "make_robustness_scorer"
    # scikit-learn's convention: sample_weight must be requested explicitly
    # under metadata routing; without routing it is forwarded.
    _score_metadata = {"sample_weight": None}

    def __init__(
        self,
        *,
        eps,
        metric,
        attack,
        norm,
        n_iter,
        step_size,
        n_restarts,
        clip,
        random_state,
        n_targets=DEFAULT_N_TARGETS,
        n_queries=DEFAULT_N_QUERIES,
        features=None,
        method=None,
    ):
        self.eps = eps
        self.metric = metric
        self.attack = attack
        self.norm = norm
        self.n_iter = n_iter
        self.step_size = step_size
        self.n_restarts = n_restarts
        self.n_targets = n_targets
        self.n_queries = n_queries
        self.clip = clip
        self.random_state = random_state
        self.features = features
        self.method = method

    def _metric_for(self, estimator):
        if self.metric != "auto":
            return self.metric
        # The task's own metric: robust R^2 for a regressor, not a NaN from
        # robust_accuracy refusing it.
        return "robust_accuracy" if is_classifier(estimator) else "robust_r2"

    def _score(self, estimator, X, y=None, sample_weight=None):
        """The metric at ``eps`` (negated where smaller is better)."""
        metric = self._metric_for(estimator)
        func, sign, needs_y, attacks = _METRICS[metric]
        if needs_y and y is None:
            raise ValueError(f"metric={metric!r} needs y; got y=None.")
        features = getattr(self, "features", None)  # pickles of older versions
        method = getattr(self, "method", None)
        certified = {"clip": self.clip}
        if method is not None:
            certified["method"] = method
        if metric == "certified_max_output_deviation":
            bound = func(
                estimator, X, eps=self.eps, norm=self.norm, features=features,
                **certified,
            )  # fmt: skip
            if np.ndim(bound) and sample_weight is not None:
                bound = bound[np.asarray(sample_weight) > 0]
            return -float(np.max(bound, initial=0.0))
        args = (estimator, X, y) if needs_y else (estimator, X)
        kwargs = {
            "eps": self.eps,
            "sample_weight": sample_weight,
            "features": features,
        }
        if attacks:
            kwargs.update(
                attack=self.attack,
                norm=self.norm,
                n_iter=self.n_iter,
                step_size=self.step_size,
                n_restarts=self.n_restarts,
                n_targets=self.n_targets,
                n_queries=self.n_queries,
                clip=self.clip,
                # An int seed: a fresh generator per call, so every
                # candidate and fold sees the same draws under any n_jobs.
                random_state=self.random_state,
            )
        else:
            kwargs.update(norm=self.norm, **certified)
        return sign * func(*args, **kwargs)

    def _repr_params(self):
        """The parameters shown in the scorer's repr (attack ones only if used)."""
        params = {"eps": self.eps, "metric": self.metric}
        attacks = self.metric == "auto" or _METRICS[self.metric][3]
        if attacks:
            params.update(attack=self.attack)
        params["norm"] = self.norm
        if attacks:
            params.update(
                n_iter=self.n_iter,
                step_size=self.step_size,
                n_restarts=self.n_restarts,
                n_targets=self.n_targets,
                n_queries=self.n_queries,
                clip=self.clip,
                random_state=self.random_state,
            )
        if getattr(self, "features", None) is not None:
            params["features"] = self.features
        if getattr(self, "method", None) is not None:
            params["method"] = self.method
        if not attacks and self.clip is not None:
            params["clip"] = self.clip
        return params


@public(
    {
        **SHARED,
        **AttackParams.CONSTRAINTS,
        "metric": [Choices(str, ("auto", *_METRICS))],
        "method": [Choices(str, tuple(METHODS)), None],
    }
)
def make_robustness_scorer(
    *,
    eps,
    metric="auto",
    attack="auto",
    norm=2,
    n_iter=None,
    step_size=None,
    n_restarts=1,
    n_targets=DEFAULT_N_TARGETS,
    n_queries=DEFAULT_N_QUERIES,
    clip=None,
    random_state=0,
    features=None,
    method=None,
):
    """Make a scorer from a robustness metric at radius ``eps``.

    Greater is better: ``max_output_deviation`` and
    ``certified_max_output_deviation`` are negated. The scorer accepts
    ``sample_weight`` (dict ``scoring=`` with ``fit(..., sample_weight=...)``
    works), supports metadata routing (``set_score_request``) and pickles.

    Parameters
    ----------
    eps : float
        Radius of the perturbation ball, in raw input units.
    metric : str, default="auto"
        ``"auto"``: ``"robust_accuracy"`` for a classifier, ``"robust_r2"``
        for a regressor (decided per scored estimator). Or one of
        ``"robust_accuracy"``, ``"prediction_stability"``,
        ``"certified_accuracy"`` (classifiers), ``"robust_r2"``,
        ``"max_output_deviation"``, ``"certified_max_output_deviation"``
        (regressors).
    attack : {"auto", "apgd-ce", "apgd-dlr", "apgd-t", "square", "pgd", \
            "fgsm", "noise"}, default="auto"
        See :func:`perturb`. ``"auto"`` works for every estimator: exact on
        linear models, APGD then Square Attack on networks, Square Attack
        (scores only) on trees, SVC, k-NN and any other model.
    {budget_doc}
    random_state : int, RandomState, Generator or None, default=0
        Kept as an int seed (drawn once here from a RandomState/Generator):
        each call draws a fresh generator from it, so every candidate and
        fold sees the same perturbations of the same data and ``n_jobs=1``
        and ``n_jobs=2`` give identical results. ``None`` draws fresh
        randomness on every call (not reproducible).
    features : str, int, array-like of str, int or bool, default=None
        Columns perturbed and certified (names, indices or a boolean mask);
        the others are held fixed. None: every column but categorical ones.
        See :func:`perturb`.
    method : {"auto", "lipschitz", "crown", "alpha-crown", "complete"}, \
            default=None
        The certificate of the certified metrics (see
        :func:`certified_accuracy`; they also honour ``clip``). None: each
        function's default, ``"auto"`` for ``"certified_accuracy"`` and the
        global ``L * eps`` (``"lipschitz"``) for
        ``"certified_max_output_deviation"``; any other method bounds the
        deviation per sample and scores the largest.

    Returns
    -------
    scorer : callable
        ``scorer(estimator, X, y=None, sample_weight=None)``.

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.model_selection import GridSearchCV
    >>> from sklip.robustness import make_robustness_scorer
    >>> X, y = make_classification(n_samples=80, random_state=0)
    >>> scoring = {
    ...     "accuracy": "accuracy",
    ...     "robust": make_robustness_scorer(eps=0.5),
    ... }
    >>> search = GridSearchCV(
    ...     LogisticRegression(), {"C": [0.01, 1.0]}, scoring=scoring,
    ...     refit="robust",
    ... ).fit(X, y)
    >>> search.cv_results_["mean_test_robust"].shape
    (2,)
    >>> make_robustness_scorer(eps=0.5, metric="certified_accuracy")
    make_robustness_scorer(eps=0.5, metric='certified_accuracy', norm=2)
    """
    params = AttackParams(
        attack=attack,
        norm=norm,
        n_iter=n_iter,
        step_size=step_size,
        n_restarts=n_restarts,
        n_targets=n_targets,
        n_queries=n_queries,
        clip=clip,
        random_state=_seed(random_state),
        features=freeze_selection(features),
    )
    return _RobustnessScorer(
        eps=check_eps(eps),
        metric=metric,
        method=None if method is None else check_method(method),
        **params.as_dict(),
    )


fill_doc(make_robustness_scorer, budget_doc=BUDGET_DOC)
