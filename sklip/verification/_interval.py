"""Interval bound propagation (IBP) through a :class:`~sklip._core.network.Network`."""

import numpy as np

from .._activations import HIDDEN_ACTIVATIONS


def first_layer_bounds(W, b, dom):
    """Exact bounds of ``x @ W + b`` over the domain: ``(l, u)``, each (n, h).

    Each unit is a linear function of ``x``, so the dual norm of its column
    (and the box) gives its exact range over the ball (for L2 with a box,
    the tighter of the ball and box bounds).
    """
    h = W.shape[1]
    A = np.concatenate([W.T, -W.T])
    const = np.concatenate([b, -b])
    both = dom.concretize(A, const)
    return both[:, :h], -both[:, h:]


def affine_interval(l, u, W, b):
    """Bounds of ``h @ W + b`` for ``h`` in ``[l, u]`` (center-radius form of
    the ``W+ / W-`` split)."""
    mid = 0.5 * (l + u)
    rad = 0.5 * (u - l)
    center = mid @ W + b
    spread = rad @ np.abs(W)
    return center - spread, center + spread


def clamp_splits(l, u, split):
    """Apply a split (int8, +1 active: ``z >= 0``, -1 inactive: ``z <= 0``)
    to pre-activation bounds; returns new ``(l, u)``."""
    if split is None:
        return l, u
    return np.where(split > 0, np.maximum(l, 0.0), l), np.where(
        split < 0, np.minimum(u, 0.0), u
    )


def next_interval(network, layer, l, u):
    """IBP bounds of the pre-activation of ``layer`` (>= 1) from those of
    ``layer - 1``: through the (monotone) activation, then the affine map."""
    phi = HIDDEN_ACTIVATIONS[network.activation].forward
    hl, hu = phi(l.copy()), phi(u.copy())
    return affine_interval(hl, hu, network.coefs[layer], network.intercepts[layer])


def interval_pre_bounds(network, dom, splits=None):
    """IBP bounds of every hidden pre-activation: list of ``(l, u)``, one per
    hidden layer, each (n, h_layer); splits are applied as they go."""
    bounds = []
    for layer in range(network.n_layers - 1):
        if layer == 0:
            l, u = first_layer_bounds(network.coefs[0], network.intercepts[0], dom)
        else:
            l, u = next_interval(network, layer, *bounds[-1])
        split = None if splits is None else splits[layer]
        bounds.append(clamp_splits(l, u, split))
    return bounds


def interval_specs(network, dom, C, pre_bounds):
    """IBP lower bounds of ``C @ f(x)``, (n, k), with ``C`` folded into the
    last affine layer (tighter than bounding the logits first).

    Without hidden layers the map is linear and the bound exact.
    """
    W, b = network.coefs[-1], network.intercepts[-1]
    WC = np.matmul(C, W.T)  # (n, k, h): spec rows on the last hidden layer
    bC = C @ b
    if network.n_layers == 1:
        return dom.concretize(WC, bC)
    phi = HIDDEN_ACTIVATIONS[network.activation].forward
    l, u = pre_bounds[-1]
    hl, hu = phi(l.copy()), phi(u.copy())
    mid = 0.5 * (hl + hu)
    rad = 0.5 * (hu - hl)
    center = np.matmul(WC, mid[:, :, None])[..., 0]
    spread = np.matmul(np.abs(WC), rad[:, :, None])[..., 0]
    return center + bC - spread
