"""The network view: the one place where a fitted object becomes a :class:`Network`.

Every consumer that reads a fitted model (certified bounds, empirical lower
bounds, attacks, certified accuracy) goes through :func:`as_network`, so they
all see the same map from the *raw* input space to the *raw* outputs.

Affine preprocessing steps of a :class:`~sklearn.pipeline.Pipeline` are folded
into the first affine layer, ``x -> (x @ A + c) @ W_1 + b_1 = x @ (A W_1) +
(c W_1 + b_1)``, so bounds hold with respect to distances between raw inputs.
"""

import numpy as np
from sklearn.base import is_classifier
from sklearn.linear_model import (
    ElasticNet,
    ElasticNetCV,
    Lasso,
    LassoCV,
    LinearRegression,
    LogisticRegression,
    Ridge,
    RidgeClassifier,
    RidgeClassifierCV,
    RidgeCV,
    SGDClassifier,
    SGDRegressor,
)
from sklearn.pipeline import Pipeline
from sklearn.svm import LinearSVC, LinearSVR
from sklearn.utils.validation import check_is_fitted

from .._activations import HIDDEN_ACTIVATIONS
from .._input_map import AFFINE_STEP_NAMES, InputMap
from .._network import Network

# Linear models whose raw output is ``X @ coef_.T + intercept_`` (the decision
# function of the classifiers, the prediction of the regressors).
_LINEAR_MODELS = (
    LogisticRegression,  # also LogisticRegressionCV, a subclass
    LinearRegression,
    Ridge,
    RidgeCV,
    RidgeClassifier,
    RidgeClassifierCV,
    Lasso,
    LassoCV,
    ElasticNet,
    ElasticNetCV,
    SGDClassifier,
    SGDRegressor,
    LinearSVC,
    LinearSVR,
)
_SUPPORTED = (
    "final estimators: sklip's LipschitzMLPClassifier/LipschitzMLPRegressor, "
    "scikit-learn's MLPClassifier/MLPRegressor and the linear models "
    + ", ".join(sorted({cls.__name__ for cls in _LINEAR_MODELS}))
    + "; Pipeline steps before it: "
    + AFFINE_STEP_NAMES
    + ", nested Pipelines, 'passthrough' or None"
)


def _is_mlp(estimator):
    """Duck-typed test shared by sklip's and scikit-learn's MLPs.

    Both expose scikit-learn's fitted attributes (``coefs_``, ``intercepts_``,
    ``activation``, ``out_activation_``); an unfitted one is recognised by its
    ``hidden_layer_sizes`` and ``activation`` hyper-parameters so that it
    raises ``NotFittedError`` rather than ``TypeError``.
    """
    if hasattr(estimator, "coefs_") and hasattr(estimator, "intercepts_"):
        return True
    return hasattr(estimator, "hidden_layer_sizes") and hasattr(estimator, "activation")


def _is_passthrough(step):
    return step is None or (isinstance(step, str) and step == "passthrough")


def _leaves(estimator, prefix=""):
    """All steps of (nested) pipelines in order, as ``(full_name, step)``."""
    if not isinstance(estimator, Pipeline):
        return [(prefix or type(estimator).__name__, estimator)]
    leaves = []
    for name, step in estimator.steps:
        if isinstance(step, Pipeline):
            leaves.extend(_leaves(step, prefix=f"{prefix}{name}__"))
        else:
            leaves.append((f"{prefix}{name}", step))
    return leaves


def _flatten(estimator):
    """Split ``estimator`` into its preprocessing steps and final model.

    Returns
    -------
    steps : list of (name, transformer)
        Steps before the final model, nested pipelines flattened and
        ``"passthrough"`` / ``None`` steps dropped.
    final : (name, estimator)
    """
    *steps, (final_name, final) = _leaves(estimator)
    if _is_passthrough(final):
        raise TypeError(
            f"Pipeline step {final_name!r} is {final!r}: the pipeline has no "
            f"final model to view as a network. Supported: {_SUPPORTED}."
        )
    steps = [(name, step) for name, step in steps if not _is_passthrough(step)]
    return steps, (final_name, final)


def _final_layers(name, model):
    """``(coefs, intercepts, activation)`` of the final model."""
    if _is_mlp(model):
        check_is_fitted(model, ("coefs_", "intercepts_"))
        if model.activation not in HIDDEN_ACTIVATIONS:
            raise TypeError(
                f"{name!r} ({type(model).__name__}) uses activation "
                f"{model.activation!r}; supported activations are "
                f"{sorted(HIDDEN_ACTIVATIONS)}."
            )
        return list(model.coefs_), list(model.intercepts_), model.activation
    if isinstance(model, _LINEAR_MODELS):
        check_is_fitted(model, "coef_")
        coef = np.asarray(model.coef_)
        # 1-D coef_ (single-output regressors) is one output column; 2-D coef_
        # is (n_outputs, n_features); binary classifiers have one row, i.e. a
        # single logit for classes_[1].
        W = coef[:, None] if coef.ndim == 1 else coef.T
        # intercept_ is the scalar 0.0 when fit_intercept=False for some models.
        b = np.broadcast_to(np.asarray(model.intercept_, dtype=W.dtype), (W.shape[1],))
        return [W], [b.copy()], "identity"
    raise TypeError(
        f"Cannot view {name!r} ({type(model).__name__}) as a network. "
        f"Supported: {_SUPPORTED}."
    )


