"""Points of a domain that may violate a specification: projection, checks, PGD.

Complete verification needs the primal side too: a point of the domain
(the Lp ball around ``x0``, movable coordinates only, intersected with the
clip box) where some specification row ``C f(x) <= 0`` proves the sample
*falsified*. This module keeps candidate points in the domain (projection),
checks them with the network itself, and improves them by a short projected
gradient descent on the worst row. The verification floor stands below
robustness, so the attack here is a small self-contained one; the caller may
pass robustness's own attack as a falsifier.
"""

import numpy as np

from ._milp import _domain_parts


def movable(dom):
    """Indices (or a full slice) of the coordinates the domain moves."""
    return slice(None) if dom.mask is None else np.flatnonzero(dom.mask)


def project(dom, rows, X):
    """Project points ``X`` (m, d) onto the domains of samples ``rows``
    (see :meth:`Domain.project`)."""
    return dom.subset(rows).project(X)


def inside(dom, rows, X):
    """Whether each point of ``X`` (m, d) lies in its sample's domain."""
    X = np.asarray(X, np.float64)
    return dom.subset(rows).contains(X) & np.all(np.isfinite(X), axis=1)


def spec_values(network, C, rows, X):
    """``C[rows] f(X)`` per point: shape (m, k)."""
    F = np.asarray(network.forward(np.asarray(X, np.float64)), np.float64)
    return np.einsum("mo,mko->mk", F, C[rows])


def pgd(network, dom, C, rows, X, *, n_steps=10, step=0.25):
    """Projected gradient descent on the worst specification row.

    Parameters
    ----------
    network : Network
    dom : Domain
    C : ndarray of shape (n, k, n_outputs)
    rows : ndarray of int of shape (m,)
        Sample of each starting point.
    X : ndarray of shape (m, d)
        Starting points (in the domain).
    n_steps : int, default=10
    step : float, default=0.25
        Step length as a fraction of each sample's eps (sign steps for Linf,
        normalised gradient steps for L2), decayed linearly to a tenth.

    Returns
    -------
    best : ndarray of shape (m, d)
        The point of the path with the lowest worst-row value.
    value : ndarray of shape (m,)
        That value, ``min_k C f(best)``.
    """
    _, eps, norm, _, _ = _domain_parts(dom)
    cols = movable(dom)
    e = eps[rows][:, None]
    X = project(dom, rows, X)
    best = X.copy()
    value = spec_values(network, C, rows, X).min(axis=1)
    for t in range(n_steps):
        vals = spec_values(network, C, rows, X)
        worst = vals.argmin(axis=1)
        G = network.input_gradient(X, C[rows, worst])[:, cols]
        size = step * (1 - 0.9 * t / max(n_steps - 1, 1)) * e
        if norm == np.inf:
            G = np.sign(G)
        else:
            G = G / np.maximum(np.linalg.norm(G, axis=1, keepdims=True), 1e-300)
        X[:, cols] -= size * G
        X = project(dom, rows, X)
        v = spec_values(network, C, rows, X).min(axis=1)
        better = v < value
        best[better], value[better] = X[better], v[better]
    return best, value


def random_points(dom, rows, rng):
    """One uniform-ish random point of each sample's domain (a random
    direction at a random radius for L2, a uniform box point for Linf)."""
    Z, eps, norm, _, _ = _domain_parts(dom)
    cols = movable(dom)
    X = Z[rows].copy()
    m, d = X.shape[0], X[:, cols].shape[1]
    if norm == np.inf:
        delta = rng.uniform(-1, 1, size=(m, d))
    else:
        delta = rng.normal(size=(m, d))
        delta /= np.maximum(np.linalg.norm(delta, axis=1, keepdims=True), 1e-300)
        delta *= rng.uniform(size=(m, 1)) ** (1.0 / d)
    X[:, cols] += delta * eps[rows][:, None]
    return project(dom, rows, X)
