"""The backward pass of linear bounds through a network (CROWN's core step).

Shared by CROWN (:mod:`sklip.verification._crown`) and alpha-CROWN
(:mod:`sklip.verification._alpha`), which differentiates the same pass in
the ReLU lower slopes.
"""

import numpy as np


def relax_backward(G, lines, alpha=None):
    """Coefficients on ``z`` and constants from coefficients ``G`` on
    ``h = phi(z)``: positive entries take the lower line (slopes ``alpha``
    when given, (n, k, h)), negative ones the upper line."""
    aL, bL, aU, bU = lines[:4]
    pos = np.maximum(G, 0.0)
    neg = G - pos
    low = aL[:, None, :] if alpha is None else alpha
    Lam = pos * low + neg * aU[:, None, :]
    const = np.matmul(neg, bU[:, :, None])[..., 0]
    if bL.any():
        const = const + np.matmul(pos, bL[:, :, None])[..., 0]
    return Lam, const


def affine_backward(Lam, W, b):
    """``(Lam W^T, Lam b)`` as single GEMMs over all samples and rows."""
    n, k, h = Lam.shape
    flat = Lam.reshape(n * k, h)
    return (flat @ W.T).reshape(n, k, W.shape[0]), (flat @ b).reshape(n, k)


def backward_bound(network, dom, G, const, top, lines, alphas=None, keep=None):
    """Lower bounds of ``G . h_top + const`` over the domain.

    ``h_top`` is the input of affine layer ``top`` (``h_0 = x``); ``G`` is
    (n, k, h) or (k, h) shared by the samples; ``lines[j]`` relaxes the
    activation of hidden layer ``j``. When ``keep`` is a dict it receives the
    coefficients on each ``h_j`` (key ``j``) before relaxation, and the
    minimiser of the concretisation is returned too.
    """
    for j in range(top, 0, -1):
        if keep is not None:
            keep[j] = G
        Lam, c = relax_backward(
            G, lines[j - 1], None if alphas is None else alphas[j - 1]
        )
        G, cb = affine_backward(Lam, network.coefs[j - 1], network.intercepts[j - 1])
        const = const + c + cb
    return dom.concretize(G, const, return_argmin=keep is not None)
