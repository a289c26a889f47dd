"""The training state: what a fit reads and writes, apart from the estimator.

A :class:`TrainingState` starts fresh (:meth:`TrainingState.fresh`: Glorot
weights, empty curves) or resumes (:meth:`TrainingState.resume`: from the
fitted attributes of an earlier ``fit`` / ``partial_fit``, or from
``coefs_`` and ``intercepts_`` set by hand). The solvers advance it; only
:meth:`TrainingState.commit` writes it back to the estimator's fitted
attributes, once training succeeded, so a failing fit never leaves half of
them written.
"""

import numpy as np

from ._parameters import FlatParameters

# Fitted attributes a training state owns (everything a fit writes but the
# validation of X and y: classes_, n_features_in_, input_map_, ...), in the
# order of TrainingState's fields below.
OWNED_ATTRIBUTES = (
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
    "_no_improvement_count",
    "_optimizer",
    "_power_vectors",
)

# A fit that never finished an epoch (interrupted at once) leaves no loss_.
_UNSET = object()


class TrainingState:
    """Weights, counters, curves and solver state of one training run.

    Build it with :meth:`fresh` or :meth:`resume`; the solvers mutate it,
    :meth:`commit` writes it to the estimator.

    Parameters
    ----------
    flat : FlatParameters
        The weights being trained.
    rng : numpy.random.RandomState
        The random state of this call (validation split, shuffling).
    out_activation : str
        The output link.

    Attributes
    ----------
    n_iter, t, loss, loss_curve, best_loss : as the fitted attributes
        ``n_iter_``, ``t_``, ``loss_``, ``loss_curve_``, ``best_loss_``.
    validation_scores, best_validation_score, no_improvement_count : as
        ``validation_scores_``, ``best_validation_score_`` and
        ``_no_improvement_count``.
    optimizer : Optimizer or None
        The stochastic optimizer (kept across ``warm_start`` and
        ``partial_fit`` calls), None before a stochastic fit.
    power_vectors : list of (ndarray, ndarray) or None
        The tracked top singular pairs (see ``SpectralTracker``).
    """

    def __init__(self, flat, rng, out_activation):
        self.flat = flat
        self.rng = rng
        self.out_activation = out_activation
        self.n_iter = 0
        self.t = 0
        self.loss = _UNSET
        self.loss_curve = []
        self.best_loss = np.inf
        self.validation_scores = None
        self.best_validation_score = None
        self.no_improvement_count = 0
        self.optimizer = None
        self.power_vectors = None

    @property
    def layer_units(self):
        """``[n_features, hidden..., n_outputs]``."""
        return self.flat.layer_units

    @classmethod
    def fresh(cls, estimator, layer_units, dtype, rng, stochastic_early_stopping):
        """Glorot-uniform weights drawn exactly as scikit-learn draws them.

        Parameters
        ----------
        estimator : BaseLipschitzMLP
            For its ``activation`` and output link.
        layer_units : list of int
        dtype : numpy dtype
        rng : numpy.random.RandomState
        stochastic_early_stopping : bool
            Whether validation scores will be recorded (early stopping with
            a stochastic solver).

        Returns
        -------
        state : TrainingState
        """
        flat = FlatParameters(layer_units, estimator.activation, dtype)
        factor = 2.0 if estimator.activation == "logistic" else 6.0
        for W, b in zip(flat.coefs, flat.intercepts):
            fan_in, fan_out = W.shape
            bound = np.sqrt(factor / (fan_in + fan_out))
            W[...] = rng.uniform(-bound, bound, (fan_in, fan_out))
            b[...] = rng.uniform(-bound, bound, fan_out)
        state = cls(flat, rng, estimator._output_activation())
        if stochastic_early_stopping:
            state.validation_scores = []
            state.best_validation_score = -np.inf
            state.best_loss = None
        return state

    @classmethod
    def resume(cls, estimator, layer_units, dtype, rng, stochastic_early_stopping):
        """The state that continues from ``coefs_`` and ``intercepts_``.

        They come from an earlier fit or were set by hand (possibly from
        another tool): whatever state training needs and the model lacks is
        initialised from them, as a first fit would have left it.

        Parameters
        ----------
        estimator : BaseLipschitzMLP
        layer_units : list of int
        dtype : numpy dtype
        rng : numpy.random.RandomState
        stochastic_early_stopping : bool
            As for :meth:`fresh`.

        Returns
        -------
        state : TrainingState
        """
        coefs, intercepts = check_given_weights(estimator, layer_units)
        flat = FlatParameters(layer_units, estimator.activation, dtype)
        flat.load(coefs, intercepts)
        fitted = estimator.__dict__.get
        out_activation = fitted("out_activation_", _UNSET)
        if out_activation is _UNSET:
            out_activation = estimator._output_activation()
        state = cls(flat, rng, out_activation)
        state.n_iter = fitted("n_iter_", 0)
        state.t = fitted("t_", 0)
        state.no_improvement_count = fitted("_no_improvement_count", 0)
        state.loss = fitted("loss_", _UNSET)
        if fitted("loss_curve_") is not None:
            state.loss_curve = fitted("loss_curve_")
        state.validation_scores = fitted("validation_scores_")
        state.best_validation_score = fitted("best_validation_score_")
        state.best_loss = fitted("best_loss_")
        if stochastic_early_stopping:
            if state.validation_scores is None:
                state.validation_scores = []
                state.best_validation_score = -np.inf
        elif state.best_loss is None:
            state.best_loss = np.inf
        optimizer = fitted("_optimizer")
        if optimizer is not None and optimizer._buf.size == flat.params.size:
            state.optimizer = optimizer
        # Missing power vectors (weights set by hand, or a model trained with
        # another penalty) are converged on the given weights by the objective.
        state.power_vectors = fitted("_power_vectors")
        return state

    def fitted_attributes(self):
        """The estimator's fitted attributes as this state defines them.

        Returns
        -------
        attributes : dict
            Name -> value for every attribute the state owns; the weights
            are copies. ``loss_`` is left out before a first epoch ended, and
            ``_optimizer`` while there is none.
        """
        coefs, intercepts = self.flat.copies()
        values = (
            coefs,
            intercepts,
            self.n_iter,
            self.t,
            self.loss,
            self.loss_curve,
            self.best_loss,
            self.validation_scores,
            self.best_validation_score,
            len(self.layer_units),
            self.layer_units[-1],
            self.out_activation,
            self.no_improvement_count,
            self.optimizer,
            self.power_vectors,
        )
        return {
            name: value
            for name, value in zip(OWNED_ATTRIBUTES, values)
            if not (value is _UNSET or (value is None and name == "_optimizer"))
        }

    def commit(self, estimator):
        """Write the state to ``estimator``'s fitted attributes (the one
        place a fit does)."""
        attributes = self.fitted_attributes()
        for name in OWNED_ATTRIBUTES:
            if name not in attributes:
                estimator.__dict__.pop(name, None)
        estimator.__dict__.update(attributes)


def check_given_weights(estimator, layer_units):
    """``coefs_`` and ``intercepts_`` as arrays of the network's shapes.

    Parameters
    ----------
    estimator : BaseLipschitzMLP
        Holds ``coefs_`` (and, it is checked, ``intercepts_``).
    layer_units : list of int
        The shapes the data and ``hidden_layer_sizes`` ask for.

    Returns
    -------
    coefs, intercepts : list of ndarray

    Raises
    ------
    ValueError
        When ``intercepts_`` is missing, a shape differs, or a weight is not
        finite.
    """
    if not hasattr(estimator, "intercepts_"):
        raise ValueError(
            "coefs_ is set but intercepts_ is not: set both to continue "
            "training from given weights."
        )
    coefs = [np.asarray(W) for W in estimator.coefs_]
    intercepts = [np.asarray(b) for b in estimator.intercepts_]
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
