"""Per-sample losses that gradient attacks maximise, from raw network outputs.

An objective turns raw outputs ``F`` (logits or regression outputs) into one
loss per sample plus its gradient w.r.t. ``F`` (the cotangent fed to
:meth:`sklip._core.network.Network.backward`). Attacks keep, per sample, the point
with the largest loss, so "larger is worse for the model" throughout.
"""

import numpy as np
from sklearn.base import is_classifier
from sklearn.pipeline import Pipeline

from .._core.view import output_kind
from ._common import check_labels, check_target_length


class Objective:
    """A per-sample loss on raw outputs.

    Parameters
    ----------
    kind : {"margin", "binary", "squared", "ce", "dlr", "targeted"}
        The first three are the *tracking* objectives (what "worse" means);
        the last three are losses that attacks ascend (see
        :meth:`attack_loss`). ``"margin"``: ``max_{i != y} f_i - f_y``
        (multi-logit classifiers); positive exactly when another class
        wins. ``"binary"``: the single logit ``z`` signed so that it is
        positive when the label flips (``z`` for class 0, ``-z`` for class
        1). ``"squared"``: ``||f - t||^2`` against a target row ``t`` (regressors).
    target : ndarray
        Class indices (``"margin"``), signs in {+1, -1} (``"binary"``) or
        target rows of shape (n_samples, n_outputs) (``"squared"``).
    target_class : ndarray, default=None
        Class indices towards which ``"targeted"`` pushes.
    n_classes : int, default=None
        Number of classes (classifiers).
    from_clean : bool
        True when the squared-error target is the clean prediction itself:
        its gradient vanishes at the clean point, which FGSM must know.
    """

    def __init__(
        self,
        kind,
        target,
        from_clean=False,
        link="identity",
        target_class=None,
        n_classes=None,
    ):
        self.kind = kind
        self.target = target
        self.from_clean = from_clean
        self.link = link
        self.target_class = target_class
        self.n_classes = n_classes

    @property
    def classifies(self):
        """Whether a positive loss means the label flipped (classifiers)."""
        return self.kind in ("margin", "binary")

    def take(self, rows):
        """The same objective restricted to the samples ``rows``."""
        tc = None if self.target_class is None else self.target_class[rows]
        return Objective(
            self.kind,
            self.target[rows],
            self.from_clean,
            self.link,
            tc,
            self.n_classes,
        )

    def attack_loss(self, loss):
        """The loss an attack ascends for this (tracking) objective.

        ``"ce"``: cross-entropy of the softmax; ``"dlr"``: the difference of
        logits ratio of Croce & Hein (2020), scale invariant, needing >= 3
        classes (else the margin). Binary single-logit models and regressors
        keep their own loss: the cross-entropy of a single logit is monotone
        in the signed logit, so its normalised ascent direction is the same.
        """
        if self.kind != "margin" or loss == "margin":
            return self
        if loss == "dlr" and self.n_classes < 3:
            return self
        return Objective(loss, self.target, n_classes=self.n_classes)

    def targeted(self, target_class):
        """The margin ``f_t - f_y`` towards class ``target_class`` per sample."""
        return Objective(
            "targeted", self.target, target_class=target_class, n_classes=self.n_classes
        )

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
        if self.kind == "targeted":
            t = self.target_class
            loss = F[rows, t] - F[rows, self.target]
            if grad is not None:
                grad[...] = 0.0
                grad[rows, t] = 1.0
                grad[rows, self.target] = -1.0
            return loss
        if self.kind == "ce":
            return _cross_entropy(F, self.target, grad)
        if self.kind == "dlr":
            return _dlr(F, self.target, grad)
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
            return Objective("binary", np.where(idx == 1, -1.0, 1.0), n_classes=2)
        if n_outputs == n_classes:
            return Objective("margin", idx, n_classes=n_classes)
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


def _cross_entropy(F, y, grad=None):
    """``logsumexp(F) - F_y`` with gradient ``softmax(F) - e_y``."""
    rows = np.arange(F.shape[0])
    Z = F - F.max(axis=1, keepdims=True)
    E = np.exp(Z)
    s = E.sum(axis=1)
    loss = np.log(s) - Z[rows, y]
    if grad is not None:
        np.divide(E, s[:, None], out=grad)
        grad[rows, y] -= 1.0
    return loss


def _dlr(F, y, grad=None):
    """Difference of logits ratio ``-(f_y - max_{i!=y} f_i) / (f_pi1 - f_pi3)``
    (Croce & Hein, 2020), with ``pi`` the logits sorted decreasingly: the
    margin, made invariant to the scale of the logits."""
    n = F.shape[0]
    rows = np.arange(n)
    order = np.argsort(F, axis=1)
    p1, p3 = order[:, -1], order[:, -3]
    top_is_y = p1 == y
    m = np.where(top_is_y, order[:, -2], p1)  # strongest other class
    a = F[rows, y] - F[rows, m]
    D = F[rows, p1] - F[rows, p3] + 1e-12
    loss = -a / D
    if grad is not None:
        grad[...] = 0.0
        grad[rows, y] -= 1.0 / D
        grad[rows, m] += 1.0 / D
        c = a / D**2
        grad[rows, p1] += c
        grad[rows, p3] -= c
    return loss


def make_score_objective(estimator, S, X, y):
    """The tracking objective on black-box scores ``S`` (of shape
    (n_samples, n_columns)) at ``X``: ``decision_function`` /
    ``predict_proba`` columns for classifiers, predictions for regressors."""
    n = X.shape[0]
    if not is_classifier(estimator):
        if y is None:
            return Objective("squared", S.copy(), from_clean=True)
        T = np.asarray(check_target_length(y, X), dtype=np.float64).reshape(n, -1)
        if T.shape[1] != S.shape[1]:
            raise ValueError(
                f"y has {T.shape[1]} output column(s) but the model has {S.shape[1]}."
            )
        return Objective("squared", T)
    classes = getattr(estimator, "classes_", None)
    if classes is None or np.ndim(classes) != 1:
        raise ValueError(
            "Multilabel and multi-output classifiers are not supported; "
            f"got {type(estimator).__name__}."
        )
    n_classes = len(classes)
    labels = estimator.predict(X) if y is None else y
    idx = check_labels(estimator, labels, X)
    if S.shape[1] == 1 and n_classes == 2:
        return Objective("binary", np.where(idx == 1, -1.0, 1.0), n_classes=2)
    if S.shape[1] != n_classes:
        raise ValueError(
            f"{type(estimator).__name__} returns {S.shape[1]} score columns for "
            f"{n_classes} classes; cannot build a margin loss."
        )
    return Objective("margin", idx, n_classes=n_classes)
