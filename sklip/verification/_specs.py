"""Specification matrices: the linear functions of the outputs to bound.

A specification ``C`` of shape (n_samples, k, n_outputs) asks for lower
bounds of ``C[i] @ f(x)`` over sample ``i``'s domain; the verification holds
when every row's bound is positive (classifiers) or gives the output
interval (regressors).
"""

import numpy as np


def margin_specs(n_outputs, classes):
    """Margin rows ``e_c - e_j`` (every ``j != c``) of each sample's class.

    Parameters
    ----------
    n_outputs : int
        Number of raw outputs of the network. ``1`` is a binary classifier
        with a single logit (class 1 when it is positive).
    classes : array-like of int of shape (n_samples,)
        Index of each sample's class among the outputs (``0`` or ``1`` for a
        single logit).

    Returns
    -------
    C : ndarray of shape (n_samples, k, n_outputs)
        ``k = n_outputs - 1`` rows for ``n_outputs >= 2``; for a single logit
        one row ``s * e_0``, ``s = +1`` for class 1 and ``-1`` for class 0.
    """
    classes = np.asarray(classes)
    if classes.ndim != 1 or not np.issubdtype(classes.dtype, np.integer):
        raise ValueError(
            f"classes must be a 1-D array of class indices; got dtype "
            f"{classes.dtype} and shape {classes.shape}."
        )
    n = classes.size
    if n_outputs == 1:
        if np.any((classes != 0) & (classes != 1)):
            raise ValueError("classes must be 0 or 1 for a single-logit network.")
        return np.where(classes == 1, 1.0, -1.0).reshape(n, 1, 1)
    if n_outputs < 1 or np.any((classes < 0) | (classes >= n_outputs)):
        raise ValueError(
            f"classes must lie in [0, {n_outputs}) for n_outputs={n_outputs}."
        )
    k = n_outputs - 1
    C = np.zeros((n, k, n_outputs))
    rows = np.arange(k)
    others = rows[None, :] + (rows[None, :] >= classes[:, None])
    samples = np.arange(n)[:, None]
    C[samples, rows[None, :], classes[:, None]] = 1.0
    C[samples, rows[None, :], others] = -1.0
    return C


def output_specs(n_samples, n_outputs):
    """Rows ``+e_o`` then ``-e_o`` of every output (regression).

    The lower bounds of the first ``n_outputs`` rows are the outputs' lower
    bounds; minus those of the last ``n_outputs`` rows their upper bounds.

    Returns
    -------
    C : ndarray of shape (n_samples, 2 * n_outputs, n_outputs)
    """
    eye = np.eye(n_outputs)
    return np.broadcast_to(
        np.vstack([eye, -eye]), (n_samples, 2 * n_outputs, n_outputs)
    ).copy()
