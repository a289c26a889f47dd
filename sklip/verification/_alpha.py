"""alpha-CROWN: the ReLU lower slopes of the backward pass, optimised.

Any slope in [0, 1] of the lower line ``a z`` of an unstable ReLU gives a
sound bound, separately for every sample, spec row and neuron. The bound is
piecewise smooth in the slopes; its gradient follows from the same backward
pass by the adjoint recursion written out in :func:`bound_and_gradient`.
Projected Adam ascent from CROWN's slopes, keeping each row's best iterate,
so the result is never looser than CROWN.
"""

import numpy as np

from ._backward import backward_bound

_BETA1, _BETA2, _ADAM_EPS = 0.9, 0.999, 1e-12


def bound_and_gradient(network, dom, G, const, top, lines, alphas, free=None):
    """The bound of :func:`~sklip.verification._backward.backward_bound` with
    slopes ``alphas`` and its gradient in them.

    With ``G_j`` the coefficients on ``h_j`` before relaxation,
    ``Lam_{j-1} = (G_j)_+ alpha_{j-1} + (G_j)_- aU_{j-1}`` and ``x*`` the
    minimiser of the concretisation, the derivative of the bound in
    ``Lam_0`` is ``D_0 = x* W_0 + b_0``, and upwards
    ``D_j = H_j W_j + b_j`` with ``H_j = D_{j-1} * slope + intercept`` (the
    chosen line's, per entry); then
    ``d bound / d alpha_{j-1} = D_{j-1} * (G_j)_+``.

    Parameters
    ----------
    free : list of ndarray of int, default=None
        Flat indices (into each ``alphas[j]``) of the entries whose gradient
        is wanted; the gradient is then returned at those entries only.

    Returns
    -------
    lower : ndarray of shape (n, k)
    grads : list of ndarray, like ``alphas`` (or like ``free``)
    """
    keep = {}
    lower, X = backward_bound(network, dom, G, const, top, lines, alphas, keep=keep)
    n, k, _ = X.shape
    D = (X.reshape(n * k, -1) @ network.coefs[0] + network.intercepts[0]).reshape(
        n, k, -1
    )
    grads = [None] * len(alphas)
    for j in range(1, top + 1):
        Gj = keep[j]
        if free is None:
            grads[j - 1] = D * np.maximum(Gj, 0.0)
        else:
            idx = free[j - 1]
            grads[j - 1] = D.ravel()[idx] * np.maximum(Gj.ravel()[idx], 0.0)
        if j < top:
            aL, bL, aU, bU = lines[j - 1][:4]
            pos = Gj > 0
            H = D * np.where(pos, alphas[j - 1], aU[:, None, :])
            H += np.where(pos, bL[:, None, :], bU[:, None, :])
            W, b = network.coefs[j], network.intercepts[j]
            D = (H.reshape(n * k, -1) @ W + b).reshape(n, k, -1)
    return lower, grads


def optimise_alpha(network, dom, G, const, top, lines, n_iter, lr, alpha0=None):
    """Projected Adam ascent of the bound in the ReLU lower slopes.

    Only the slopes of unstable neurons are free; Adam runs on them as flat
    vectors (a fraction of the (n, k, h) arrays).

    Parameters
    ----------
    G, const, top, lines
        The backward pass's start, as for ``backward_bound``.
    n_iter : int
        Adam steps (the bound is evaluated ``n_iter + 1`` times).
    lr : float
        Step size (slopes live in [0, 1]).
    alpha0 : list of ndarray, default=None
        Warm-start slopes (n, k, h) per hidden layer; CROWN's by default.

    Returns
    -------
    lower : ndarray of shape (n, k)
        The best bound found per row (the start included).
    alphas : list of ndarray
        The slopes that gave it.
    """
    n, k = G.shape[0], G.shape[1]
    alphas, free, rows, values = [], [], [], []
    for j, ln in enumerate(lines):
        aL, unstable = ln[0], ln[4]
        shape = (n, k, aL.shape[1])
        start = np.broadcast_to(aL[:, None, :], shape)
        if alpha0 is not None and alpha0[j].shape == shape:
            start = np.where(unstable[:, None, :], np.clip(alpha0[j], 0.0, 1.0), start)
        alphas.append(np.array(start, dtype=np.float64, order="C"))
        idx = np.flatnonzero(np.broadcast_to(unstable[:, None, :], shape))
        free.append(idx)
        rows.append(idx // shape[2])  # flat (sample, row) of each free slope
        values.append(alphas[-1].ravel()[idx])
    m1 = [np.zeros_like(v) for v in values]
    m2 = [np.zeros_like(v) for v in values]
    best = np.full((n, k), -np.inf)
    best_values = [v.copy() for v in values]
    for it in range(n_iter + 1):
        for a, idx, v in zip(alphas, free, values):
            np.put(a, idx, v)
        lower, grads = bound_and_gradient(
            network, dom, G, const, top, lines, alphas, free
        )
        better = (lower > best).ravel()
        best = np.maximum(lower, best)
        for v, bv, r in zip(values, best_values, rows):
            np.copyto(bv, v, where=better[r])
        if it == n_iter:
            break
        t = it + 1
        step = lr * np.sqrt(1.0 - _BETA2**t) / (1.0 - _BETA1**t)
        for v, g, m, s in zip(values, grads, m1, m2):
            m *= _BETA1
            m += (1.0 - _BETA1) * g
            s *= _BETA2
            g *= g
            s += (1.0 - _BETA2) * g
            v += step * m / (np.sqrt(s) + _ADAM_EPS)
            np.clip(v, 0.0, 1.0, out=v)
    for a, idx, bv in zip(alphas, free, best_values):
        np.put(a, idx, bv)
    return best, alphas
