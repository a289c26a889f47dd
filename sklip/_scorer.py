"""A base class for sklip's scorers, usable wherever scikit-learn takes ``scoring``.

A scorer is called as ``scorer(estimator, X, y=None, sample_weight=None,
**metadata)`` and returns a float where greater is better. Subclasses
implement :meth:`BaseScorer._score` and, for a readable ``repr``, set
``_factory_name`` and :meth:`BaseScorer._repr_params`.

Why not subclass ``sklearn.metrics._scorer._BaseScorer``: it is private, its
``__call__`` requires ``y_true``, its routing defaults introspect a
``score_func(y_true, y_pred)`` that sklip's scorers do not have, and
``_MultimetricScorer`` treats its instances specially (calls
``_score(method_caller, ...)`` and resolves ``_response_method`` on the
estimator). Implementing the small protocol scikit-learn actually uses is
simpler and stabler:

- ``_accept_sample_weight()``: a **method** (scikit-learn 1.9 calls it) saying
  whether ``sample_weight`` may be forwarded when metadata routing is
  disabled. Without it, a dict ``scoring=`` with ``fit(..., sample_weight=...)``
  raises ``AttributeError`` (scikit-learn issue 31599).
- ``get_metadata_routing()`` / ``set_score_request(**requests)``: metadata
  routing when ``sklearn.set_config(enable_metadata_routing=True)``.

Failures. A scorer that cannot score raises (it never returns NaN: a
non-finite score is an error naming the scorer). scikit-learn's searches
catch a scorer's exception under their default ``error_score=np.nan``, warn
("Scoring failed", with sklip's message in the details) and record NaN;
``GridSearchCV(..., error_score="raise")`` surfaces it, as sklip's command
line does.
"""

import math

from sklearn.utils.metadata_routing import (
    MetadataRequest,
    _raise_for_params,
    _routing_enabled,
)

from ._threads import limited_in_workers


class BaseScorer:
    """Base class of sklip's scorers.

    Subclasses implement ``_score(estimator, X, y, **metadata)``. The
    metadata a scorer consumes is declared in the class attribute
    ``_score_metadata``, mapping each name to its default routing request
    (``None``: passing it under metadata routing is an error until the user
    calls ``set_score_request``, scikit-learn's convention for
    ``sample_weight``; ``True``: always routed). With routing disabled,
    ``sample_weight`` is forwarded whenever :meth:`_accept_sample_weight`
    returns True (the default; a scorer whose value does not depend on the
    data may accept and ignore it).

    Instances hold only plain attributes, so they pickle and can be shipped
    to joblib workers; a random generator must not be stored (keep an int
    seed and draw a fresh generator per call, so every candidate of a search
    sees the same randomness under any ``n_jobs``).
    """

    _score_metadata = {}
    _factory_name = None

    @limited_in_workers
    def __call__(self, estimator, X, y=None, sample_weight=None, **kwargs):
        """Score a fitted ``estimator`` on ``X`` (and ``y``); greater is better.

        Parameters
        ----------
        estimator : estimator
            Fitted model.
        X : array-like of shape (n_samples, n_features)
            Data.
        y : array-like of shape (n_samples,), default=None
            Targets, for scorers that need them.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights, for scorers that use them.
        **kwargs : dict
            Other metadata; only with metadata routing enabled.

        Returns
        -------
        score : float

        Raises
        ------
        ValueError
            If the score is not a finite number (never returned as NaN), or
            the metric fails (for its own reason, e.g. a classifier's metric
            on a regressor). Under ``GridSearchCV``'s default
            ``error_score=np.nan`` scikit-learn turns an exception into NaN
            and a warning; ``error_score="raise"`` surfaces it.
        """
        _raise_for_params(kwargs, self, None)
        if sample_weight is not None:
            kwargs["sample_weight"] = sample_weight
        score = self._score(estimator, X, y, **kwargs)
        if not math.isfinite(score):
            raise ValueError(
                f"{self!r} scored {type(estimator).__name__} as {float(score)}, "
                "not a finite number; a search would rank it arbitrarily."
            )
        return score

    def _score(self, estimator, X, y, **kwargs):  # pragma: no cover - abstract
        raise NotImplementedError

    def _accept_sample_weight(self):
        # Called by scikit-learn when routing is disabled (TODO slep006 there).
        return True

    def set_score_request(self, **kwargs):
        """Set the metadata requested by the scorer (metadata routing).

        Parameters
        ----------
        **kwargs : dict
            ``param=alias`` with ``alias`` in ``{True, False, None}`` or a str,
            as in scikit-learn.

        Returns
        -------
        self : object
        """
        if not _routing_enabled():
            raise RuntimeError(
                "This method is only available when metadata routing is enabled."
                " You can enable it using"
                " sklearn.set_config(enable_metadata_routing=True)."
            )
        requests = {**getattr(self, "_score_requests", {}), **kwargs}
        self._build_request(requests)  # validates the aliases before storing
        self._score_requests = requests
        return self

    def _build_request(self, requests):
        request = MetadataRequest(owner=self)
        for param, alias in requests.items():
            request.score.add_request(param=param, alias=alias)
        return request

    def get_metadata_routing(self):
        """Metadata routing of this scorer.

        Returns
        -------
        routing : sklearn.utils.metadata_routing.MetadataRequest
            The ``score`` requests: the class defaults overridden by
            :meth:`set_score_request`.
        """
        return self._build_request(
            {**self._score_metadata, **getattr(self, "_score_requests", {})}
        )

    def _repr_params(self):
        return {}

    def __repr__(self):
        name = self._factory_name or type(self).__name__
        params = ", ".join(f"{k}={v!r}" for k, v in self._repr_params().items())
        return f"{name}({params})"

    def _routing_repr(self):
        return repr(self)
