"""The Lipschitz-margin certificate (Tsuzuku et al., 2018).

For raw outputs ``f`` and predicted class ``c``, if ``K[c, i]`` bounds the
Lipschitz constant of ``f_c - f_i``, then for ``||delta||_2 <= r``
``f_c(x + delta) - f_i(x + delta) >= (f_c(x) - f_i(x)) - K[c, i] r``, so no
class can overtake ``c`` while ``r < min_i (f_c - f_i) / K[c, i]``: the
certified radius. An Linf ball of radius ``eps`` lies in the L2 ball of
radius ``sqrt(d) eps`` (``d`` movable coordinates), so the Linf radius is the
L2 one over ``sqrt(d)``: sound, generally loose.

Ties. The class is the one ``predict`` returns (it may decide by
probabilities, which round: a sigmoid of a tiny logit is exactly 0.5, a
softmax can tie), and a margin counts only beyond the floating-point
resolution of the logits, ``TIE_ULPS`` units in the last place of the
largest one (:func:`tie_slack`). A sample whose predicted class is not the
strict winner of the logits by more than that has radius 0: certificates
never disagree with ``predict``. Every method uses the same slack.

Features. Over a subset ``S`` of the raw columns (``features=``) the
constants are those of the network seen from ``S`` (first layer
``A_S W_1``): the other columns only shift the first layer's input, so the
certificate holds whatever their values.
"""

import numpy as np

TIE_ULPS = 64


def tie_slack(F, dtype=np.float64):
    """Per-sample margin a certificate must exceed: ``TIE_ULPS`` ulps of the
    largest logit of each row of ``F`` (in the network's ``dtype``)."""
    ulp = np.finfo(dtype).eps
    return TIE_ULPS * ulp * (1.0 + np.abs(F).max(axis=1))


def margin_radius(F, pred, K, slack):
    """L2 certified radii from logits and pairwise Lipschitz constants.

    Parameters
    ----------
    F : ndarray of shape (n_samples, n_outputs)
        Raw outputs at the samples.
    pred : ndarray of int of shape (n_samples,)
        Predicted class indices (as ``predict`` decides).
    K : ndarray of shape (n_classes, n_classes) or (n_samples, n_classes, \
n_classes)
        Pairwise constants (:func:`sklip.lipschitz.pairwise_lipschitz_bounds`,
        capped at ``sqrt(2) L``; ``K[0, 1] = L`` for a single logit), shared
        or per sample (each over the sample's own movable coordinates).
    slack : ndarray of shape (n_samples,)
        The tie slack of :func:`tie_slack`.

    Returns
    -------
    radius : ndarray of shape (n_samples,)
        0 where the prediction is not the strict winner, ``inf`` where the
        constants vanish (the model is constant in the movable coordinates).
    """
    n, k = F.shape
    rows = np.arange(n)
    with np.errstate(divide="ignore", invalid="ignore"):
        if k == 1:
            # Class 1 is predicted when the logit is positive.
            margin = np.where(pred == 1, F[:, 0], -F[:, 0]) - slack
            radius = margin / K[..., 0, 1]
        else:
            margins = F[rows, pred][:, None] - F - slack[:, None]
            ratios = margins / (K[pred] if K.ndim == 2 else K[rows, pred])
            ratios[rows, pred] = np.inf
            radius = ratios.min(axis=1)
    # A zero constant (the model is constant in the features) certifies every
    # untied prediction at any radius (+inf); a tie or a class predict does
    # not rank first certifies nothing (NaN from 0/0, or negative).
    return np.where(np.isnan(radius) | (radius < 0), 0.0, radius)


def radius_in_norm(radius_l2, norm, n_movable):
    """The certified radius in ``norm`` from the L2 one: Linf balls through
    the containing L2 ball (radius ``sqrt(n_movable) eps``)."""
    if norm == np.inf:
        # No movable coordinate (n_movable 0) leaves the radius infinite.
        return radius_l2 / np.sqrt(np.maximum(n_movable, 1))
    return radius_l2


def deviation_bound(L, eps, norm, n_movable):
    """``L * eps`` (Linf: ``L * sqrt(n_movable) * eps``): the certified bound
    on ``||f(x + delta) - f(x)||_2`` from the L2 Lipschitz constant ``L``."""
    scale = np.sqrt(n_movable) if norm == np.inf else 1.0
    return L * scale * np.asarray(eps, dtype=np.float64)
