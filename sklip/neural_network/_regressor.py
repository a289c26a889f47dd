"""LipschitzMLPRegressor."""

import numpy as np
from sklearn.base import RegressorMixin, _fit_context
from sklearn.metrics import r2_score
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data

from ._base import BaseLipschitzMLP
from ._docstrings import ATTRIBUTES, PARAMETERS, PENALTY_PARAGRAPH, REFERENCES


class LipschitzMLPRegressor(RegressorMixin, BaseLipschitzMLP):
    __doc__ = f"""Multi-layer perceptron regressor with a Lipschitz penalty.

A drop-in cousin of :class:`sklearn.neural_network.MLPRegressor`: same
parameters, defaults and fitted attributes, plus ``penalty`` and
``n_power_iterations`` (the penalty), and ``lipschitz_margin`` and
``max_lipschitz`` (certified training; the margin is the regression
analogue described below). Single and multi-output targets; dense or sparse
input; ``sample_weight`` in ``fit`` and ``partial_fit``.

{PENALTY_PARAGRAPH}

For several outputs the squared error is summed over outputs, so that the
reported loss is the function whose gradient is followed (scikit-learn
averages it, which misleads its lbfgs line search).

Parameters
----------
loss : {{'squared_error', 'poisson'}}, default='squared_error'
    The loss: half squared error with an identity output, or half Poisson
    deviance with an exponential output (targets must be non-negative).

{PARAMETERS}

Attributes
----------
{ATTRIBUTES}

See Also
--------
LipschitzMLPClassifier : The classifier with the same penalties.
sklearn.neural_network.MLPRegressor : The scikit-learn MLP (L2 penalty only).

References
----------
{REFERENCES}

Examples
--------
>>> from sklearn.datasets import make_regression
>>> from sklip import LipschitzMLPRegressor
>>> X, y = make_regression(n_samples=200, n_features=5, noise=1.0,
...                        random_state=0)
>>> reg = LipschitzMLPRegressor(hidden_layer_sizes=(16,), solver="lbfgs",
...                             max_iter=500, random_state=0).fit(X, y / 100)
>>> reg.score(X, y / 100) > 0.95
True
"""

    _parameter_constraints: dict = {
        **BaseLipschitzMLP._parameter_constraints,
        "loss": [StrOptions({"squared_error", "poisson"})],
    }

    def __init__(
        self,
        loss="squared_error",
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
    ):
        self.loss = loss
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

    def _validate_input(self, X, y, incremental, reset, classes=None):
        """Validated X and 2-D targets; no stratification (see
        ``BaseLipschitzMLP._validate_input``)."""
        X, y = validate_data(
            self,
            X,
            y,
            accept_sparse=["csr", "csc"],
            multi_output=True,
            y_numeric=True,
            dtype=(np.float64, np.float32),
            reset=reset,
        )
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if self.loss == "poisson" and np.any(y < 0):
            raise ValueError(
                "loss='poisson' requires non-negative targets y; got a minimum "
                f"of {y.min()}."
            )
        Y = y.reshape(-1, 1) if y.ndim == 1 else y
        return X, Y, None

    def _output_activation(self):
        return "exp" if self.loss == "poisson" else "identity"

    def _predict_from_raw(self, Z, out_activation=None):
        """Predictions from raw outputs (through ``out_activation_``)."""
        if out_activation is None:
            out_activation = self.out_activation_
        return np.exp(Z) if out_activation == "exp" else Z

    def _score_raw(self, network, X, Y, sample_weight, out_activation):
        """R^2 of ``network`` (with output link ``out_activation``) on
        validated data: the early-stopping score."""
        y_pred = self._predict_from_raw(network.forward(X), out_activation)
        if not np.isfinite(y_pred).all():
            return np.nan
        return r2_score(Y, y_pred, sample_weight=sample_weight)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the model to data matrix X and targets y.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Real-valued targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative sample weights; mini-batches whose weights sum to
            zero are skipped.

        Returns
        -------
        self : object
            The fitted regressor.
        """
        return self._fit(X, y, sample_weight=sample_weight, incremental=False)

    @available_if(lambda est: est._check_solver())
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None):
        """Update the model with one epoch over the given data.

        Only available for the stochastic solvers ('sgd', 'adam'); unlike
        scikit-learn, ``hasattr(est, "partial_fit")`` is False for lbfgs.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Real-valued targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative sample weights.

        Returns
        -------
        self : object
            The updated regressor.
        """
        return self._fit(X, y, sample_weight=sample_weight, incremental=True)

    def predict(self, X):
        """Predict using the network.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            Predictions.
        """
        check_is_fitted(self)
        X = validate_data(
            self,
            X,
            accept_sparse=["csr", "csc"],
            dtype=(np.float64, np.float32),
            reset=False,
        )
        y = self._predict_from_raw(self._raw_output(X))
        return y.ravel() if y.shape[1] == 1 else y

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags
