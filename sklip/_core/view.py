"""The network view: the one place where a fitted object becomes a :class:`Network`.

Every consumer that reads a fitted model (certified bounds, empirical lower
bounds, attacks, certified accuracy) goes through :func:`as_network`, so they
all see the same map from the *raw* input space to the *raw* outputs.

Affine preprocessing steps of a :class:`~sklearn.pipeline.Pipeline` are folded
into the first affine layer, ``x -> (x @ A + c) @ W_1 + b_1 = x @ (A W_1) +
(c W_1 + b_1)``, so bounds hold with respect to distances between raw inputs.
The map itself (including ``ColumnTransformer``, selectors and imputers, and
which columns are held fixed) is :class:`sklip._core.input_map.InputMap`; this
module pairs it with the final model (:class:`ModelView`).
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
from .._validation import ESTIMATOR, public, resolve_features
from .input_map import InputMap
from .network import Network
from .step_maps import input_map_of
from .steps import SUPPORTED_STEP_NAMES, is_passthrough
from .target import fold_output, inner_regressor, is_target_transformer, output_map

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
    + SUPPORTED_STEP_NAMES
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


def _leaves(estimator, prefix=""):
    """All steps of (nested) pipelines in order, as ``(full_name, step)``; a
    final ``TransformedTargetRegressor`` is opened to its fitted regressor
    (its target map is :func:`_target_map`)."""
    if is_target_transformer(estimator) and hasattr(estimator, "regressor_"):
        name, inner = inner_regressor(prefix or "TransformedTargetRegressor", estimator)
        return _leaves(
            inner, prefix=f"{name}__" if isinstance(inner, Pipeline) else name
        )
    if not isinstance(estimator, Pipeline):
        return [(prefix or type(estimator).__name__, estimator)]
    leaves = []
    for i, (name, step) in enumerate(estimator.steps):
        last = i == len(estimator.steps) - 1
        if isinstance(step, Pipeline) or (last and is_target_transformer(step)):
            leaves.extend(_leaves(step, prefix=f"{prefix}{name}__"))
        else:
            leaves.append((f"{prefix}{name}", step))
    return leaves


def _target_map(estimator, prefix=""):
    """``(a, c)`` of the (last) ``TransformedTargetRegressor`` of
    ``estimator``, its prediction being ``y = z * a + c``; None without one."""
    if is_target_transformer(estimator) and hasattr(estimator, "transformer_"):
        name = prefix or "TransformedTargetRegressor"
        a, c = output_map(name, estimator)
        _, inner = inner_regressor(name, estimator)
        nested = _target_map(inner, prefix=f"{name}__regressor_")
        if nested is not None:  # y = (z * a2 + c2) * a + c
            a, c = nested[0] * a, nested[1] * a + c
        return a, c
    if isinstance(estimator, Pipeline):
        name, last = estimator.steps[-1]
        return _target_map(last, prefix=f"{prefix}{name}")
    return None


def _check_estimator(estimator):
    if estimator is None or isinstance(estimator, (str, type)):
        raise TypeError(
            "The 'estimator' parameter must be a fitted model (or a Network); "
            f"got {estimator!r}. Supported: {_SUPPORTED}."
        )


def _flatten(estimator):
    """Split ``estimator`` into its preprocessing steps and final model.

    Returns
    -------
    steps : list of (name, transformer)
        Steps before the final model, nested pipelines flattened and
        ``"passthrough"`` / ``None`` steps dropped.
    final : (name, estimator)
    """
    _check_estimator(estimator)
    *steps, (final_name, final) = _leaves(estimator)
    if is_passthrough(final):
        raise TypeError(
            f"Pipeline step {final_name!r} is {final!r}: the pipeline has no "
            f"final model to view as a network. Supported: {_SUPPORTED}."
        )
    steps = [(name, step) for name, step in steps if not is_passthrough(step)]
    return steps, (final_name, final)


def _check_finite_weights(name, model, coefs, intercepts):
    """A NaN or infinite weight makes every bound and attack meaningless."""
    for layer, (W, b) in enumerate(zip(coefs, intercepts)):
        if not (np.all(np.isfinite(W)) and np.all(np.isfinite(b))):
            raise ValueError(
                f"{name!r} ({type(model).__name__}) has non-finite (NaN or "
                f"infinite) weights in layer {layer}; it has no finite "
                "Lipschitz constant or certificate. Refit it."
            )


def _final_layers(name, model):
    """``(coefs, intercepts, activation)`` of the final model."""
    coefs, intercepts, activation = _raw_final_layers(name, model)
    _check_finite_weights(name, model, coefs, intercepts)
    return coefs, intercepts, activation


def _raw_final_layers(name, model):
    """``(coefs, intercepts, activation)`` of a fitted MLP or linear model, unchecked.

    A ``TypeError`` names any other model or an unsupported activation.
    """
    if is_target_transformer(model):  # unfitted, else _leaves opened it
        check_is_fitted(model, "regressor_")
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


@public({"estimator": ESTIMATOR})
def as_network(estimator):
    """View a fitted model as a :class:`~sklip._core.network.Network`.

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
        ``RobustScaler``, ``PCA``, ``TruncatedSVD``), feature selectors,
        ``SimpleImputer`` (the identity on observed values),
        ``ColumnTransformer`` of those with ``"passthrough"``/``"drop"``,
        nested pipelines, ending in one of those. A ``Network`` is returned
        unchanged. Encoded (categorical) columns have no place in a network
        over all raw inputs: use ``features=`` in
        :func:`~sklip.lipschitz.lipschitz_bound` and the robustness
        functions, which hold them fixed.

    Returns
    -------
    network : Network
        The raw input -> raw output chain.

    Raises
    ------
    TypeError
        If the model or a pipeline step is not supported, or a column is
        encoded or enters through a non-affine step (the message names the
        step and lists what is supported).
    ValueError
        If the model has NaN or infinite weights.
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
    return ModelView(estimator).folded()


def preprocessing_map(estimator):
    """The :class:`InputMap` of ``estimator``'s preprocessing steps, read
    without its final model (which may have no network view); None when a
    step cannot be read."""
    steps, _ = _flatten(estimator)
    if not steps:
        return None
    try:
        return input_map_of(steps)
    except TypeError:
        return None


class ModelView:
    """A fitted model seen as preprocessing map + final network.

    Parameters
    ----------
    estimator : estimator
        A model accepted by :func:`as_network`, whose preprocessing may also
        hold columns fixed (encoders, non-affine steps).

    Attributes
    ----------
    network : Network
        The final model on the *model* inputs (nothing folded).
    input_map : InputMap
        The map of the preprocessing steps (identity without steps).
    steps : list of (name, transformer)
        The fitted preprocessing steps, in order.
    """

    def __init__(self, estimator):
        steps, (final_name, final) = _flatten(estimator)
        self.estimator = estimator
        self.steps = steps
        coefs, intercepts, activation = _final_layers(final_name, final)
        target = _target_map(estimator)
        if target is not None:
            # Outputs in the target's units: the inverse target map folds
            # into the last layer.
            coefs, intercepts = fold_output(coefs, intercepts, *target)
        self.network = Network(coefs, intercepts, activation)
        if steps:
            self.input_map = input_map_of(steps)
        else:
            self.input_map = InputMap.identity(self.network.n_features_in)
        if self.input_map.n_out != self.network.n_features_in:
            raise ValueError(
                f"The preprocessing outputs {self.input_map.n_out} features "
                f"but {final_name!r} expects {self.network.n_features_in}."
            )

    @property
    def n_raw(self):
        """Number of raw input columns."""
        return self.input_map.n_raw

    @property
    def feature_names(self):
        """Raw column names the model was fitted with, or None."""
        names = getattr(self.estimator, "feature_names_in_", None)
        return None if names is None else np.asarray(names, dtype=object)

    def preprocess(self, X):
        """Model inputs of raw ``X`` (the fitted steps' own ``transform``),
        as a dense float64 array."""
        for _, step in self.steps:
            X = step.transform(X)
        if hasattr(X, "toarray"):
            X = X.toarray()
        return np.asarray(X, dtype=np.float64)

    def folded(self):
        """The network on all raw inputs; a clear error when a column is held."""
        net = self.network
        if not self.steps:
            return net
        m = self.input_map
        if not m.is_complete:
            j = min(m.held)
            kind, step_name, why = m.held[j]
            names = self.feature_names
            label = repr(names[j]) if names is not None else str(j)
            what = "encodes" if kind == "categorical" else "is not affine in"
            raise TypeError(
                f"A network over all raw columns cannot be built: step "
                f"{step_name!r} ({why}) {what} column {label}. Pass `features` "
                "(without it) to lipschitz_bound and the robustness functions, "
                "which hold such columns fixed. Supported steps: "
                f"{SUPPORTED_STEP_NAMES}."
            )
        coefs, intercepts = list(net.coefs), list(net.intercepts)
        coefs[0], intercepts[0] = m.fold(coefs[0], intercepts[0])
        return Network(coefs, intercepts, net.activation)

    def restricted(self, columns):
        """The network seen from the raw ``columns`` only: first layer
        ``A_S W_1``. Its Lipschitz constant bounds the model's over those
        columns for any value of the others (their contribution only shifts
        the first layer's input). The first-layer bias is ``b_1``: this
        network is for bounds, not for evaluation."""
        net = self.network
        A_S = self.input_map.rows_of(columns)
        coefs = [A_S @ np.asarray(net.coefs[0], dtype=np.float64)]
        coefs += list(net.coefs[1:])
        return Network(coefs, list(net.intercepts), net.activation)

    def attack_network(self, columns):
        """Network on ``[x_S, z_rest]`` with first layer ``[A_S W_1; W_1]``:
        moving the first ``len(columns)`` inputs moves the raw columns ``S``
        exactly as the pipeline would, ``z_rest`` (see :meth:`rest`) carries
        everything else."""
        net = self.network
        W1 = np.asarray(net.coefs[0], dtype=np.float64)
        A_S = self.input_map.rows_of(columns)
        coefs = [np.vstack([A_S @ W1, W1])] + list(net.coefs[1:])
        return Network(coefs, list(net.intercepts), net.activation), A_S

    def default_columns(self, numeric=None):
        """The columns perturbed and certified by default: every raw column
        except categorical ones (an encoder's input, or non-numeric when
        ``numeric``, a boolean mask over the raw columns, says so)."""
        keep = np.ones(self.n_raw, bool)
        for j, (kind, _, _) in self.input_map.held.items():
            if kind == "categorical":
                keep[j] = False
        if numeric is not None:
            keep &= numeric
        if not keep.any():
            raise ValueError(
                "Every input column is categorical (non-numeric or encoded); "
                "there is nothing to perturb or certify."
            )
        return np.flatnonzero(keep)

    def columns_for(self, features, numeric=None):
        """Raw column indices of ``features`` (None: :meth:`default_columns`),
        each checked to enter the model affinely."""
        if features is None:
            columns = self.default_columns(numeric)
        else:
            columns = resolve_features(features, self.n_raw, self.feature_names)
        self.input_map.check_columns(columns, self.feature_names)
        return columns

    def network_for(self, features):
        """The network over ``features`` (see :meth:`columns_for`): the folded
        network when that is every raw column of a fully affine pipeline,
        :meth:`restricted` otherwise."""
        columns = self.columns_for(features)
        if columns.size == self.n_raw and self.input_map.is_complete:
            return self.folded()
        return self.restricted(columns)


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
    >>> from sklip._core.view import output_kind
    >>> output_kind(LogisticRegression().fit([[0.0], [1.0]], ["a", "b"]))
    'binary'
    """
    if isinstance(estimator, Network):
        raise TypeError("A bare Network carries no output structure; pass the model.")
    _check_estimator(estimator)
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
