"""Validation and small helpers shared by attacks, metrics and scorers.

Every public entry point validates its arguments here, early, so that errors
name the offending parameter before any model is evaluated. The user's ``X``
is read by :class:`sklip._core.inputs.Inputs`.
"""

import numbers

import numpy as np
from sklearn.base import is_classifier
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import check_is_fitted

from .._validation import check_sample_weight, check_samples
from ._params import (  # noqa: F401 (re-exported: the attack registry and checks)
    ATTACKS,
    AUTO_STAGES,
    BLACK_BOX,
    DEFAULT_N_ITER,
    DEFAULT_N_QUERIES,
    DEFAULT_N_TARGETS,
    N_QUERIES_BLACK_BOX,
    N_QUERIES_CHECK,
    check_attack,
    check_norm,
    check_step_size,
    make_rng,
)


def check_eps(eps, *, allow_array=False):
    """Validate ``eps``: a finite non-negative number (or 1-D array of them).

    Returns a float, or a 1-D float array when ``allow_array`` and ``eps`` is
    array-like.
    """
    if allow_array and not np.isscalar(eps) and not isinstance(eps, numbers.Number):
        try:
            arr = np.asarray(eps, dtype=float)
        except (TypeError, ValueError):
            raise ValueError(
                f"eps must be a number or a 1-D array of numbers; got {eps!r}."
            ) from None
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


def scaled_row_norms(A, norm=2):
    """Row norms that neither overflow nor underflow: rows whose sum of
    squares leaves the safe range are recomputed scaled by their largest
    entry (a huge perturbation's L2 norm stays finite, a tiny one positive)."""
    A = np.asarray(A, dtype=np.float64)
    if norm == np.inf:
        return np.abs(A).max(axis=1, initial=0.0)
    with np.errstate(over="ignore", under="ignore"):
        sq = np.einsum("ij,ij->i", A, A)
    bad = ~((sq > 1e-290) & (sq < 1e290))
    out = np.sqrt(sq)
    if np.any(bad):
        R = A[bad]
        top = np.abs(R).max(axis=1, initial=0.0)
        S = R / np.where(top > 0, top, 1.0)[:, None]
        out[bad] = top * np.sqrt(np.einsum("ij,ij->i", S, S))
    return out


def check_target_length(y, X):
    """``y`` as an array with one entry per row of ``X``."""
    n = X.shape[0]
    if y is None:
        raise ValueError("y is required; got None.")
    if np.ndim(y) == 0:
        raise ValueError(f"y must be array-like of shape ({n},); got the scalar {y!r}.")
    y = np.asarray(y)
    if y.shape[0] != n:
        raise ValueError(
            f"y has {y.shape[0]} samples but X has {n}; they must have the same length."
        )
    return y


def check_labels(estimator, y, X):
    """Class labels ``y`` (1-D, one per row of ``X``) as indices into
    ``estimator.classes_``."""
    y = check_target_length(y, X)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim == 2:
        _refuse_multi_output(type_of_target(y), y.shape)
    if y.ndim != 1:
        raise ValueError(
            "y must be 1-D (one label per sample) for a single-output "
            f"classifier; got shape {y.shape}."
        )
    return encode_labels(estimator, y)


_USE_SINGLE_OUTPUT = (
    "the robustness functions score single-output classifiers. Pass 1-D "
    "labels, or score each output's classifier on its own column (e.g. the "
    "estimators_ of a sklearn.multioutput.MultiOutputClassifier)."
)


def _refuse_multi_output(kind, shape):
    """Raise for a multilabel or multi-output classification target."""
    if kind == "multilabel-indicator":
        raise ValueError(
            f"multilabel targets are not supported (y has shape {shape}, one "
            f"0/1 column per label): {_USE_SINGLE_OUTPUT}"
        )
    if kind == "multiclass-multioutput":
        raise ValueError(
            f"multi-output targets are not supported (y has shape {shape}, "
            f"one label column per output): {_USE_SINGLE_OUTPUT}"
        )


def check_targets(y, X):
    """Finite float regression targets of shape (n_samples, n_outputs)."""
    y = check_target_length(y, X)
    try:
        T = np.asarray(y, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError("y must hold numbers (regression targets).") from None
    if not np.all(np.isfinite(T)):
        rows = np.flatnonzero(~np.isfinite(T.reshape(T.shape[0], -1)).all(axis=1))
        raise ValueError(
            f"y contains NaN or infinity ({rows.size} sample(s), first: row "
            f"{rows[0]}); every target must be finite."
        )
    return T


def attack_targets(estimator, X, y):
    """The targets an attack on ``X`` works against, and the model's own
    predictions (classifiers; None for regressors).

    Labels are checked against ``classes_`` (single-output classifiers),
    regression targets for finiteness; ``y=None`` stays None.
    """
    if y is not None:
        y = check_target_length(y, X)
    if not is_classifier(estimator):
        return (None if y is None else check_targets(y, X)), None
    # The model's own predictions, decided as predict decides (ties); their
    # shape tells single-output models (1-D labels) from others.
    own = estimator.predict(X)
    if np.ndim(own) == 1 and y is not None:
        check_labels(estimator, y, X)
        y = y.reshape(-1)
    return y, own


def encode_labels(estimator, y):
    """Indices of the labels ``y`` in ``estimator.classes_``."""
    classes = np.asarray(estimator.classes_)
    y = np.asarray(y)
    try:
        sorter = np.argsort(classes, kind="stable")
        pos = np.searchsorted(classes[sorter], y)
        pos = np.clip(pos, 0, classes.size - 1)
        known = classes[sorter][pos] == y
    except TypeError:
        # Labels of mixed types (say ints and strings): compare one by one.
        index = {c: i for i, c in enumerate(classes.tolist())}
        unknown = [v for v in y.tolist() if v not in index]
        if unknown:
            raise ValueError(
                f"y contains labels not in the estimator's classes_ "
                f"{classes.tolist()!r}: {unknown[:5]!r}."
            ) from None
        return np.array([index[v] for v in y.tolist()], dtype=np.intp)
    known = np.asarray(known, dtype=bool)
    if known.shape != y.shape:
        known = np.zeros(y.shape, bool)
    if not np.all(known):
        unknown = np.unique(y[~known].astype(str))
        raise ValueError(
            f"y contains labels not in the estimator's classes_ "
            f"{classes.tolist()!r}: {unknown[:5].tolist()!r}."
        )
    return sorter[pos]


def check_classifier(estimator, func_name):
    """Refuse anything but a fitted single-output classifier, naming ``func_name``."""
    if not is_classifier(estimator):
        raise ValueError(
            f"{func_name} needs a classifier; got {type(estimator).__name__}."
        )
    check_is_fitted(estimator)
    final = estimator.steps[-1][1] if hasattr(estimator, "steps") else estimator
    binarizer = getattr(final, "_label_binarizer", None)
    if getattr(binarizer, "y_type_", "").startswith("multilabel"):
        raise ValueError(
            f"{func_name}: multilabel classifiers are not supported "
            f"({type(final).__name__} was fitted on multilabel targets): the "
            "robustness functions score single-output classifiers. Fit one "
            "classifier per label column (e.g. "
            "sklearn.multioutput.MultiOutputClassifier) and score each on its "
            "1-D labels."
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
    check_is_fitted(estimator)


def check_X(estimator, X):
    """Fitted check, then a dense float64 *copy* of ``X`` (never the caller's).

    For callers that need plain arrays (the network's own inputs); the public
    functions read ``X`` through :class:`Inputs`, which keeps the user's type.
    """
    check_is_fitted(estimator)
    return check_samples(X, getattr(estimator, "n_features_in_", None), copy=True)


def check_sample_weight_length(sample_weight, X):
    """:func:`sklip._validation.check_sample_weight` for the rows of ``X``."""
    return check_sample_weight(sample_weight, X.shape[0])
