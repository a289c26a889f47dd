"""Validation and small helpers shared by attacks, metrics and scorers.

Every public entry point validates its arguments here, early, so that errors
name the offending parameter before any model is evaluated.
"""

import numbers

import numpy as np
from sklearn.base import is_classifier
from sklearn.utils.validation import check_is_fitted, column_or_1d

from .._validation import check_samples

ATTACKS = ("auto", "apgd-ce", "apgd-dlr", "apgd-t", "square", "pgd", "fgsm", "noise")
# Attacks that need no network view ("auto" degrades to its black-box stage).
BLACK_BOX = ("auto", "square", "noise")
AUTO_STAGES = ("apgd-ce", "apgd-t", "square")
# Budgets of the default attack, chosen on benchmarks/bench_robustness.py.
DEFAULT_N_ITER = 50
DEFAULT_N_TARGETS = 9
# n_queries=None: Square Attack's budget when it is the attack (a model
# without a network view, or attack="square"), and when it only checks for
# gradient masking after APGD in attack="auto".
DEFAULT_N_QUERIES = None
N_QUERIES_BLACK_BOX = 1000
N_QUERIES_CHECK = 250


def check_eps(eps, *, allow_array=False):
    """Validate ``eps``: a finite non-negative number (or 1-D array of them).

    Returns a float, or a 1-D float array when ``allow_array`` and ``eps`` is
    array-like.
    """
    if allow_array and not np.isscalar(eps) and not isinstance(eps, numbers.Number):
        arr = np.asarray(eps, dtype=float)
        if arr.ndim != 1 or arr.size == 0:
            raise ValueError(
                f"eps must be a number or a non-empty 1-D array; got shape {arr.shape}."
            )
        if not np.all(np.isfinite(arr)) or np.any(arr < 0):
            raise ValueError(f"eps must be finite and >= 0; got {arr!r}.")
        return arr
    if isinstance(eps, bool) or not isinstance(eps, numbers.Real):
        raise TypeError(f"eps must be a real number; got {eps!r}.")
    eps = float(eps)
    if not np.isfinite(eps) or eps < 0:
        raise ValueError(f"eps must be a finite number >= 0; got {eps!r}.")
    return eps


def check_norm(norm):
    """Return ``2`` or ``np.inf``; anything else is a ``ValueError``."""
    if isinstance(norm, bool) or not isinstance(norm, numbers.Real):
        raise ValueError(f"norm must be 2 or np.inf; got {norm!r}.")
    if norm == 2:
        return 2
    if norm == np.inf:
        return np.inf
    raise ValueError(f"norm must be 2 or np.inf; got {norm!r}.")


def check_attack(attack):
    if attack not in ATTACKS:
        raise ValueError(f"attack must be one of {ATTACKS}; got {attack!r}.")
    return attack


def check_mask(mask, X):
    """Validate a boolean mask over the columns of ``X`` (None: all)."""
    if mask is None:
        return None
    mask = np.asarray(mask)
    if mask.dtype != bool or mask.shape != (X.shape[1],):
        raise ValueError(
            f"The feature mask must be a boolean array of shape ({X.shape[1]},); "
            f"got dtype {mask.dtype} and shape {mask.shape}."
        )
    return mask


def check_step_size(step_size):
    if step_size is None:
        return None
    if (
        isinstance(step_size, bool)
        or not isinstance(step_size, numbers.Real)
        or not np.isfinite(step_size)
        or step_size <= 0
    ):
        raise ValueError(f"step_size must be None or a number > 0; got {step_size!r}.")
    return float(step_size)


def make_rng(random_state):
    """A ``numpy.random.Generator`` from ``None``, an int, a RandomState or a
    Generator. An int gives the same draws on every call, which is what makes
    scorers reproducible across candidates, folds and workers."""
    if random_state is None or isinstance(random_state, numbers.Integral):
        return np.random.default_rng(random_state)
    if isinstance(random_state, np.random.Generator):
        return random_state
    if isinstance(random_state, np.random.RandomState):
        return np.random.default_rng(random_state.randint(np.iinfo(np.int32).max))
    raise ValueError(
        "random_state must be None, an int, a numpy RandomState or Generator; "
        f"got {random_state!r}."
    )


def check_X(estimator, X):
    """Fitted check, then a dense float64 *copy* of ``X`` (never the caller's)."""
    check_is_fitted(estimator)
    return check_samples(X, getattr(estimator, "n_features_in_", None), copy=True)


def check_clip(clip, X):
    """Validate ``clip=(low, high)`` against ``X``; returns broadcastable arrays."""
    if clip is None:
        return None
    try:
        low, high = clip
    except (TypeError, ValueError):
        raise ValueError(
            f"clip must be None or a pair (low, high); got {clip!r}."
        ) from None
    bounds = []
    for name, b in (("low", low), ("high", high)):
        b = np.asarray(b, dtype=np.float64)
        if b.ndim > 1 or (b.ndim == 1 and b.shape[0] != X.shape[1]):
            raise ValueError(
                f"clip {name} must be a scalar or have shape ({X.shape[1]},); "
                f"got shape {b.shape}."
            )
        if np.any(np.isnan(b)):
            raise ValueError(f"clip {name} contains NaN.")
        bounds.append(b)
    low, high = bounds
    if np.any(low > high):
        raise ValueError("clip low must be <= high in every feature.")
    outside = (X < low) | (X > high)
    if np.any(outside):
        rows = np.flatnonzero(outside.any(axis=1))
        raise ValueError(
            f"clip bounds exclude X: {rows.size} sample(s) lie outside "
            f"[low, high] (first: row {rows[0]}). Widen clip or clip X first."
        )
    return low, high


def check_target_length(y, X):
    y = np.asarray(y)
    if y.shape[0] != X.shape[0]:
        raise ValueError(
            f"y has {y.shape[0]} samples but X has {X.shape[0]}; "
            "they must have the same length."
        )
    return y


def encode_labels(estimator, y):
    """Indices of the labels ``y`` in ``estimator.classes_``."""
    classes = np.asarray(estimator.classes_)
    y = column_or_1d(y, warn=True)
    sorter = np.argsort(classes, kind="stable")
    pos = np.searchsorted(classes[sorter], y)
    pos = np.clip(pos, 0, classes.size - 1)
    known = classes[sorter][pos] == y
    if not np.all(known):
        unknown = np.unique(y[~known])
        raise ValueError(
            f"y contains labels not in the estimator's classes_: {unknown[:5]!r}."
        )
    return sorter[pos]


def check_classifier(estimator, func_name):
    if not is_classifier(estimator):
        raise ValueError(
            f"{func_name} needs a classifier; got {type(estimator).__name__}."
        )
    classes = getattr(estimator, "classes_", None)
    if classes is None or np.ndim(classes) != 1:
        raise ValueError(
            f"{func_name} supports single-output classifiers only "
            f"(1-D classes_); got {type(estimator).__name__}."
        )


def check_regressor(estimator, func_name):
    if is_classifier(estimator):
        raise ValueError(
            f"{func_name} needs a regressor; got the classifier "
            f"{type(estimator).__name__}."
        )


def check_sample_weight_length(sample_weight, X):
    if sample_weight is None:
        return None
    sample_weight = np.asarray(sample_weight, dtype=np.float64)
    if sample_weight.ndim != 1 or sample_weight.shape[0] != X.shape[0]:
        raise ValueError(
            f"sample_weight has shape {sample_weight.shape}; expected ({X.shape[0]},)."
        )
    return sample_weight
