"""LipschitzMLPClassifier."""

import numpy as np
from scipy.special import expit, softmax
from sklearn.base import ClassifierMixin, _fit_context
from sklearn.metrics import accuracy_score
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import (
    _check_partial_fit_first_call,
    check_classification_targets,
    type_of_target,
    unique_labels,
)
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data

from ._base import BaseLipschitzMLP
from ._certified_training import MARGIN_KINDS
from ._docstrings import (
    ATTRIBUTES,
    MARGIN_KIND,
    PARAMETERS,
    PENALTY_PARAGRAPH,
    REFERENCES,
)


class LipschitzMLPClassifier(ClassifierMixin, BaseLipschitzMLP):
    __doc__ = f"""Multi-layer perceptron classifier with a Lipschitz penalty.

A drop-in cousin of :class:`sklearn.neural_network.MLPClassifier`: same
parameters, defaults and fitted attributes, plus ``penalty`` and
``n_power_iterations`` (the penalty), and ``lipschitz_margin``,
``margin_kind`` and ``max_lipschitz`` (certified training). Binary,
multiclass and multilabel targets; dense or sparse input; ``sample_weight``
in ``fit`` and ``partial_fit``.

{PENALTY_PARAGRAPH}

Parameters
----------
{PARAMETERS}

{MARGIN_KIND}

Attributes
----------
classes_ : ndarray of shape (n_classes,)
    Class labels.

{ATTRIBUTES}

See Also
--------
LipschitzMLPRegressor : The regressor with the same penalties.
sklearn.neural_network.MLPClassifier : The scikit-learn MLP (L2 penalty only).

References
----------
{REFERENCES}

Examples
--------
>>> from sklearn.datasets import load_digits
>>> from sklip import LipschitzMLPClassifier
>>> X, y = load_digits(return_X_y=True)
>>> X = X / 16
>>> clf = LipschitzMLPClassifier(hidden_layer_sizes=(32,), alpha=1.0,
...                              max_iter=30, random_state=0).fit(X, y)
>>> clf.score(X, y) > 0.9
True
>>> clf.predict_proba(X[:2]).shape
(2, 10)

Certified training: a hard budget on the Lipschitz constant, and a margin
that asks for certified radius 0.5 on the training samples.

>>> from sklip import lipschitz_bound
>>> budgeted = LipschitzMLPClassifier(hidden_layer_sizes=(32,), max_iter=30,
...                                   max_lipschitz=2.0, lipschitz_margin=0.5,
...                                   random_state=0).fit(X, y)
>>> lipschitz_bound(budgeted, method="spectral") <= 2.0
True
"""

    _parameter_constraints: dict = {
        **BaseLipschitzMLP._parameter_constraints,
        "margin_kind": [StrOptions(set(MARGIN_KINDS))],
    }

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        solver="adam",
        alpha=0.0001,
        penalty="spectral",
        n_power_iterations=1,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=0.001,
        power_t=0.5,
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        verbose=False,
        warm_start=False,
        momentum=0.9,
        nesterovs_momentum=True,
        early_stopping=False,
        validation_fraction=0.1,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        n_iter_no_change=10,
        max_fun=15000,
        lipschitz_margin=0.0,
        max_lipschitz=None,
        margin_kind="pairwise",
    ):
        super().__init__(
            hidden_layer_sizes=hidden_layer_sizes,
            activation=activation,
            solver=solver,
            alpha=alpha,
            penalty=penalty,
            n_power_iterations=n_power_iterations,
            batch_size=batch_size,
            learning_rate=learning_rate,
            learning_rate_init=learning_rate_init,
            power_t=power_t,
            max_iter=max_iter,
            shuffle=shuffle,
            random_state=random_state,
            tol=tol,
            verbose=verbose,
            warm_start=warm_start,
            momentum=momentum,
            nesterovs_momentum=nesterovs_momentum,
            early_stopping=early_stopping,
            validation_fraction=validation_fraction,
            beta_1=beta_1,
            beta_2=beta_2,
            epsilon=epsilon,
            n_iter_no_change=n_iter_no_change,
            max_fun=max_fun,
            lipschitz_margin=lipschitz_margin,
            max_lipschitz=max_lipschitz,
        )
        self.margin_kind = margin_kind

    def _validate_input(self, X, y, incremental, reset, classes=None):
        """Validated X, the label-indicator targets and the stratification
        labels (see ``BaseLipschitzMLP._validate_input``)."""
        X, y = validate_data(
            self,
            X,
            y,
            accept_sparse=["csr", "csc"],
            multi_output=True,
            dtype=(np.float64, np.float32),
            reset=reset,
        )
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if type_of_target(y) == "multiclass-multioutput":
            # LabelBinarizer's own error ("Multioutput target data is not
            # supported with label binarization") names neither y nor a way out.
            raise ValueError(
                "multi-output multiclass targets are not supported: y has "
                f"shape {y.shape} with more than 2 classes in a column. Use one "
                "classifier per output (sklearn.multioutput.MultiOutputClassifier"
                "(LipschitzMLPClassifier())), or 0/1 indicator columns "
                "(multilabel targets, which LipschitzMLPClassifier supports)."
            )
        check_classification_targets(y)
        multilabel_y = type_of_target(y).startswith("multilabel")
        # scikit-learn's rules: classes are fixed by the first partial_fit
        # (from `classes`, which later batches need not all contain), by a
        # fit, or by hand; warm_start needs the same classes again.
        if incremental and _check_partial_fit_first_call(self, classes):
            self._label_binarizer = LabelBinarizer().fit(
                y if multilabel_y else self.classes_
            )
        if not hasattr(self, "classes_") or (not self.warm_start and not incremental):
            self._label_binarizer = LabelBinarizer().fit(y)
            self.classes_ = self._label_binarizer.classes_
        else:
            if not hasattr(self, "_label_binarizer"):
                # classes_ set by hand
                self._label_binarizer = LabelBinarizer().fit(
                    y if multilabel_y else self.classes_
                )
            labels = unique_labels(y)
            if self.warm_start and not incremental:
                if set(labels) != set(self.classes_):
                    raise ValueError(
                        "warm_start can only be used where `y` has the same "
                        "classes as in the previous call to fit. Previously "
                        f"got {self.classes_}, `y` has {labels}"
                    )
            elif len(np.setdiff1d(labels, self.classes_, assume_unique=True)):
                raise ValueError(
                    "`y` has classes not in `self.classes_`. "
                    f"`self.classes_` has {self.classes_}. 'y' has {labels}."
                )
        multilabel = self._label_binarizer.y_type_.startswith("multilabel")
        if len(self.classes_) < 2 and not multilabel:
            raise ValueError(
                "LipschitzMLPClassifier needs at least 2 classes (in y, or "
                "announced by partial_fit's classes); got only one class: "
                f"{np.asarray(self.classes_).tolist()}."
            )
        Y = self._label_binarizer.transform(y)
        if multilabel:
            strata = None
        elif Y.shape[1] == 1:
            # Binary: stratified by the indicator of classes_[1], as in
            # scikit-learn (the same split as by the labels themselves).
            strata = Y[:, 0].astype(bool)
        else:
            strata = y
        return X, Y, strata

    def _output_activation(self):
        if self._label_binarizer.y_type_ == "multiclass":
            return "softmax"
        return "logistic"

    def _proba_from_raw(self, Z, out_activation=None):
        """Probabilities from raw outputs (through ``out_activation_``)."""
        if out_activation is None:
            out_activation = self.out_activation_
        if out_activation == "softmax":
            return softmax(Z, axis=1)
        return expit(Z)

    def _score_raw(self, network, X, Y, sample_weight, out_activation):
        """Accuracy of ``network`` (with output link ``out_activation``) on
        validated data and encoded targets: the early-stopping score."""
        y_true = self._label_binarizer.inverse_transform(Y)
        proba = self._proba_from_raw(network.forward(X), out_activation)
        if proba.shape[1] == 1:
            proba = proba.ravel()
        y_pred = self._label_binarizer.inverse_transform(proba)
        return accuracy_score(y_true, y_pred, sample_weight=sample_weight)

    def _validated_raw(self, X):
        check_is_fitted(self)
        X = validate_data(
            self,
            X,
            accept_sparse=["csr", "csc"],
            dtype=(np.float64, np.float32),
            reset=False,
        )
        return self._raw_output(X)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the model to data matrix X and targets y.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Class labels, or a label indicator matrix for multilabel targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative sample weights; mini-batches whose weights sum to
            zero are skipped.

        Returns
        -------
        self : object
            The fitted classifier.
        """
        return self._fit(X, y, sample_weight=sample_weight, incremental=False)

    @available_if(lambda est: est._check_solver())
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None, classes=None):
        """Update the model with one epoch over the given data.

        Only available for the stochastic solvers ('sgd', 'adam').

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            The target labels.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative sample weights.
        classes : array-like of shape (n_classes,), default=None
            All classes across calls; required on the first call, and then
            fixed: later batches may hold any subset of them (the first one
            included), and a later ``classes`` must be the same.

        Returns
        -------
        self : object
            The updated classifier.
        """
        return self._fit(
            X, y, sample_weight=sample_weight, incremental=True, classes=classes
        )

    def decision_function(self, X):
        """Raw outputs (logits) of the network.

        These are the outputs whose Lipschitz constant sklip bounds.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        scores : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            Logits; 1-D for binary targets (the logit of ``classes_[1]``).
        """
        Z = self._validated_raw(X)
        return Z.ravel() if Z.shape[1] == 1 else Z

    def predict(self, X):
        """Predict class labels.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_classes)
            Predicted labels (an indicator matrix for multilabel targets).
        """
        proba = self._proba_from_raw(self._validated_raw(X))
        if proba.shape[1] == 1:
            proba = proba.ravel()
        return self._label_binarizer.inverse_transform(proba)

    def predict_proba(self, X):
        """Probability estimates.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Class probabilities in the order of ``classes_``.
        """
        proba = self._proba_from_raw(self._validated_raw(X))
        if proba.shape[1] == 1:
            return np.hstack([1 - proba, proba])
        return proba

    def predict_log_proba(self, X):
        """Log of the probability estimates.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            Log-probabilities in the order of ``classes_``.
        """
        return np.log(self.predict_proba(X))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags
