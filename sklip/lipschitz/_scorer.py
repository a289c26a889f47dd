"""The Lipschitz scorer: ``-lipschitz_bound(estimator)``, greater is better."""

from .._scorer import BaseScorer
from .._validation import FEATURES, freeze_selection, public
from ._bounds import METHOD, _check_method, lipschitz_bound


class _LipschitzScorer(BaseScorer):
    """Scores a fitted model by minus its certified Lipschitz bound.

    The value is a property of the model, not of the data: ``X``, ``y`` and
    ``sample_weight`` are accepted (so the scorer fits in a dict ``scoring=``
    next to data-dependent scorers, with or without sample weights) and
    ignored. No metadata is requested under metadata routing.
    """

    _factory_name = "make_lipschitz_scorer"

    def __init__(self, method="auto", features=None):
        _check_method(method)
        self.method = method
        self.features = features

    def _score(self, estimator, X, y=None, **kwargs):
        features = getattr(self, "features", None)  # pickles of older versions
        return -lipschitz_bound(estimator, method=self.method, features=features)

    def _repr_params(self):
        params = {"method": self.method}
        if getattr(self, "features", None) is not None:
            params["features"] = self.features
        return params


@public({"method": METHOD, "features": FEATURES})
def make_lipschitz_scorer(method="auto", features=None):
    """Make a scorer returning minus a certified Lipschitz bound.

    The score of a fitted ``estimator`` is
    ``-lipschitz_bound(estimator, method=method)``: greater is better, i.e.
    smoother. Use it in ``GridSearchCV`` / ``cross_validate`` next to an
    accuracy metric to trade accuracy against certified smoothness. The
    scorer ignores ``X``, ``y`` and ``sample_weight`` (the bound is a
    property of the model), accepts sample weights so that searches fitted
    with ``sample_weight`` work with dict ``scoring``, supports metadata
    routing, and pickles.

    Parameters
    ----------
    method : {"auto", "frobenius", "spectral", "combettes-pesquet"}, \
            default="auto"
        The bound, see :func:`~sklip.lipschitz.lipschitz_bound`.
    features : str, int, array-like of str, int or bool, default=None
        Raw input columns the constant is taken over, see
        :func:`~sklip.lipschitz.lipschitz_bound`.

    Returns
    -------
    scorer : callable
        ``scorer(estimator, X, y=None, sample_weight=None)``.

    Raises
    ------
    ValueError
        If ``method`` is unknown.

    See Also
    --------
    lipschitz_scorer : The default instance, ``make_lipschitz_scorer()``.

    Notes
    -----
    A scorer that cannot score raises a clear error, and a non-finite score
    is an error too: it never returns NaN. ``GridSearchCV`` and
    ``cross_validate`` catch a scorer's exception under their default
    ``error_score=np.nan``, warn ("Scoring failed", sklip's message in the
    details) and record NaN; pass ``error_score="raise"`` to see the
    failure where it happens.

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.model_selection import GridSearchCV
    >>> from sklip.lipschitz import lipschitz_scorer
    >>> X, y = make_classification(n_samples=60, random_state=0)
    >>> search = GridSearchCV(
    ...     LogisticRegression(),
    ...     {"C": [0.01, 1.0]},
    ...     scoring={"accuracy": "accuracy", "lipschitz": lipschitz_scorer},
    ...     refit="accuracy",
    ... ).fit(X, y)
    >>> scores = search.cv_results_["mean_test_lipschitz"]
    >>> bool(scores[0] > scores[1])  # stronger regularisation, smaller bound
    True
    >>> lipschitz_scorer
    make_lipschitz_scorer(method='auto')
    """
    return _LipschitzScorer(method=method, features=freeze_selection(features))


#: The default Lipschitz scorer, ``make_lipschitz_scorer(method="auto")``.
lipschitz_scorer = make_lipschitz_scorer()
