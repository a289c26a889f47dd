"""Training engine shared by the Lipschitz MLP classifier and regressor."""

import copy
import warnings
from abc import ABCMeta, abstractmethod
from numbers import Integral, Real

import numpy as np
import scipy
import scipy.optimize
import scipy.sparse as sp
from scipy.sparse.linalg import ArpackError
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, Options, StrOptions
from sklearn.utils.optimize import _check_optimize_result
from sklearn.utils.validation import _check_sample_weight, check_is_fitted

from .._activations import OUTPUT_ACTIVATIONS
from .._core.input_map import handed_input_map
from .._core.network import Network
from .._threads import limited_in_workers
from ._certified_training import (
    LipschitzBudget,
    LipschitzMargin,
    TrainingTerms,
)
from ._losses import LOSSES
from ._monitor import CallbackSupportMixin, FitMonitor, RecordingPenalty
from ._optimizers import SGD, Adam
from ._parameters import FlatParameters
from ._penalties import (
    FrobeniusPenalty,
    NoPenalty,
    SpectralPenalty,
    SpectralTracker,
    converged_power_vectors,
)

_STOCHASTIC_SOLVERS = ("sgd", "adam")

# A stochastic fit has diverged once its epoch loss exceeds this multiple of
# the first mini-batch loss of the call (floored, for already well-fit models):
# weights then grow without bound long before they overflow to inf.
_DIVERGENCE_FACTOR = 100.0
_DIVERGENCE_FLOOR = 1e-2