def as_network(estimator):
    """View a fitted model as a :class:`~sklip._network.Network`.

    The network maps the *raw* input (before any pipeline preprocessing) to the
    *raw* outputs: the logits / decision function of a classifier, the linear
    predictor of a regressor. Output links (softmax, logistic) are not part of
    the view. Affine preprocessing steps of a pipeline are folded into the
    first layer: if the steps compute ``x @ A + c``, the first layer becomes
    ``W_1' = A W_1`` and ``b_1' = c W_1 + b_1``.

    Output structure (see also :func:`output_kind`):

    - multiclass classifiers: one output per entry of ``estimator.classes_``,
      the predicted class is the argmax;
    - binary classifiers: a **single** output, the logit of ``classes_[1]``
      (scikit-learn's convention; ``classes_[1]`` is predicted when it is
      positive);
    - multilabel MLP classifiers: one logit per label;
    - regressors: one output per target.

    Parameters
    ----------
    estimator : estimator or Network
        A fitted sklip ``LipschitzMLPClassifier`` / ``LipschitzMLPRegressor``,
        scikit-learn ``MLPClassifier`` / ``MLPRegressor``, a linear model
        (``LogisticRegression``, ``LinearRegression``, ``Ridge``,
        ``RidgeClassifier``, ``Lasso``, ``ElasticNet``, ``SGDClassifier``,
        ``SGDRegressor``, ``LinearSVC``, ``LinearSVR`` and their CV variants),
        or a :class:`~sklearn.pipeline.Pipeline` of affine steps
        (``StandardScaler``, ``MinMaxScaler``, ``MaxAbsScaler``,
        ``RobustScaler``, ``PCA``, ``TruncatedSVD``, nested pipelines,
        ``"passthrough"``) ending in one of those. A ``Network`` is returned
        unchanged.

    Returns
    -------
    network : Network
        The raw input -> raw output chain.

    Raises
    ------
    TypeError
        If the model or a pipeline step is not supported (the message names
        it and lists what is).
    sklearn.exceptions.NotFittedError
        If the model or a step is not fitted.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from sklip.lipschitz import as_network
    >>> X = np.array([[0.0, 1.0], [1.0, 0.0], [2.0, 3.0], [3.0, 1.0]])
    >>> model = make_pipeline(StandardScaler(), LogisticRegression())
    >>> model = model.fit(X, [0, 0, 1, 1])
    >>> net = as_network(model)
    >>> net.layer_units
    [2, 1]
    >>> bool(np.allclose(net.forward(X).ravel(), model.decision_function(X)))
    True
    """
    if isinstance(estimator, Network):
        return estimator
    steps, (final_name, final) = _flatten(estimator)
    coefs, intercepts, activation = _final_layers(final_name, final)
    if steps:
        coefs[0], intercepts[0] = InputMap.from_steps(steps).fold(
            coefs[0], intercepts[0]
        )
    return Network(coefs, intercepts, activation)


def output_kind(estimator):
    """How the raw outputs of :func:`as_network` are to be read.

    Parameters
    ----------
    estimator : estimator
        A model accepted by :func:`as_network`.

    Returns
    -------
    kind : {"binary", "multiclass", "multilabel", "continuous"}
        ``"binary"``: a single logit, positive for ``classes_[1]``;
        ``"multiclass"``: one score per class, argmax predicts;
        ``"multilabel"``: one logit per label; ``"continuous"``: regression
        outputs.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklip.lipschitz._view import output_kind
    >>> output_kind(LogisticRegression().fit([[0.0], [1.0]], ["a", "b"]))
    'binary'
    """
    if isinstance(estimator, Network):
        raise TypeError("A bare Network carries no output structure; pass the model.")
    _, (name, final) = _flatten(estimator)
    if not is_classifier(final):
        return "continuous"
    if _is_mlp(final):
        check_is_fitted(final, "coefs_")
        if final.out_activation_ == "softmax":
            return "multiclass"
        return "binary" if final.coefs_[-1].shape[1] == 1 else "multilabel"
    check_is_fitted(final, "coef_")
    binarizer = getattr(final, "_label_binarizer", None)
    if binarizer is not None and binarizer.y_type_.startswith("multilabel"):
        return "multilabel"
    single_logit = np.ndim(final.coef_) == 1 or final.coef_.shape[0] == 1
    return "binary" if single_logit else "multiclass"
