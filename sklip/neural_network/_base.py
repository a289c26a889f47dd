"""The estimator base shared by the Lipschitz MLP classifier and regressor.

Parameters, their validation and the public ``fit`` / ``partial_fit``
workflow. The training engine lives apart: the training state
(``_state``), the objective and its penalties (``_objective``), the solvers
(``_solvers``, ``_optimizers``, ``_batching``).
"""

import copy
from abc import ABCMeta, abstractmethod
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, Options, StrOptions
from sklearn.utils.validation import _check_sample_weight, check_is_fitted

from .._core.input_map import handed_input_map
from .._core.network import Network
from .._threads import limited_in_workers
from .._validation import count, real
from ._monitor import CallbackSupportMixin, FitMonitor
from ._objective import PENALTIES
from ._solvers import SOLVERS, STOCHASTIC_SOLVERS, Diverged, divergence_message
from ._state import OWNED_ATTRIBUTES, TrainingState

# Everything a fit writes: the training state's attributes, and those the
# validation of X and y sets. A call that fails restores these as they were
# before it (none, for a first fit), so a failed fit never leaves a half
# fitted model or wipes a fitted one.
_FITTED_ATTRIBUTES = (
    *OWNED_ATTRIBUTES,
    "classes_",
    "n_features_in_",
    "feature_names_in_",
    "_label_binarizer",
    "input_map_",
)
# Fitted attributes that training mutates in place: the snapshot taken before
# a call copies these deeply, the rest are only ever replaced.
_MUTATED_IN_PLACE = (
    "loss_curve_",
    "validation_scores_",
    "_optimizer",
    "_power_vectors",
)


