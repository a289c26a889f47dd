"""Per-sample losses that gradient attacks maximise, from raw network outputs.

An objective turns raw outputs ``F`` (logits or regression outputs) into one
loss per sample plus its gradient w.r.t. ``F`` (the cotangent fed to
:meth:`sklip._network.Network.backward`). Attacks keep, per sample, the point
with the largest loss, so "larger is worse for the model" throughout.
"""

import numpy as np
from sklearn.base import is_classifier
from sklearn.pipeline import Pipeline

from ..lipschitz._view import output_kind
from ._common import check_labels, check_target_length


class Objective:
    """A per-sample loss on raw outputs.

    Parameters
    ----------
    kind : {"margin", "binary", "squared"}
        ``"margin"``: ``max_{i != y} f_i - f_y`` (multi-logit classifiers);
        positive exactly when another class wins. ``"binary"``: the single
        logit ``z`` signed so that it is positive when the label flips
        (``z`` for class 0, ``-z`` for class 1). ``"squared"``:
        ``||f - t||^2`` against a target row ``t`` (regressors).
    target : ndarray
        Class indices (``"margin"``), signs in {+1, -1} (``"binary"``) or
        target rows of shape (n_samples, n_outputs) (``"squared"``).
    from_clean : bool
        True when the squared-error target is the clean prediction itself:
        its gradient vanishes at the clean point, which FGSM must know.
    """

    def __init__(self, kind, target, from_clean=False, link="identity"):
        self.kind = kind
        self.target = target
        self.from_clean = from_clean
        self.link = link

    def predict(self, F):
        """Regression predictions from raw outputs (the output link)."""
        return np.exp(F) if self.link == "exp" else F

    def __call__(self, F, grad=None):
        """Loss per row of ``F``; when ``grad`` is given it is overwritten
        with the gradient of the loss w.r.t. ``F``."""
        n = F.shape[0]
        rows = np.arange(n)
        if self.kind == "binary":
            loss = self.target * F[:, 0]
            if grad is not None:
                grad[:, 0] = self.target
            return loss
        if self.kind == "margin":
            y = self.target
            others = F.copy()
            others[rows, y] = -np.inf
            runner_up = np.argmax(others, axis=1)
            loss = others[rows, runner_up] - F[rows, y]
            if grad is not None:
                grad[...] = 0.0
                grad[rows, runner_up] = 1.0
                grad[rows, y] = -1.0
            return loss
        P = self.predict(F)
        residual = P - self.target
        if grad is not None:
            np.multiply(residual, 2.0, out=grad)
            if self.link == "exp":
                grad *= P  # d exp(F) / dF = exp(F)
        return np.einsum("ij,ij->i", residual, residual)


def make_objective(estimator, network, X, y):
    """The attack objective for ``estimator`` on ``X`` (labels ``y`` or, when
    ``y`` is None, the model's own predictions)."""
    F = network.forward(X)
    n_outputs = F.shape[1]
    if output_kind(estimator) == "multilabel":
        raise ValueError(
            "Multilabel classifiers are not supported: there is no single "
            f"label to attack; got a multilabel {type(estimator).__name__}."
        )
    if is_classifier(estimator):
        n_classes = len(estimator.classes_)
        if y is None:
            idx = (F[:, 0] > 0).astype(np.intp) if n_outputs == 1 else F.argmax(1)
        else:
            idx = check_labels(estimator, y, X)
        if n_outputs == 1 and n_classes == 2:
            # Class 1 is predicted when the logit is > 0, so the attacker
            # pushes z up for class 0 and down for class 1.
            return Objective("binary", np.where(idx == 1, -1.0, 1.0))
        if n_outputs == n_classes:
            return Objective("margin", idx)
        raise ValueError(
            f"The network view of {type(estimator).__name__} has {n_outputs} "
            f"outputs for {n_classes} classes; cannot build a margin loss."
        )
    link = _output_link(estimator)
    if y is None:
        T = np.exp(F) if link == "exp" else F.copy()
        return Objective("squared", T, from_clean=True, link=link)
    y = np.asarray(check_target_length(y, X), dtype=np.float64)
    T = y.reshape(X.shape[0], -1)
    if T.shape[1] != n_outputs:
        raise ValueError(
            f"y has {T.shape[1]} output column(s) but the model has {n_outputs}."
        )
    return Objective("squared", T, link=link)


def _output_link(estimator):
    """The map from raw outputs to predictions of a regressor: identity, or
    exp for MLPs with a Poisson loss (``out_activation_ == "exp"``)."""
    final = estimator
    while isinstance(final, Pipeline):
        final = final.steps[-1][1]
    link = getattr(final, "out_activation_", "identity")
    if link not in ("identity", "exp"):
        raise ValueError(
            f"Unsupported output activation {link!r} of {type(final).__name__}."
        )
    return link
