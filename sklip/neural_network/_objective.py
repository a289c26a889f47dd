"""The training objective: data loss, penalty and certified-training terms.

:class:`Objective` is what the solvers minimise: :meth:`Objective.value_and_grad`
evaluates the loss of the output link on a batch plus its
:class:`TrainingTerms` (the :class:`~sklip.neural_network._penalties.Penalty`
chosen by the ``penalty`` parameter, and the Lipschitz margin and budget of
certified training, sharing one spectral tracker) and fills the gradient.

:data:`PENALTIES` is the one list of penalties: the ``penalty`` parameter's
constraint, its documentation and the command line's ``--penalties`` choices
are derived from it. Adding a penalty is a :class:`Penalty` subclass and one
line here.
"""

import numpy as np

from .._activations import OUTPUT_ACTIVATIONS
from ._certified_training import LipschitzBudget, LipschitzMargin
from ._losses import LOSSES
from ._penalties import (
    FrobeniusPenalty,
    NoPenalty,
    SpectralPenalty,
    SpectralTracker,
    converged_power_vectors,
)

# ``penalty`` parameter value -> Penalty class (in the order the command
# line compares them).
PENALTIES = {
    "none": NoPenalty,
    "frobenius": FrobeniusPenalty,
    "spectral": SpectralPenalty,
}


class TrainingTerms:
    """Everything added to the data loss, sharing one spectral tracker.

    The objective calls :meth:`track` once per evaluation (before the loss:
    the margin needs the sigmas), then the margin's
    :meth:`~sklip.neural_network._certified_training.LipschitzMargin.loss_and_delta`
    in place of the plain loss, then this object to add the penalty and the
    weight gradients of the margin's ``L_hat``; the solvers call
    :meth:`before_update` and :meth:`after_update` around every stochastic
    step and :meth:`finish` at the end of training (the budget).

    Parameters
    ----------
    penalty : Penalty
    tracker : SpectralTracker or None
    margin : LipschitzMargin or None
    budget : LipschitzBudget or None
    """

    def __init__(self, penalty, tracker=None, margin=None, budget=None):
        self.penalty = penalty
        self.tracker = tracker
        self.margin = margin
        self.budget = budget

    def track(self, coefs, exact=False):
        """Advance the tracked pairs to ``coefs`` (exact for lbfgs)."""
        if self.tracker is not None:
            self.tracker.update(coefs, exact)

    def converge(self, coefs):
        """Reset the tracked pairs to the exact ones (every epoch start)."""
        if self.tracker is not None:
            self.tracker.converge(coefs)

    @property
    def rider(self):
        """The penalty riding in the training GEMMs (see
        :class:`~sklip.neural_network._penalties.SpectralPenalty`), or None.

        Only the spectral penalty alone rides: the margin and the budget
        read the tracked pairs after backpropagation, which the rider has
        moved on by then.
        """
        if self.margin is not None or self.budget is not None:
            return None
        return self.penalty.rider

    def load(self, X, activations, deltas, scale):
        """Load the rider's rows before backpropagation."""
        self.penalty.load(X, activations, deltas, scale)

    def __call__(self, coefs, coef_grads, scale, exact=False):
        """Add the terms' weight gradients; return the penalty's value."""
        if self.margin is not None:
            self.margin.add_weight_gradients(coefs, coef_grads, self.tracker)
        value = self.penalty(coefs, coef_grads, scale, exact)
        if self.budget is not None:
            self.budget.chain_gradient(coefs, coef_grads, self.tracker)
        return value

    def before_update(self, coefs):
        """The optimiser steps in ``V``, the weights before the budget."""
        if self.budget is not None:
            self.budget.unscale(coefs)

    def after_update(self, coefs):
        """Back to the weights ``W`` within the budget."""
        if self.budget is not None:
            self.budget.project(coefs, self.tracker)

    def finish(self, coefs):
        """The exact check of ``max_lipschitz`` on the final weights."""
        if self.budget is not None:
            self.budget.enforce(coefs, self.tracker)


def make_training_terms(estimator, state, incremental=False):
    """The estimator's training terms over ``state``'s weights.

    Everything the objective adds to the data loss (penalty, Lipschitz
    margin, Lipschitz budget), in the units of ``input_map_`` (raw inputs
    when a pipeline handed one over). Sets ``state.power_vectors`` when a
    term tracks singular pairs, and brings the weights within the budget.

    Parameters
    ----------
    estimator : BaseLipschitzMLP
    state : TrainingState
    incremental : bool, default=False
        A ``partial_fit`` call: keep tracking the stored pairs.

    Returns
    -------
    terms : TrainingTerms
    """
    flat = state.flat
    dtype = flat.params.dtype
    input_map = estimator.input_map_
    if input_map is not None:
        input_map = input_map.astype(dtype)
    penalty_class = PENALTIES[estimator.penalty]
    margin = estimator.lipschitz_margin > 0
    budget = estimator.max_lipschitz is not None
    tracker = None
    if penalty_class.needs_tracker or margin or budget:
        n_raw = flat.layer_units[0] if input_map is None else input_map.n_in
        vectors = state.power_vectors
        if (
            vectors is None
            or not incremental
            or vectors[0][0].shape != (n_raw,)
            or vectors[0][0].dtype != dtype
        ):
            # Start converged, on every fit and on the first partial_fit:
            # from a cold start the estimate, and so the recorded loss,
            # would grow for many epochs and trip the stopping rule.
            # Later partial_fit calls keep tracking the slowly moving
            # weights with n_power_iterations steps per update.
            vectors = converged_power_vectors(flat.coefs, dtype, input_map)
            state.power_vectors = vectors
        tracker = SpectralTracker(
            flat.coefs, vectors, estimator.n_power_iterations, input_map
        )
    terms = TrainingTerms(
        penalty_class.build(flat, tracker, input_map),
        tracker,
        margin=LipschitzMargin(
            estimator.lipschitz_margin,
            getattr(estimator, "margin_kind", "global"),
            state.out_activation,
            estimator.activation,
            input_map,
        )
        if margin
        else None,
        budget=LipschitzBudget(
            estimator.max_lipschitz,
            estimator.activation,
            len(flat.coefs),
            input_map,
        )
        if budget
        else None,
    )
    # Training starts from weights within the budget.
    terms.after_update(flat.coefs)
    return terms


class Objective:
    """Data loss plus training terms, as a function of the flat parameters.

    Parameters
    ----------
    flat : FlatParameters
        The parameters (and gradient buffer) the objective reads and fills.
    terms : TrainingTerms
    out_activation : str
        The output link; its canonical loss (``LOSSES``) is the data loss.
    alpha : float
        Penalty strength; the penalty's scale is ``alpha / s`` with ``s``
        the batch's sample-weight sum.
    weight_exponent : int, default=0
        The sample weights were divided by ``2**weight_exponent`` (see
        ``BaseLipschitzMLP._check_fit_sample_weight``); the penalty's scale
        is divided by it too, which is exact, so the objective is the one
        the caller asked for.

    Attributes
    ----------
    last_penalty : float
        The penalty's share of the last evaluated value (for progress).
    """

    def __init__(self, flat, terms, out_activation, alpha, weight_exponent=0):
        self.flat = flat
        self.terms = terms
        self.out_activation = out_activation
        self.alpha = alpha
        self.weight_exponent = weight_exponent
        self.last_penalty = 0.0

    @classmethod
    def from_estimator(cls, estimator, state, weight_exponent=0, incremental=False):
        """The objective ``estimator`` trains ``state`` on."""
        terms = make_training_terms(estimator, state, incremental)
        return cls(
            state.flat, terms, state.out_activation, estimator.alpha, weight_exponent
        )

    @property
    def rider(self):
        """The penalty riding in the training GEMMs, or None."""
        return self.terms.rider

    def value_and_grad(self, X, Y, sw, acts, deltas, P, exact=False, spare_row=False):
        """Objective on one batch; fills ``flat.grad``.

        Parameters
        ----------
        X : {ndarray, sparse matrix}
            The batch (with ``spare_row``, one more row when it can).
        Y : ndarray of shape (n, n_outputs)
            Encoded targets.
        sw : ndarray of shape (n,) or None
            Sample weights.
        acts, deltas : list of ndarray
            Buffers of the network's activations and deltas (with
            ``spare_row``, one row more than the batch, for the penalty to
            ride in the training GEMMs: see ``SpectralPenalty``).
        P : ndarray of shape (n, n_outputs)
            Buffer for the outputs after the link.
        exact : bool, default=False
            Deterministic value (exact singular values): lbfgs.
        spare_row : bool, default=False
            The buffers have the spare row.

        Returns
        -------
        loss : float or None
            None for a batch whose sample weights sum to zero: it carries no
            information, and dividing by its weight sum is what makes
            scikit-learn crash there.
        """
        n = Y.shape[0]
        s = n if sw is None else float(sw.sum())
        if s <= 0:
            return None
        scale = self.alpha / s
        if self.weight_exponent != 0:
            scale = np.ldexp(scale, -self.weight_exponent)
        flat, terms = self.flat, self.terms
        net = flat.network
        rider = terms.rider if spare_row and not exact else None
        if rider is not None:
            rider.begin(flat.coefs, X, n)
            Z = net.forward(X, acts, rider=rider)
        else:
            if spare_row:
                X, acts, deltas = X[:n], [a[:n] for a in acts], [d[:n] for d in deltas]
            Z = net.forward(X, acts)
            terms.track(flat.coefs, exact)
        delta = deltas[-1][:n]
        if terms.margin is not None:
            loss = terms.margin.loss_and_delta(
                Z, Y, sw, s, P, delta, flat.coefs, terms.tracker
            )
        else:
            np.copyto(P, Z)
            OUTPUT_ACTIVATIONS[self.out_activation](P)
            loss = LOSSES[self.out_activation](Y, P, sw)
            np.subtract(P, Y, out=delta)
            if sw is not None:
                delta *= sw[:, None]
            delta *= 1.0 / s
        if rider is not None:
            terms.load(X, acts, deltas, scale)
        net.backward(
            X, acts, deltas, flat.coef_grads, flat.intercept_grads, rider=rider
        )
        self.last_penalty = terms(flat.coefs, flat.coef_grads, scale, exact)
        loss += self.last_penalty
        return loss