class BaseLipschitzMLP(CallbackSupportMixin, BaseEstimator, metaclass=ABCMeta):
    """Base class for the Lipschitz MLPs; use the derived classes."""

    # The "?" of the HTML repr opens the class's page of the API reference
    # (docs/api.rst; autosummary writes generated/sklip.<Class>.html).
    _doc_link_module = "sklip"
    _doc_link_template = (
        "https://sklip.readthedocs.io/en/latest/generated/sklip.{estimator_name}.html"
    )

    _parameter_constraints: dict = {
        "hidden_layer_sizes": [
            "array-like",
            Interval(Integral, 1, None, closed="left"),
        ],
        "activation": [StrOptions({"identity", "logistic", "tanh", "relu"})],
        "solver": [StrOptions(set(SOLVERS))],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "penalty": [StrOptions(set(PENALTIES))],
        "n_power_iterations": [count(1)],
        "batch_size": [
            StrOptions({"auto"}),
            Interval(Integral, 1, None, closed="left"),
        ],
        "learning_rate": [StrOptions({"constant", "invscaling", "adaptive"})],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "power_t": [Interval(Real, 0, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "shuffle": ["boolean"],
        "random_state": ["random_state"],
        "tol": [Interval(Real, 0, None, closed="left")],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
        "momentum": [Interval(Real, 0, 1, closed="both")],
        "nesterovs_momentum": ["boolean"],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="left")],
        "beta_1": [Interval(Real, 0, 1, closed="left")],
        "beta_2": [Interval(Real, 0, 1, closed="left")],
        "epsilon": [Interval(Real, 0, None, closed="neither")],
        "n_iter_no_change": [
            Interval(Integral, 1, None, closed="left"),
            Options(Real, {np.inf}),
        ],
        "max_fun": [Interval(Integral, 1, None, closed="left")],
        # sklip's own parameters (these and n_power_iterations) refuse bools,
        # as sklip's public functions do: ``lipschitz_margin=True`` is a flag
        # where a radius is expected. Those shared with scikit-learn's MLP
        # keep its constraints, which take ``True`` as 1.
        "lipschitz_margin": [real(0.0)],
        "max_lipschitz": [real(0.0, closed="neither"), None],
    }

    @abstractmethod
    def __init__(
        self,
        hidden_layer_sizes,
        activation,
        solver,
        alpha,
        penalty,
        n_power_iterations,
        batch_size,
        learning_rate,
        learning_rate_init,
        power_t,
        max_iter,
        shuffle,
        random_state,
        tol,
        verbose,
        warm_start,
        momentum,
        nesterovs_momentum,
        early_stopping,
        validation_fraction,
        beta_1,
        beta_2,
        epsilon,
        n_iter_no_change,
        max_fun,
        lipschitz_margin=0.0,
        max_lipschitz=None,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.penalty = penalty
        self.n_power_iterations = n_power_iterations
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.lipschitz_margin = lipschitz_margin
        self.max_lipschitz = max_lipschitz

    # ------------------------------------------------------------------
    # Hooks for the subclasses
    @abstractmethod
    def _validate_input(self, X, y, incremental, reset, classes=None):
        """Return ``(X, Y, labels)``: validated X, 2-D float targets, and the
        labels to stratify the validation split by (None for no stratification).
        ``classes`` is what the caller gave ``partial_fit`` (classifiers only).
        """

    @abstractmethod
    def _output_activation(self):
        """Name of the output link for the fitted targets."""

    @abstractmethod
    def _score_raw(self, network, X, y, sample_weight, out_activation):
        """Validation score of ``network`` (output link ``out_activation``)
        on already validated data."""

    # ------------------------------------------------------------------
    def _network(self):
        """The fitted model as a :class:`~sklip._core.network.Network`."""
        check_is_fitted(self, "coefs_")
        return Network(self.coefs_, self.intercepts_, self.activation)

    def _hidden_layer_sizes(self):
        """``hidden_layer_sizes`` as a list of positive ints."""
        sizes = self.hidden_layer_sizes
        if not hasattr(sizes, "__iter__"):
            sizes = [sizes]
        sizes = list(sizes)
        if any(int(s) != s or s <= 0 for s in sizes):
            raise ValueError(
                f"hidden_layer_sizes must contain positive integers, got {sizes}."
            )
        return [int(s) for s in sizes]

    def _fit(self, X, y, sample_weight=None, incremental=False, classes=None):
        """The work of ``fit`` and ``partial_fit``.

        Validates the data, starts a fresh training state (first fit) or
        resumes the fitted one (``warm_start``, ``partial_fit``, weights set
        by hand), trains it and commits it; a call that fails leaves the
        fitted attributes as they were before it.
        """
        hidden_layer_sizes = self._hidden_layer_sizes()
        first_pass = not hasattr(self, "coefs_") or (
            not self.warm_start and not incremental
        )
        saved = self._fitted_state()
        try:
            if first_pass:
                # partial_fit keeps classes_ given by hand, as scikit-learn does.
                self._clear_fitted(
                    keep=("classes_", "_label_binarizer") if incremental else ()
                )
            X, Y, strata = self._validate_input(
                X, y, incremental, reset=first_pass, classes=classes
            )
            self._set_input_map(handed_input_map(self), X, first_pass)
            sample_weight, weight_exponent = self._check_fit_sample_weight(
                sample_weight, X
            )
            Y = Y.astype(X.dtype, copy=False)
            layer_units = [X.shape[1], *hidden_layer_sizes, Y.shape[1]]
            self._random_state = check_random_state(self.random_state)
            start = TrainingState.fresh if first_pass else TrainingState.resume
            state = start(
                self,
                layer_units,
                X.dtype,
                self._random_state,
                self.early_stopping and self.solver in STOCHASTIC_SOLVERS,
            )
            self._train(
                state, X, Y, sample_weight, strata, incremental, weight_exponent
            )
        except BaseException:
            self._clear_fitted()
            self.__dict__.update(saved)
            raise
        return self

    def _fitted_state(self):
        """Copies of the fitted attributes, to restore when a call fails."""
        return {
            k: copy.deepcopy(v) if k in _MUTATED_IN_PLACE else v
            for k, v in self.__dict__.items()
            if k in _FITTED_ATTRIBUTES
        }

    def _set_input_map(self, handed, X, first_pass):
        """Adopt the preprocessing map a sklip pipeline handed over; a fit
        outside one trains in model units, a continued fit keeps its units."""
        if handed is not None and handed.n_out != X.shape[1]:
            raise ValueError(
                f"The preprocessing handed over by the pipeline outputs "
                f"{handed.n_out} features, but X has {X.shape[1]}."
            )
        if first_pass or handed is not None:
            self.input_map_ = handed
        elif not hasattr(self, "input_map_"):
            # Fitted by an older sklip, or weights set by hand.
            self.input_map_ = None

    def _clear_fitted(self, keep=()):
        """Remove the fitted attributes but those in ``keep``."""
        for name in _FITTED_ATTRIBUTES:
            if name not in keep:
                self.__dict__.pop(name, None)

    def _check_fit_sample_weight(self, sample_weight, X):
        """Validated sample weights scaled by a power of two, and its exponent.

        The engine divides by mini-batch weight sums and multiplies weights by
        losses, which overflow or underflow for weights near the ends of the
        float range (1e308, 1e-320). Scaling every weight by ``2**-e`` so the
        largest lies in [0.5, 1) is exact, leaves the data term unchanged and
        divides every batch sum by ``2**e``; the penalty scale ``alpha / s``
        is multiplied back by ``2**-e`` (see ``Objective``), so the objective is
        exactly the one the caller asked for.
        """
        if sample_weight is None:
            return None, 0
        sample_weight = _check_sample_weight(
            sample_weight, X, dtype=np.float64, ensure_non_negative=True
        )
        largest = sample_weight.max()
        if not largest > 0:
            raise ValueError(
                "sample_weight sums to zero: at least one sample must "
                "have a positive weight."
            )
        _, exponent = np.frexp(largest)
        exponent = int(exponent)
        sample_weight = np.ldexp(sample_weight, -exponent).astype(X.dtype)
        if PENALTIES[self.penalty].penalises and self.alpha > 0:
            # The weakest penalty any mini-batch sees is alpha / sum(weights).
            scale = np.ldexp(self.alpha / float(sample_weight.sum()), -exponent)
            if not np.isfinite(scale):
                raise ValueError(
                    "sample_weight is too small: the penalty is alpha divided "
                    "by the sum of the sample weights (scikit-learn's "
                    f"convention), and alpha={self.alpha} / "
                    f"sum(sample_weight)={np.ldexp(sample_weight.sum(), exponent):.3g}"
                    " overflows. Rescale sample_weight (e.g. divide it by its "
                    "mean) and alpha by the same factor."
                )
        return sample_weight, exponent

    @limited_in_workers
    def _train(self, state, X, Y, sample_weight, strata, incremental, weight_exponent):
        """Run the solver on ``state``; commit it once training succeeded.

        A diverging fit raises before anything is committed; ``_fit``
        restores every other fitted attribute.
        """
        stochastic = self.solver in STOCHASTIC_SOLVERS
        # lbfgs: one subtask per iteration plus the one scipy never runs.
        if stochastic:
            steps = 1 if incremental else self.max_iter
        else:
            steps = self.max_iter + 1
        monitor = FitMonitor(self, X, Y, sample_weight, steps)
        flat = state.flat
        try:
            objective = SOLVERS[self.solver](
                self,
                state,
                X,
                Y,
                sample_weight,
                strata,
                incremental,
                weight_exponent,
                monitor,
            )
            if not np.isfinite(flat.params).all():
                raise Diverged
            # The exact check of max_lipschitz, on the weights to be committed.
            objective.terms.finish(flat.coefs)
        except Diverged as exc:
            raise ValueError(
                divergence_message(self, X, sample_weight, weight_exponent, exc)
            ) from None
        state.commit(self)
        monitor.close(state)

    # ------------------------------------------------------------------
    def _raw_output(self, X):
        """Raw outputs (before the output link) for validated X."""
        return self._network().forward(X)

    def _check_solver(self):
        """Whether ``partial_fit`` is available (the stochastic solvers)."""
        return self.solver in STOCHASTIC_SOLVERS

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags
