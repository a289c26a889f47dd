"""The output side of the network view: ``TransformedTargetRegressor``.

A ``TransformedTargetRegressor`` fits its regressor on ``z = t(y)`` and
predicts ``t^{-1}(regressor.predict(X))``. When ``t`` is affine per output
(``StandardScaler``, ``MinMaxScaler``, ``MaxAbsScaler``, ``RobustScaler``, or
no transformer at all) so is its inverse, ``y = z * a + c``, and it folds into
the last layer like the input map folds into the first: ``W_L' = W_L a``,
``b_L' = b_L a + c``. Bounds, certified deviations, attacks and robust R^2
are then in the target's own units. Any other transformer (a ``func``, a
``QuantileTransformer``, ...) is a ``TypeError`` naming it.
"""

import numpy as np
from sklearn.compose import TransformedTargetRegressor
from sklearn.preprocessing import (
    FunctionTransformer,
    MaxAbsScaler,
    MinMaxScaler,
    RobustScaler,
    StandardScaler,
)
from sklearn.utils.validation import check_is_fitted

_DIAGONAL = (StandardScaler, MinMaxScaler, MaxAbsScaler, RobustScaler)


def is_target_transformer(step):
    """Whether ``step`` is a ``TransformedTargetRegressor``."""
    return isinstance(step, TransformedTargetRegressor)


def inner_regressor(name, ttr):
    """The fitted regressor inside ``ttr`` (``NotFittedError`` if unfitted)."""
    check_is_fitted(ttr, "regressor_")
    return f"{name}__regressor_", ttr.regressor_


def output_map(name, ttr):
    """``(a, c)``: the inverse target map ``y = z * a + c`` of a fitted
    ``TransformedTargetRegressor``, one entry per output."""
    from .step_maps import _affine_parts

    check_is_fitted(ttr, "transformer_")
    t = ttr.transformer_
    if isinstance(t, FunctionTransformer) and t.func is None:
        return np.ones(1), np.zeros(1)
    if not isinstance(t, _DIAGONAL):
        raise TypeError(
            f"{name!r} (TransformedTargetRegressor) transforms the target with "
            f"{type(t).__name__}, which is not affine: the network view needs "
            "an affine target map (StandardScaler, MinMaxScaler(clip=False), "
            "MaxAbsScaler, RobustScaler, or none)."
        )
    if isinstance(t, MinMaxScaler) and t.clip:
        raise TypeError(
            f"{name!r} (TransformedTargetRegressor): MinMaxScaler(clip=True) is "
            "not affine; use clip=False."
        )
    scale, shift = _affine_parts(name, t)  # z = y * scale + shift
    scale = np.asarray(scale, dtype=np.float64)
    if np.any(scale == 0) or not np.all(np.isfinite(scale)):
        raise ValueError(
            f"{name!r} (TransformedTargetRegressor): the target map has a zero or "
            "non-finite scale; its inverse is not defined."
        )
    return 1.0 / scale, -np.asarray(shift, dtype=np.float64) / scale


def fold_output(coefs, intercepts, a, c):
    """Last layer of ``coefs, intercepts`` composed with ``y = z * a + c``
    (new arrays; the model's own are not touched)."""
    coefs, intercepts = list(coefs), list(intercepts)
    W, b = np.asarray(coefs[-1], dtype=np.float64), np.asarray(intercepts[-1], float)
    if a.shape[0] not in (1, W.shape[1]):
        raise ValueError(
            f"The target map has {a.shape[0]} outputs but the regressor {W.shape[1]}."
        )
    coefs[-1] = W * a
    intercepts[-1] = b * a + c
    return coefs, intercepts
