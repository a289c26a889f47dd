"""A Pipeline whose sklip estimator is penalised in raw input units.

A scikit-learn :class:`~sklearn.pipeline.Pipeline` ending in a sklip
estimator trains that estimator on the *transformed* data: its penalty shrinks
the network as seen from the model inputs, while certified bounds, attacks and
``eps`` refer to the raw inputs. Through a per-feature scaler the two differ by
``1 / scale`` per feature: first-layer weights of inputs that carry no signal
keep their random values under a spectral penalty and dominate the raw-unit
Lipschitz constant.

:class:`Pipeline` closes that gap. When its final estimator is a sklip
estimator, it hands the estimator the affine map ``z = x @ A + c`` of the
fitted preprocessing (the same folding :func:`sklip.lipschitz.as_network`
does), and the penalty then acts on the first layer seen from the raw inputs,
``A W_1``. Everything else is scikit-learn's Pipeline: cloning, pickling,
``set_params``, ``GridSearchCV`` over ``<step>__alpha``.

Mixed data: behind a ``ColumnTransformer`` that scales numeric columns and
encodes categorical ones, the map's rows are the numeric raw columns (their
linear part ``A_S``, raw units) plus one unit row per encoded model-input
column: the numeric part of the first layer is penalised as seen from the raw
columns, the encoded part in its own units (one unit per indicator), as
without a pipeline. Bounds and certificates over the numeric ``features``
read the same ``A_S W_1``.
"""

import contextlib

from sklearn import pipeline as _sk_pipeline
from sklearn.utils._param_validation import HasMethods

from ._core.input_map import handing_over, handover_pending
from ._core.step_maps import input_map_of
from ._core.steps import check_mappable_step
from ._core.view import _flatten
from ._validation import public
from .neural_network._base import BaseLipschitzMLP

__all__ = ["Pipeline", "make_pipeline"]


