"""Linear relaxations of the hidden activations between pre-activation bounds.

For a neuron with pre-activation ``z`` in ``[l, u]`` a relaxation is a pair
of lines ``aL z + bL <= phi(z) <= aU z + bU`` valid on ``[l, u]``. The
backward pass (CROWN) picks the lower line where the coefficient is positive
and the upper line where it is negative.
"""

import numpy as np
from scipy.special import expit

# Intervals narrower than this use the constant lines phi(l) <= phi <= phi(u):
# a chord's slope would be rounding noise there.
_TINY = 1e-12
_BISECT = 50


def relu_lines(l, u):
    """ReLU relaxation: stable neurons exact, unstable ones the triangle.

    The upper line of an unstable neuron (``l < 0 < u``) is the chord
    ``u (z - l) / (u - l)``; the lower line ``a z`` takes CROWN's adaptive
    slope ``a = 1`` if ``u > -l`` else ``0`` (any ``a`` in [0, 1] is valid:
    alpha-CROWN optimises it).

    Returns
    -------
    aL, bL, aU, bU : ndarray of the shape of ``l``
        ``bL`` is zero.
    unstable : ndarray of bool
    """
    active = l >= 0
    unstable = (l < 0) & (u > 0)
    width = np.where(unstable, u - l, 1.0)
    aU = np.where(unstable, u / width, active.astype(np.float64))
    bU = np.where(unstable, -u * l / width, 0.0)
    aL = np.where(unstable, (u > -l).astype(np.float64), aU)
    aL = np.where(active, 1.0, np.where(unstable, aL, 0.0))
    return aL, np.zeros_like(aL), aU, bU, unstable


def _tanh(z):
    return np.tanh(z)


def _tanh_slope(z):
    t = np.tanh(z)
    return 1.0 - t * t


def _logistic_slope(z):
    s = expit(z)
    return s * (1.0 - s)


# S-shaped functions, convex on (-inf, 0] and concave on [0, inf).
_S_SHAPED = {"tanh": (_tanh, _tanh_slope), "logistic": (expit, _logistic_slope)}


def _tangent(f, df, d):
    slope = df(d)
    return slope, f(d) - slope * d


def s_shaped_lines(l, u, activation):
    """Relaxation of tanh or logistic (convex below 0, concave above).

    - ``u <= 0`` (convex part): upper = chord, lower = tangent at the midpoint;
    - ``l >= 0`` (concave part): lower = chord, upper = tangent at the midpoint;
    - ``l < 0 < u``: the chord is a valid upper line when its slope is at most
      ``phi'(u)`` (a valid lower line when at most ``phi'(l)``); otherwise the
      upper line is the tangent at the point ``d`` of ``[0, u]`` whose tangent
      passes through ``(l, phi(l))`` (lower: the tangent at ``d`` in ``[l, 0]``
      through ``(u, phi(u))``), found by bisection on the side where the
      tangent stays valid (above ``phi(l)`` at ``l``, resp. below ``phi(u)`` at
      ``u``), so an inexact ``d`` is still sound.

    Returns
    -------
    aL, bL, aU, bU : ndarray of the shape of ``l``
    """
    f, df = _S_SHAPED[activation]
    fl, fu = f(l), f(u)
    width = u - l
    tiny = width <= _TINY * (1.0 + np.abs(l))
    k = (fu - fl) / np.where(tiny, 1.0, width)
    chord_b = fl - k * l
    mid = 0.5 * (l + u)
    t_a, t_b = _tangent(f, df, mid)
    convex = u <= 0
    concave = l >= 0
    aU = np.where(convex, k, t_a)
    bU = np.where(convex, chord_b, t_b)
    aL = np.where(concave, k, t_a)
    bL = np.where(concave, chord_b, t_b)
    mixed = ~(convex | concave | tiny)
    if np.any(mixed):
        lm, um, km, cb = l[mixed], u[mixed], k[mixed], chord_b[mixed]
        flm, fum = fl[mixed], fu[mixed]
        # Upper line.
        chord_ok = km <= df(um)
        lo, hi = np.zeros_like(lm), um.copy()
        for _ in range(_BISECT):
            d = 0.5 * (lo + hi)
            g = df(d) * (d - lm) - (f(d) - flm)  # <= 0: tangent above phi(l) at l
            bad = g > 0
            lo = np.where(bad, d, lo)
            hi = np.where(bad, hi, d)
        ta, tb = _tangent(f, df, hi)
        aU[mixed] = np.where(chord_ok, km, ta)
        bU[mixed] = np.where(chord_ok, cb, tb)
        # Lower line.
        chord_ok = km <= df(lm)
        lo, hi = lm.copy(), np.zeros_like(lm)
        for _ in range(_BISECT):
            d = 0.5 * (lo + hi)
            h = df(d) * (um - d) - (fum - f(d))  # <= 0: tangent below phi(u) at u
            bad = h > 0
            hi = np.where(bad, d, hi)
            lo = np.where(bad, lo, d)
        ta, tb = _tangent(f, df, lo)
        aL[mixed] = np.where(chord_ok, km, ta)
        bL[mixed] = np.where(chord_ok, cb, tb)
    if np.any(tiny):
        zero = np.zeros_like(l)
        aL = np.where(tiny, zero, aL)
        aU = np.where(tiny, zero, aU)
        bL = np.where(tiny, fl, bL)
        bU = np.where(tiny, fu, bU)
    return aL, bL, aU, bU


def activation_lines(activation, l, u):
    """``(aL, bL, aU, bU, unstable)`` for any hidden activation.

    ``unstable`` marks the ReLU neurons whose lower slope is free (all False
    for the other activations); identity is exact (slope one).
    """
    if activation == "relu":
        return relu_lines(l, u)
    if activation == "identity":
        one = np.ones_like(l)
        zero = np.zeros_like(l)
        return one, zero, one, zero, np.zeros(l.shape, bool)
    aL, bL, aU, bU = s_shaped_lines(l, u, activation)
    return aL, bL, aU, bU, np.zeros(l.shape, bool)
