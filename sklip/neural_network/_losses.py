"""Data losses paired with their canonical output links.

Every loss here is the negative log-likelihood of its output link, so the
gradient with respect to the raw outputs is simply ``P - Y`` (weighted and
divided by the weight sum); only the loss *value* differs between them.

All losses sum over outputs.  scikit-learn averages the squared error over
outputs while backpropagating the gradient of the sum, so its lbfgs line search
sees a loss ``n_outputs`` times smaller than the function its gradient belongs
to (scikit-learn issue 8349); summing keeps value and gradient consistent and is
identical to scikit-learn for a single output.
"""

import numpy as np
from scipy.special import xlogy


def _average(values, sample_weight):
    """Per-output weighted mean over samples, summed over outputs."""
    if sample_weight is None:
        return values.sum() / values.shape[0]
    return float(sample_weight @ values.sum(axis=1)) / sample_weight.sum()


def squared_error(Y, P, sample_weight=None):
    """Half squared error, summed over outputs."""
    return 0.5 * _average((Y - P) ** 2, sample_weight)


def poisson(Y, P, sample_weight=None):
    """Half Poisson deviance (with its constant term), summed over outputs."""
    return _average(xlogy(Y, Y / P) - Y + P, sample_weight)


def log_loss(Y, P, sample_weight=None):
    """Categorical cross-entropy of softmax probabilities."""
    eps = np.finfo(P.dtype).eps
    return -_average(xlogy(Y, np.clip(P, eps, 1 - eps)), sample_weight)


def binary_log_loss(Y, P, sample_weight=None):
    """Binary cross-entropy per logistic output, summed over outputs."""
    eps = np.finfo(P.dtype).eps
    P = np.clip(P, eps, 1 - eps)
    return -_average(xlogy(Y, P) + xlogy(1 - Y, 1 - P), sample_weight)


# Output activation -> loss for the canonical pairings the estimators use.
LOSSES = {
    "identity": squared_error,
    "exp": poisson,
    "softmax": log_loss,
    "logistic": binary_log_loss,
}