class Pipeline(_sk_pipeline.Pipeline):
    """Pipeline that penalises its sklip estimator in raw input units.

    Same parameters, methods and attributes as
    :class:`sklearn.pipeline.Pipeline`. When the final step (possibly inside
    nested pipelines) is a :class:`~sklip.LipschitzMLPClassifier` or
    :class:`~sklip.LipschitzMLPRegressor`, every step before it must be
    readable by the input map: affine transformers (``StandardScaler``,
    ``MinMaxScaler(clip=False)``, ``MaxAbsScaler``, ``RobustScaler``, ``PCA``,
    ``TruncatedSVD``), feature selectors, ``SimpleImputer``, encoders
    (``OneHotEncoder``, ``OrdinalEncoder``, ``TargetEncoder``: their outputs
    are penalised in their own units), ``ColumnTransformer`` of those, nested
    pipelines, ``"passthrough"``/``"drop"``; anything else is a ``TypeError``
    naming the step, raised before fitting. The estimator is told the
    composed map and its ``input_map_`` attribute holds it after fitting. Any
    other final step makes this an ordinary scikit-learn Pipeline.

    Parameters
    ----------
    steps : list of (str, estimator) tuples
        As in :class:`sklearn.pipeline.Pipeline`.
    transform_input : list of str, default=None
        As in :class:`sklearn.pipeline.Pipeline`.
    memory : str or object with the joblib.Memory interface, default=None
        As in :class:`sklearn.pipeline.Pipeline`.
    verbose : bool, default=False
        As in :class:`sklearn.pipeline.Pipeline`.

    Attributes
    ----------
    named_steps : :class:`~sklearn.utils.Bunch`
        Access the steps by name.

    See Also
    --------
    make_pipeline : Build a Pipeline without naming the steps.
    sklearn.pipeline.Pipeline : The parent class; penalises in model units.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.preprocessing import StandardScaler
    >>> from sklip import LipschitzMLPClassifier
    >>> from sklip.pipeline import make_pipeline
    >>> X, y = load_iris(return_X_y=True)
    >>> model = make_pipeline(
    ...     StandardScaler(),
    ...     LipschitzMLPClassifier((16,), alpha=1.0, max_iter=50, random_state=0),
    ... ).fit(X, y)
    >>> model[-1].input_map_
    InputMap(diagonal, n_in=4, n_out=4)
    """

    def fit(self, X, y=None, **params):
        """Fit the pipeline; see :meth:`sklearn.pipeline.Pipeline.fit`.

        Parameters
        ----------
        X : iterable
            Training data, in raw units.
        y : iterable, default=None
            Training targets.
        **params : dict of str -> object
            Parameters routed to the steps, as in scikit-learn.

        Returns
        -------
        self : Pipeline
            This fitted pipeline.
        """
        with self._handing_over():
            return super().fit(X, y, **params)

    def fit_transform(self, X, y=None, **params):
        """Fit, then transform; see :meth:`sklearn.pipeline.Pipeline.fit_transform`.

        Parameters
        ----------
        X : iterable
            Training data, in raw units.
        y : iterable, default=None
            Training targets.
        **params : dict of str -> object
            Parameters routed to the steps, as in scikit-learn.

        Returns
        -------
        Xt : ndarray of shape (n_samples, n_transformed_features)
            Transformed samples.
        """
        with self._handing_over():
            return super().fit_transform(X, y, **params)

    def fit_predict(self, X, y=None, **params):
        """Fit, then predict; see :meth:`sklearn.pipeline.Pipeline.fit_predict`.

        Parameters
        ----------
        X : iterable
            Training data, in raw units.
        y : iterable, default=None
            Training targets.
        **params : dict of str -> object
            Parameters routed to the steps, as in scikit-learn.

        Returns
        -------
        y_pred : ndarray
            Predictions of the final estimator on ``X``.
        """
        with self._handing_over():
            return super().fit_predict(X, y, **params)

    def _handing_over(self):
        """Hand the preprocessing map to the final sklip estimator, if any."""
        steps, (_, final) = _flatten(self)
        if not isinstance(final, BaseLipschitzMLP):
            return contextlib.nullcontext()
        if handover_pending(final):
            # An enclosing sklip Pipeline already hands over the whole chain.
            return contextlib.nullcontext()
        for name, step in steps:
            check_mappable_step(name, step)

        def make_map():
            # Called by the estimator's fit, when the steps before it are fitted.
            return input_map_of(steps) if steps else None

        return handing_over(final, make_map)


@public(
    {
        "memory": [None, str, HasMethods(["cache"])],
        "transform_input": [list, None],
        "verbose": ["boolean"],
    }
)
def make_pipeline(*steps, memory=None, transform_input=None, verbose=False):
    """Construct a :class:`Pipeline` from the given estimators.

    Like :func:`sklearn.pipeline.make_pipeline`, with sklip's Pipeline, whose
    final sklip estimator is penalised in raw input units.

    Parameters
    ----------
    *steps : list of estimators
        Transformers followed by a final estimator.
    memory : str or object with the joblib.Memory interface, default=None
        As in :func:`sklearn.pipeline.make_pipeline`.
    transform_input : list of str, default=None
        As in :func:`sklearn.pipeline.make_pipeline`.
    verbose : bool, default=False
        As in :func:`sklearn.pipeline.make_pipeline`.

    Returns
    -------
    p : Pipeline
        A sklip :class:`Pipeline`.

    Examples
    --------
    >>> from sklearn.preprocessing import MinMaxScaler
    >>> from sklip import LipschitzMLPRegressor
    >>> from sklip.pipeline import make_pipeline
    >>> make_pipeline(MinMaxScaler(), LipschitzMLPRegressor())
    Pipeline(steps=[('minmaxscaler', MinMaxScaler()),
                    ('lipschitzmlpregressor', LipschitzMLPRegressor())])
    """
    return Pipeline(
        _sk_pipeline._name_estimators(steps),
        memory=memory,
        transform_input=transform_input,
        verbose=verbose,
    )