# Everything a fit writes. A call that fails restores these as they were
# before it (none, for a first fit), so a failed fit never leaves a half
# fitted model or wipes a fitted one.
_FITTED_ATTRIBUTES = (
    "coefs_",
    "intercepts_",
    "n_iter_",
    "t_",
    "loss_",
    "loss_curve_",
    "best_loss_",
    "validation_scores_",
    "best_validation_score_",
    "n_layers_",
    "n_outputs_",
    "out_activation_",
    "classes_",
    "n_features_in_",
    "feature_names_in_",
    "_label_binarizer",
    "_optimizer",
    "_power_vectors",
    "_no_improvement_count",
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


# scipy.optimize.minimize ends cleanly when a callback raises StopIteration
# from scipy 1.11 on; before, a callback's request to stop is ignored.
_SCIPY_STOPS_ON_STOPITERATION = tuple(
    int(part) for part in scipy.__version__.split(".")[:2]
) >= (1, 11)


class _Diverged(Exception):
    """Internal signal: the loss or the weights stopped being finite.

    ``at_start`` says the loss was not finite at the weights training started
    from: then the data, not the step size, is to blame.
    """

    def __init__(self, at_start=False):
        super().__init__()
        self.at_start = at_start


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
        "solver": [StrOptions({"lbfgs", "sgd", "adam"})],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "penalty": [StrOptions({"spectral", "frobenius", "none"})],
        "n_power_iterations": [Interval(Integral, 1, None, closed="left")],
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
        "lipschitz_margin": [Interval(Real, 0, None, closed="left")],
        "max_lipschitz": [Interval(Real, 0, None, closed="neither"), None],
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
    def _score_raw(self, network, X, y, sample_weight):
        """Validation score of ``network`` on already validated data."""

    # ------------------------------------------------------------------
    def _network(self):
        """The fitted model as a :class:`~sklip._core.network.Network`."""
        check_is_fitted(self, "coefs_")
        return Network(self.coefs_, self.intercepts_, self.activation)

    def _hidden_layer_sizes(self):
        sizes = self.hidden_layer_sizes
        if not hasattr(sizes, "__iter__"):
            sizes = [sizes]
        sizes = list(sizes)
        if any(int(s) != s or s <= 0 for s in sizes):
            raise ValueError(
                f"hidden_layer_sizes must contain positive integers, got {sizes}."
            )
        return [int(s) for s in sizes]

    def _init_state(self, layer_units, dtype, rng):
        """Glorot-uniform weights drawn exactly as scikit-learn draws them."""
        flat = FlatParameters(layer_units, self.activation, dtype)
        factor = 2.0 if self.activation == "logistic" else 6.0
        for W, b in zip(flat.coefs, flat.intercepts):
            fan_in, fan_out = W.shape
            bound = np.sqrt(factor / (fan_in + fan_out))
            W[...] = rng.uniform(-bound, bound, (fan_in, fan_out))
            b[...] = rng.uniform(-bound, bound, fan_out)
        self.n_iter_ = 0
        self.t_ = 0
        self.n_layers_ = len(layer_units)
        self.n_outputs_ = layer_units[-1]
        self.out_activation_ = self._output_activation()
        self._power_vectors = None
        self.loss_curve_ = []
        self._no_improvement_count = 0
        if self.early_stopping and self.solver in _STOCHASTIC_SOLVERS:
            self.validation_scores_ = []
            self.best_validation_score_ = -np.inf
            self.best_loss_ = None
        else:
            self.validation_scores_ = None
            self.best_validation_score_ = None
            self.best_loss_ = np.inf
        if hasattr(self, "_optimizer"):
            del self._optimizer
        return flat

    def _make_penalty(self, flat, incremental=False):
        """Everything the objective adds to the data loss (penalty, Lipschitz
        margin, Lipschitz budget), in the units of ``input_map_`` (raw inputs
        when a pipeline handed one over)."""
        input_map = self.input_map_
        if input_map is not None:
            input_map = input_map.astype(flat.params.dtype)
        tracker = None
        margin = self.lipschitz_margin > 0
        budget = self.max_lipschitz is not None
        if self.penalty == "spectral" or margin or budget:
            n_raw = flat.layer_units[0] if input_map is None else input_map.n_in
            vectors = self._power_vectors
            if (
                vectors is None
                or not incremental
                or vectors[0][0].shape != (n_raw,)
                or vectors[0][0].dtype != flat.params.dtype
            ):
                # Start converged, on every fit and on the first partial_fit:
                # from a cold start the estimate, and so the recorded loss,
                # would grow for many epochs and trip the stopping rule.
                # Later partial_fit calls keep tracking the slowly moving
                # weights with n_power_iterations steps per update.
                vectors = converged_power_vectors(
                    flat.coefs, flat.params.dtype, input_map
                )
                self._power_vectors = vectors
            tracker = SpectralTracker(
                flat.coefs, vectors, self.n_power_iterations, input_map
            )
        if self.penalty == "frobenius":
            penalty = FrobeniusPenalty(
                flat.flat_coefs,
                flat.flat_coef_grads,
                flat.coefs[0].size,
                input_map,
            )
        elif self.penalty == "spectral":
            penalty = SpectralPenalty(tracker)
        else:
            penalty = NoPenalty()
        terms = TrainingTerms(
            penalty,
            tracker,
            margin=LipschitzMargin(
                self.lipschitz_margin,
                getattr(self, "margin_kind", "global"),
                self.out_activation_,
                self.activation,
                input_map,
            )
            if margin
            else None,
            budget=LipschitzBudget(
                self.max_lipschitz,
                self.activation,
                len(flat.coefs),
                input_map,
            )
            if budget
            else None,
        )
        # Training starts from weights within the budget.
        terms.after_update(flat.coefs)
        return terms

    # ------------------------------------------------------------------
    def _loss_grad(
        self, flat, penalty, X, Y, sw, acts, deltas, P, exact=False, spare_row=False
    ):
        """Objective on one batch; fills ``flat.grad``.

        With ``spare_row``, ``acts`` and ``deltas`` (and ``X`` when it can)
        have one row more than the batch, for the penalty to ride in the
        training GEMMs (see ``SpectralPenalty``).

        Returns None for a batch whose sample weights sum to zero: it carries
        no information, and dividing by its weight sum is what makes
        scikit-learn crash there.
        """
        n = Y.shape[0]
        s = n if sw is None else float(sw.sum())
        if s <= 0:
            return None
        scale = self.alpha / s
        net = flat.network
        rider = penalty.rider if spare_row and not exact else None
        if rider is not None:
            rider.begin(flat.coefs, X, n)
            Z = net.forward(X, acts, rider=rider)
        else:
            if spare_row:
                X, acts, deltas = X[:n], [a[:n] for a in acts], [d[:n] for d in deltas]
            Z = net.forward(X, acts)
            penalty.track(flat.coefs, exact)
        delta = deltas[-1][:n]
        if penalty.margin is not None:
            loss = penalty.margin.loss_and_delta(
                Z, Y, sw, s, P, delta, flat.coefs, penalty.tracker
            )
        else:
            np.copyto(P, Z)
            OUTPUT_ACTIVATIONS[self.out_activation_](P)
            loss = LOSSES[self.out_activation_](Y, P, sw)
            np.subtract(P, Y, out=delta)
            if sw is not None:
                delta *= sw[:, None]
            delta *= 1.0 / s
        if rider is not None:
            penalty.load(X, acts, deltas, scale)
        net.backward(
            X, acts, deltas, flat.coef_grads, flat.intercept_grads, rider=rider
        )
        loss += penalty(flat.coefs, flat.coef_grads, scale, exact)
        return loss

    # ------------------------------------------------------------------
    def _fit(self, X, y, sample_weight=None, incremental=False, classes=None):
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
            if first_pass:
                flat = self._init_state(layer_units, X.dtype, self._random_state)
            else:
                flat = self._continue_state(layer_units, X.dtype)
            self._train(flat, X, Y, sample_weight, strata, incremental, weight_exponent)
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
        is multiplied back by ``2**-e`` (see ``_train``), so the objective is
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
        if self.penalty != "none" and self.alpha > 0:
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

    def _continue_state(self, layer_units, dtype):
        """Training state that continues from ``coefs_`` and ``intercepts_``.

        They come from an earlier fit or were set by hand (possibly from
        another tool): whatever state training needs and the model lacks is
        initialised from them, as a first fit would have left it.
        """
        coefs, intercepts = self._check_given_weights(layer_units)
        flat = FlatParameters(layer_units, self.activation, dtype)
        flat.load(coefs, intercepts)
        state = self.__dict__
        for name, value in (("n_iter_", 0), ("t_", 0), ("_no_improvement_count", 0)):
            state.setdefault(name, value)
        if state.get("loss_curve_") is None:
            self.loss_curve_ = []
        self.n_layers_ = len(layer_units)
        self.n_outputs_ = layer_units[-1]
        if "out_activation_" not in state:
            self.out_activation_ = self._output_activation()
        if self.early_stopping and self.solver in _STOCHASTIC_SOLVERS:
            if state.get("validation_scores_") is None:
                self.validation_scores_ = []
                self.best_validation_score_ = -np.inf
        elif state.get("best_loss_") is None:
            self.best_loss_ = np.inf
        state.setdefault("validation_scores_", None)
        state.setdefault("best_validation_score_", None)
        state.setdefault("best_loss_", None)
        optimizer = state.get("_optimizer")
        if optimizer is not None and optimizer._buf.size != flat.params.size:
            del self._optimizer
        # Missing power vectors (weights set by hand, or a model trained with
        # another penalty) are converged on the given weights by _make_penalty.
        state.setdefault("_power_vectors", None)
        return flat

    def _check_given_weights(self, layer_units):
        """``coefs_`` and ``intercepts_`` as arrays of the network's shapes."""
        if not hasattr(self, "intercepts_"):
            raise ValueError(
                "coefs_ is set but intercepts_ is not: set both to continue "
                "training from given weights."
            )
        coefs = [np.asarray(W) for W in self.coefs_]
        intercepts = [np.asarray(b) for b in self.intercepts_]
        given = [W.shape[1] if W.ndim == 2 else None for W in coefs]
        if given != layer_units[1:]:
            raise ValueError(
                "The network shape changed since the last fit: expected layer "
                f"sizes {given} from coefs_, got {layer_units[1:]} from "
                "hidden_layer_sizes and y. Fit from scratch (warm_start=False) "
                "to change it."
            )
        for i, (W, b, n_in, n_out) in enumerate(
            zip(coefs, intercepts, layer_units[:-1], layer_units[1:])
        ):
            if W.shape != (n_in, n_out) or b.shape != (n_out,):
                raise ValueError(
                    f"coefs_[{i}] and intercepts_[{i}] must have shapes "
                    f"{(n_in, n_out)} and {(n_out,)} for X with "
                    f"{layer_units[0]} features; got {W.shape} and {b.shape}."
                )
        if len(intercepts) != len(coefs):
            raise ValueError(
                f"intercepts_ has {len(intercepts)} layers, coefs_ has "
                f"{len(coefs)}: they must match."
            )
        if not all(np.isfinite(a).all() for a in coefs + intercepts):
            raise ValueError(
                "coefs_ and intercepts_ must be finite to continue training from them."
            )
        return coefs, intercepts

    @limited_in_workers
    def _train(self, flat, X, Y, sample_weight, strata, incremental, weight_exponent):
        """Run the solver; write the weights once training succeeded.

        A diverging fit raises before the weights are written; ``_fit``
        restores every other fitted attribute.
        """
        lbfgs = self.solver == "lbfgs"
        # lbfgs: one subtask per iteration plus the one scipy never runs.
        steps = self.max_iter + 1 if lbfgs else (1 if incremental else self.max_iter)
        monitor = FitMonitor(self, X, Y, sample_weight, steps)
        try:
            if lbfgs:
                terms = self._fit_lbfgs(
                    flat, X, Y, sample_weight, weight_exponent, monitor
                )
            else:
                terms = self._fit_stochastic(
                    flat,
                    X,
                    Y,
                    sample_weight,
                    strata,
                    incremental,
                    weight_exponent,
                    monitor,
                )
            if not np.isfinite(flat.params).all():
                raise _Diverged
            # The exact check of max_lipschitz, on the weights to be committed.
            terms.finish(flat.coefs)
        except _Diverged as exc:
            raise ValueError(
                self._divergence_message(X, sample_weight, weight_exponent, exc)
            ) from None
        self.coefs_, self.intercepts_ = flat.copies()
        monitor.close(flat)

    def _divergence_message(self, X, sample_weight, weight_exponent, exc):
        kept = " The model was left as it was before this call."
        if exc.at_start:
            largest = abs(X).max() if X.size else 0.0
            return (
                "The training loss is not finite at the weights training starts "
                "from, before any step: X (largest absolute value "
                f"{largest:.3g}) or y hold values too large for {X.dtype} "
                "arithmetic. Scale them (e.g. with StandardScaler)." + kept
            )
        advice = []
        if self.solver in _STOCHASTIC_SOLVERS:
            advice.append(
                f"use a smaller learning_rate_init (got {self.learning_rate_init})"
            )
        advice.append("scale the input features (e.g. with StandardScaler)")
        if self.lipschitz_margin > 0:
            # The margin's shift scales the loss gradient: a large radius
            # makes fixed-step solvers diverge.
            advice.append(
                f"use a smaller lipschitz_margin (got {self.lipschitz_margin!r}, "
                "a radius in raw input units)"
            )
        if sample_weight is not None and self.penalty != "none" and self.alpha:
            strength = np.ldexp(
                self.alpha / float(sample_weight.sum()), -weight_exponent
            )
            advice.append(
                "check sample_weight: the penalty weighs alpha / "
                f"sum(sample_weight) = {strength:.3g} (scikit-learn's "
                "convention), so weights far from 1 change its strength"
            )
        else:
            advice.append("increase alpha")
        advice = ", ".join(advice[:-1]) + " or " + advice[-1]
        return (
            "Training diverged: the loss grew without bound or the weights "
            f"became non-finite. {advice[0].upper()}{advice[1:]}." + kept
        )

    def _training_penalty(self, flat, weight_exponent, incremental=False):
        """The training terms, with the penalty in the units of the scaled
        sample weights (the margin and budget terms do not depend on them)."""
        terms = self._make_penalty(flat, incremental)
        if weight_exponent != 0:
            terms.penalty = _RescaledPenalty(terms.penalty, -weight_exponent)
        return terms

    # ------------------------------------------------------------------
    def _fit_lbfgs(self, flat, X, Y, sw, weight_exponent=0, monitor=None):
        n = X.shape[0]
        acts, deltas = flat.network.allocate(n)
        P = np.empty_like(acts[-1])
        penalty = RecordingPenalty(self._training_penalty(flat, weight_exponent))
        if monitor is None:
            monitor = FitMonitor.inactive()
        curve = []
        last = {"loss": np.inf, "first": None}

        budget = penalty.budget

        def objective(theta):
            flat.params[...] = theta
            if budget is not None:
                # lbfgs optimises V with weights W = V min(1, tau / sigma(V)).
                budget.reparametrise(flat.coefs, penalty.tracker)
            try:
                loss = self._loss_grad(flat, penalty, X, Y, sw, acts, deltas, P, True)
            except (np.linalg.LinAlgError, ArpackError):
                # The SVD of the spectral penalty fails on weights that
                # overflowed (huge inputs or penalty): a non-finite point.
                loss = np.inf
            last["loss"] = loss
            if last["first"] is None:
                last["first"] = loss
            if not np.isfinite(loss):
                # Let the line search back off; a finite model is checked later.
                return np.inf, np.zeros_like(theta)
            return loss, flat.grad.astype(np.float64)

        def callback(intermediate_result):
            curve.append(float(intermediate_result.fun))
            if not monitor.active:
                return
            x = intermediate_result.x.astype(flat.params.dtype, copy=False)
            if not np.array_equal(flat.params, x):
                # The last evaluation was a line-search trial: report the
                # iterate itself (and leave its weights in flat for callbacks).
                objective(intermediate_result.x)
            stop = monitor.step_end(flat, len(curve), curve[-1], penalty.last)
            monitor.step_begin(flat, "iteration")
            if stop and _SCIPY_STOPS_ON_STOPITERATION:
                raise StopIteration

        # Progress is printed by the monitor, one line per iteration.
        iprint = -1
        monitor.step_begin(flat, "iteration")
        try:
            result = scipy.optimize.minimize(
                objective,
                flat.params.astype(np.float64),
                method="L-BFGS-B",
                jac=True,
                callback=callback,
                options={
                    "maxfun": self.max_fun,
                    "maxiter": self.max_iter,
                    "gtol": self.tol,
                    **_lbfgs_iprint(iprint),
                },
            )
        except KeyboardInterrupt:
            # flat.params holds the point evaluated last.
            warnings.warn("Training interrupted by user.", stacklevel=2)
            self.n_iter_ = len(curve)
            self.loss_ = float(last["loss"])
        else:
            self.n_iter_ = _check_optimize_result("lbfgs", result, self.max_iter)
            self.loss_ = float(result.fun)
            flat.params[...] = result.x
        if budget is not None:
            budget.reparametrise(flat.coefs, penalty.tracker)
        if not np.isfinite(self.loss_):
            raise _Diverged(at_start=not np.isfinite(last["first"]))
        self.loss_curve_ = curve
        self.best_loss_ = min(curve) if curve else self.loss_
        return penalty

    # ------------------------------------------------------------------
    def _make_optimizer(self, flat):
        n, dtype = flat.params.size, flat.params.dtype
        if self.solver == "sgd":
            return SGD(
                n,
                dtype,
                self.learning_rate_init,
                self.learning_rate,
                self.momentum,
                self.nesterovs_momentum,
                self.power_t,
            )
        return Adam(
            n, dtype, self.learning_rate_init, self.beta_1, self.beta_2, self.epsilon
        )

    def _validation_split(self, X, Y, sw, strata):
        test_size = self.validation_fraction
        stratify = strata
        if stratify is not None:
            labels, counts = np.unique(stratify, return_counts=True)
            if counts.min() < 2:
                raise ValueError(self._too_few_members_message(labels, counts))
            # Stratify whenever every class fits on both sides of the split
            # (scikit-learn raises for binary targets, and does not stratify
            # multiclass ones at all); the split is checked for size below.
            n_val = int(np.ceil(test_size * X.shape[0]))
            if n_val < counts.size or X.shape[0] - n_val < counts.size:
                stratify = None
        arrays = (X, Y) if sw is None else (X, Y, sw)
        parts = train_test_split(
            *arrays,
            random_state=self._random_state,
            test_size=test_size,
            stratify=stratify,
        )
        X_train, X_val, Y_train, Y_val = parts[:4]
        sw_train, sw_val = (parts[4], parts[5]) if sw is not None else (None, None)
        if X_val.shape[0] < 2:
            raise ValueError(
                "The validation set is too small. Increase 'validation_fraction' "
                "or the size of your dataset."
            )
        if sw is not None:
            # A validation score is a weighted mean: undefined without weight.
            # (Reporting 0 would stop training at a random model.)
            for part, weights in (("validation", sw_val), ("training", sw_train)):
                if not weights.sum() > 0:
                    raise ValueError(
                        "early_stopping=True: every sample of the "
                        f"{part} split (validation_fraction={test_size}) has "
                        "zero sample_weight, so the validation score or the "
                        "training loss is undefined. Give more samples a "
                        "positive sample_weight, change validation_fraction or "
                        "random_state, or set early_stopping=False."
                    )
        return X_train, X_val, Y_train, Y_val, sw_train, sw_val

    def _too_few_members_message(self, labels, counts):
        too_few = [str(label) for label in labels[counts < 2]]
        msg = (
            "The least populated classes in y have only 1 member, which is too "
            "few for the stratified validation split of early_stopping=True: "
            "every class needs at least 2 samples. Classes with too few "
            f"members are: {too_few}."
        )
        if labels.dtype == bool:
            negative, positive = np.asarray(self.classes_).tolist()
            msg += (
                " (Binary targets are stratified by the indicator of "
                f"classes_[1]: True is class {positive!r}, False is class "
                f"{negative!r}.)"
            )
        return msg + " Add samples of these classes or set early_stopping=False."

    def _fit_stochastic(
        self, flat, X, Y, sw, strata, incremental, weight_exponent=0, monitor=None
    ):
        if self.early_stopping and incremental:
            raise ValueError("partial_fit does not support early_stopping=True")
        # warm_start continues the optimizer too (moments, step count), so
        # that fitting 5 + 5 epochs equals fitting 10; a fresh fit has none.
        if not hasattr(self, "_optimizer") or not (incremental or self.warm_start):
            self._optimizer = self._make_optimizer(flat)
        optimizer = self._optimizer
        optimizer.ensure_dtype(flat.params.dtype)
        penalty = RecordingPenalty(
            self._training_penalty(flat, weight_exponent, incremental)
        )
        if monitor is None:
            monitor = FitMonitor.inactive()
        # The penalty starts converged; it is re-converged at every later
        # epoch start (not across partial_fit calls, which keep tracking).
        resync = False
        early_stopping = self.early_stopping
        X_val = Y_val = sw_val = best_params = None
        found_best = False
        if early_stopping:
            X, X_val, Y, Y_val, sw, sw_val = self._validation_split(X, Y, sw, strata)
            best_params = np.empty_like(flat.params)
        n = X.shape[0]
        if self.batch_size == "auto":
            batch_size = min(200, n)
        else:
            if self.batch_size > n:
                warnings.warn(
                    "Got `batch_size` less than 1 or larger than "
                    "sample size. It is going to be clipped",
                    stacklevel=2,
                )
            batch_size = int(np.clip(self.batch_size, 1, n))

        # One spare row in every buffer when the penalty rides in the GEMMs.
        spare = int(penalty.rider is not None)
        acts, deltas = flat.network.allocate(batch_size + spare)
        P = np.empty((batch_size, acts[-1].shape[1]), acts[-1].dtype)
        batches = _Batches(X, Y, sw, batch_size, spare)
        sample_idx = np.arange(n)
        order = None  # in place: batches are slices
        rng = self._random_state
        divergence_threshold = None

        try:
            self.n_iter_ = 0
            for _ in range(self.max_iter):
                if self.shuffle:
                    # Same draws as sklearn.utils.shuffle on the index array.
                    perm = np.arange(n)
                    rng.shuffle(perm)
                    order = sample_idx = sample_idx[perm]
                if resync:
                    penalty.converge(flat.coefs)
                resync = hasattr(penalty, "converge")

                accumulated_loss = accumulated_penalty = 0.0
                monitor.step_begin(flat, "epoch")
                for start in range(0, n, batch_size):
                    stop = min(start + batch_size, n)
                    m = stop - start
                    if m == batch_size:
                        a_b, d_b, P_b = acts, deltas, P
                    else:
                        a_b = [a[: m + spare] for a in acts]
                        d_b = [d[: m + spare] for d in deltas]
                        P_b = P[:m]
                    X_b, Y_b, sw_b = batches(order, start, stop)
                    loss = self._loss_grad(
                        flat, penalty, X_b, Y_b, sw_b, a_b, d_b, P_b, False, spare
                    )
                    if loss is None:
                        continue
                    if not np.isfinite(loss):
                        raise _Diverged(at_start=divergence_threshold is None)
                    if divergence_threshold is None:
                        divergence_threshold = _DIVERGENCE_FACTOR * max(
                            loss, _DIVERGENCE_FLOOR
                        )
                    accumulated_loss += loss * m
                    accumulated_penalty += penalty.last * m
                    penalty.before_update(flat.coefs)
                    optimizer.update(flat.params, flat.grad)
                    penalty.after_update(flat.coefs)

                self.n_iter_ += 1
                self.loss_ = accumulated_loss / n
                self.t_ += n
                self.loss_curve_.append(self.loss_)
                if not np.isfinite(flat.params).all() or (
                    divergence_threshold is not None
                    and self.loss_ > divergence_threshold
                ):
                    raise _Diverged

                if self._update_no_improvement_count(
                    flat, early_stopping, X_val, Y_val, sw_val
                ):
                    np.copyto(best_params, flat.params)
                    found_best = True
                optimizer.iteration_ends(self.t_)
                stop_requested = monitor.step_end(
                    flat,
                    self.n_iter_,
                    self.loss_,
                    accumulated_penalty / n,
                    self.validation_scores_[-1] if early_stopping else None,
                )
                if stop_requested:
                    break

                if self._no_improvement_count > self.n_iter_no_change:
                    what = "Validation score" if early_stopping else "Training loss"
                    msg = (
                        f"{what} did not improve more than tol={self.tol:f} for "
                        f"{self.n_iter_no_change} consecutive epochs."
                    )
                    if optimizer.trigger_stopping(msg, self.verbose):
                        break
                    self._no_improvement_count = 0

                if incremental:
                    break
                if self.n_iter_ == self.max_iter:
                    warnings.warn(
                        f"Stochastic Optimizer: Maximum iterations ({self.max_iter})"
                        " reached and the optimization hasn't converged yet.",
                        ConvergenceWarning,
                        stacklevel=2,
                    )
        except KeyboardInterrupt:
            warnings.warn("Training interrupted by user.", stacklevel=2)

        if found_best:
            flat.params[...] = best_params
        return penalty

    def _update_no_improvement_count(self, flat, early_stopping, X_val, Y_val, sw_val):
        """Update the stopping counters; True when the validation score
        reached a new best (the caller keeps those weights)."""
        if early_stopping:
            score = self._score_raw(flat.network, X_val, Y_val, sw_val)
            self.validation_scores_.append(score)
            if score < self.best_validation_score_ + self.tol:
                self._no_improvement_count += 1
            else:
                self._no_improvement_count = 0
            if score > self.best_validation_score_:
                self.best_validation_score_ = score
                return True
        else:
            if self.loss_curve_[-1] > self.best_loss_ - self.tol:
                self._no_improvement_count += 1
            else:
                self._no_improvement_count = 0
            if self.loss_curve_[-1] < self.best_loss_:
                self.best_loss_ = self.loss_curve_[-1]
        return False

    # ------------------------------------------------------------------
    def _raw_output(self, X):
        """Raw outputs (before the output link) for validated X."""
        return self._network().forward(X)

    def _check_solver(self):
        return self.solver in _STOCHASTIC_SOLVERS

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


class _Batches:
    """Mini-batches of ``(X, Y, sample_weight)``, in order or gathered.

    Shuffled dense batches are gathered one at a time into fixed buffers: the
    batch is then hot in cache for its first GEMM, and the data is never
    copied whole, so memory grows with the data only through the data.
    With ``spare`` the returned ``X`` has one more row than the batch, for
    the penalty to ride in backpropagation (see ``_loss_grad``); sparse
    batches have none.
    """

    def __init__(self, X, Y, sw, batch_size, spare=0):
        self.X, self.Y, self.sw = X, Y, sw
        self.dense = not sp.issparse(X)
        self.spare = spare if self.dense else 0
        if self.dense:
            self.X_buf = np.empty((batch_size + self.spare, X.shape[1]), X.dtype)
            self.Y_buf = np.empty((batch_size, Y.shape[1]), Y.dtype)
            self.sw_buf = None if sw is None else np.empty(batch_size, sw.dtype)

    def __call__(self, order, start, stop):
        """Rows ``order[start:stop]`` (``start:stop`` when ``order`` is None)."""
        X, Y, sw = self.X, self.Y, self.sw
        m = stop - start
        if order is None:
            Y_b, sw_b = Y[start:stop], None if sw is None else sw[start:stop]
            if not self.spare:
                return X[start:stop], Y_b, sw_b
            np.copyto(self.X_buf[:m], X[start:stop])
            return self.X_buf[: m + 1], Y_b, sw_b
        idx = order[start:stop]
        if not self.dense:
            return X[idx], Y[idx], None if sw is None else sw[idx]
        # mode="clip" (the indices are valid): "raise" buffers a whole copy.
        np.take(X, idx, axis=0, out=self.X_buf[:m], mode="clip")
        X_b = self.X_buf[: m + self.spare]
        Y_b = np.take(Y, idx, axis=0, out=self.Y_buf[:m], mode="clip")
        if sw is None:
            return X_b, Y_b, None
        return X_b, Y_b, np.take(sw, idx, out=self.sw_buf[:m], mode="clip")


class _RescaledPenalty:
    """A penalty whose scale argument is multiplied by ``2**exponent``.

    Exact: scaling by a power of two only shifts the exponent.
    """

    def __init__(self, penalty, exponent):
        self.penalty = penalty
        self.exponent = exponent

    def __call__(self, coefs, coef_grads, scale, exact=False):
        return self.penalty(coefs, coef_grads, np.ldexp(scale, self.exponent), exact)

    @property
    def rider(self):
        return getattr(self.penalty, "rider", None)

    def load(self, X, activations, deltas, scale):
        self.penalty.load(X, activations, deltas, np.ldexp(scale, self.exponent))


def _lbfgs_iprint(iprint):
    """scipy deprecated ``iprint``; scikit-learn's helper knows which to pass."""
    try:
        from sklearn.utils.fixes import _get_additional_lbfgs_options_dict
    except ImportError:  # pragma: no cover - depends on the installed sklearn
        return {}
    return _get_additional_lbfgs_options_dict("iprint", iprint)
