"""Models queried as black boxes, and the inputs an attack works on.

Square Attack and the noise attack only evaluate the model: these build the
function from the perturbed columns to its scores, with every other column
as the user gave it and ``X`` in the user's type (DataFrames included).
"""

import numpy as np
from sklearn.base import is_classifier

from .._core.inputs import Inputs
from ._params import BLACK_BOX


def attack_inputs(estimator, X, features, *, attack):
    """:class:`Inputs` for ``attack``. Gradient attacks need a network view
    (a ``TypeError`` suggesting a black-box attack otherwise); ``"auto"`` and
    ``"square"`` use it when there is one and fall back to scores."""
    if attack == "noise":
        return Inputs(estimator, X, features, gradients=False)
    try:
        return Inputs(estimator, X, features, gradients=True)
    except TypeError as exc:
        if attack in BLACK_BOX:
            return Inputs(estimator, X, features, gradients=False)
        raise TypeError(
            f"attack={attack!r} needs input gradients, but "
            f"{type(estimator).__name__} has no network view ({exc}). "
            "Use attack='auto' or 'square' (score-based black box) or 'noise'."
        ) from exc


def _assemble_rows(inputs, P, rows):
    """The model inputs of the samples ``rows`` with their perturbed columns
    set to ``P``, in the type the user gave (Square Attack queries only the
    samples it is still working on); missing entries stay NaN."""
    if rows.size == inputs.n_samples:
        return inputs.assemble(P)
    return inputs.assemble(P, rows=rows)


def score_function(estimator, inputs):
    """The black-box scores of ``estimator`` as a function of the perturbed
    columns: ``decision_function`` when it has one (its argmax is the
    prediction), else ``predict_proba``, and ``predict`` for regressors."""
    if not is_classifier(estimator):
        method = estimator.predict
    elif hasattr(estimator, "decision_function"):
        method = estimator.decision_function
    elif hasattr(estimator, "predict_proba"):
        method = estimator.predict_proba
    else:
        raise TypeError(
            f"{type(estimator).__name__} has neither decision_function nor "
            "predict_proba: a score-based attack cannot rank candidate points. "
            "Use attack='noise'."
        )

    def score(P, rows):
        S = np.asarray(method(_assemble_rows(inputs, P, rows)), dtype=np.float64)
        return S.reshape(P.shape[0], -1)

    return score
