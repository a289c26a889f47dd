"""Validation and small helpers shared by attacks, metrics and scorers.

Every public entry point validates its arguments here, early, so that errors
name the offending parameter before any model is evaluated. :class:`Inputs`
is the one place that reads the user's ``X``: it keeps it in the user's type
and column order for the model (a DataFrame stays a DataFrame), and extracts
the float coordinates an attack or a certificate moves (the ``features``).
"""

import numbers

import numpy as np
import scipy.sparse as sp
from sklearn.base import is_classifier
from sklearn.utils import check_array
from sklearn.utils.validation import check_is_fitted

from .._validation import (
    check_sample_weight,
    check_samples,
    check_seed,
    resolve_features,
)
from ..lipschitz._view import ModelView, preprocessing_map

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
# A sparse X is densified whole for the attacks; beyond this many bytes it is
# an error rather than a silent memory blow-up.
MAX_DENSE_BYTES = 2**28


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
    random_state = check_seed(random_state)
    if isinstance(random_state, np.random.Generator):
        return random_state
    if isinstance(random_state, np.random.RandomState):
        return np.random.default_rng(random_state.randint(np.iinfo(np.int32).max))
    return np.random.default_rng(random_state)


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


def _is_dataframe(X):
    return hasattr(X, "columns") and hasattr(X, "iloc") and hasattr(X, "dtypes")


def _numeric_kind(dtype):
    return getattr(dtype, "kind", "O") in "iuf"


class Inputs:
    """The user's ``X`` as the robustness functions see it.

    Parameters
    ----------
    estimator : fitted estimator
    X : array-like, DataFrame or sparse matrix of shape (n_samples, n_features)
        Raw inputs, handed to the model unchanged (type, column order).
    features : str, int, array-like or None
        Columns to perturb/certify (see
        :func:`sklip._validation.resolve_features`); None: every column but
        the categorical ones (non-numeric, or an encoder's input).
    gradients : bool
        Whether the caller needs the network view (gradient attacks,
        certificates): then every selected column must enter the model
        affinely. The black-box ``noise`` attack only needs ``predict``.

    Attributes
    ----------
    X : ndarray, DataFrame or sparse matrix
        The validated raw inputs.
    columns : ndarray of int
        Raw columns moved by attacks and certified.
    Xs : ndarray of shape (n_samples, len(columns))
        Those columns as finite float64 (a copy).
    view : ModelView or None
    """

    def __init__(self, estimator, X, features=None, *, gradients=True):
        check_is_fitted(estimator)
        self.estimator = estimator
        self.X = self._check_type(X)
        n, d = self.X.shape
        expected = getattr(estimator, "n_features_in_", None)
        if expected is not None and d != expected:
            raise ValueError(
                f"X has {d} features, but the model is expecting {expected} "
                "features as input."
            )
        self._check_names()
        self.view, input_map = None, None
        if gradients:
            self.view = ModelView(estimator)
            input_map = self.view.input_map
        else:
            input_map = preprocessing_map(estimator)
        numeric = self._numeric_columns()
        self.names = self._names()
        if features is None:
            keep = numeric.copy()
            if input_map is not None:
                for j, (kind, _, _) in input_map.held.items():
                    if kind == "categorical":
                        keep[j] = False
            if not keep.any():
                raise ValueError(
                    "Every column of X is categorical (non-numeric or encoded): "
                    "there is nothing to perturb or certify."
                )
            columns = np.flatnonzero(keep)
        else:
            columns = resolve_features(features, d, self.names)
            bad = [j for j in columns if not numeric[j]]
            if bad:
                label = self.names[bad[0]] if self.names is not None else bad[0]
                raise ValueError(
                    f"features: column {label!r} is not numeric and cannot be "
                    "perturbed; leave it out of `features` to hold it fixed."
                )
        if input_map is not None:
            if gradients:
                input_map.check_columns(columns, self.names)
            else:
                # Black box: any numeric column may move, except an encoder's.
                cat = {j: r for j, r in input_map.held.items() if r[0] == "categorical"}
                for j in columns:
                    if int(j) in cat:
                        input_map.check_columns([j], self.names)
        self.columns = columns
        self.Xs = self._float_columns(columns)

    # -- reading X ---------------------------------------------------------
    def _check_type(self, X):
        if X is None:
            raise ValueError("X is required; got None.")
        if _is_dataframe(X):
            if X.ndim != 2 or X.shape[0] == 0 or X.shape[1] == 0:
                raise ValueError(
                    f"X must be a non-empty 2-D table; got shape {X.shape}."
                )
            return X
        if sp.issparse(X):
            X = check_array(X, accept_sparse=("csr", "csc", "coo"), dtype=None)
            need = X.shape[0] * X.shape[1] * 8
            if need > MAX_DENSE_BYTES:
                raise ValueError(
                    f"Sparse X of shape {X.shape} would take {need / 2**20:.0f} "
                    f"MiB as a dense array (limit {MAX_DENSE_BYTES / 2**20:.0f} "
                    "MiB): attacks and certificates densify it. Pass fewer "
                    "rows at a time."
                )
            return X
        return check_array(
            X, dtype=None, ensure_all_finite=False, input_name="X", copy=False
        )

    def _check_names(self):
        fitted = getattr(self.estimator, "feature_names_in_", None)
        if fitted is None or not _is_dataframe(self.X):
            return
        given = [str(c) for c in self.X.columns]
        if given != [str(c) for c in fitted]:
            raise ValueError(
                "The feature names should match those that were passed during "
                f"fit, in the same order: the model expects {list(fitted)!r}, "
                f"X has {given!r}."
            )

    def _names(self):
        if _is_dataframe(self.X):
            return np.asarray([str(c) for c in self.X.columns], dtype=object)
        names = getattr(self.estimator, "feature_names_in_", None)
        return None if names is None else np.asarray(names, dtype=object)

    def _numeric_columns(self):
        d = self.X.shape[1]
        if _is_dataframe(self.X):
            return np.array([_numeric_kind(t) for t in self.X.dtypes])
        if sp.issparse(self.X) or self.X.dtype.kind in "iuf":
            return np.ones(d, bool)
        if self.X.dtype.kind != "O":
            return np.zeros(d, bool)
        out = np.ones(d, bool)
        for j in range(d):
            try:
                self.X[:, j].astype(np.float64)
            except (TypeError, ValueError):
                out[j] = False
        return out

    def _float_columns(self, columns):
        X = self.X
        if _is_dataframe(X):
            Xs = X.iloc[:, columns].to_numpy(dtype=np.float64, copy=True)
        elif sp.issparse(X):
            Xs = X.tocsc()[:, columns].toarray().astype(np.float64, copy=False)
        else:
            Xs = np.array(X[:, columns], dtype=np.float64)
        bad = ~np.isfinite(Xs)
        if bad.any():
            j = int(columns[np.flatnonzero(bad.any(axis=0))[0]])
            label = self.names[j] if self.names is not None else j
            raise ValueError(
                f"X contains NaN or infinity in column {label!r}, which is to "
                "be perturbed or certified; impute it first or leave it out of "
                "`features`."
            )
        return Xs

    @property
    def n_samples(self):
        return self.X.shape[0]

    @property
    def all_columns(self):
        return self.columns.size == self.X.shape[1]

    # -- writing X ---------------------------------------------------------
    def assemble(self, Xs, rows=None):
        """``X`` (its ``rows`` only, when given) with the perturbed columns
        replaced by ``Xs``, in the type the user gave (DataFrame, ndarray,
        sparse matrix of the same format)."""
        X, cols = self.X, self.columns
        if rows is not None:
            if _is_dataframe(X):
                X = X.iloc[rows]
            elif sp.issparse(X):
                X = X.tocsr()[rows].asformat(X.format)
            else:
                X = X[rows]
        if _is_dataframe(X):
            out = X.copy()
            for k, j in enumerate(cols):
                out.isetitem(int(j), Xs[:, k])
            return out
        if sp.issparse(X):
            out = X.toarray().astype(np.float64)
            out[:, cols] = Xs
            return sp.csr_matrix(out).asformat(X.format)
        out = X.astype(np.float64) if X.dtype.kind in "iufb" else X.copy()
        out[:, cols] = Xs
        return out

    # -- the network ---------------------------------------------------------
    def model_inputs(self):
        """The model inputs (after preprocessing) of ``X``, dense float64."""
        return self.view.preprocess(self.X)

    def logits(self):
        """Raw outputs of the final network at ``X``, as ``predict`` sees them."""
        return np.asarray(self.view.network.forward(self.model_inputs()), np.float64)

    def attack_space(self):
        """``(network, Z, mask)``: the coordinates ``Z`` an attack moves and
        the network on them. When every raw column is perturbed through a
        fully affine pipeline, ``Z`` is ``Xs`` and the network the folded
        one (``mask`` None). Otherwise ``Z = [Xs, z_rest]`` with
        ``z_rest = preprocess(X) - Xs @ A_S`` (what the held columns and the
        offsets contribute), and ``mask`` marks the first ``len(columns)``
        coordinates as the only movable ones."""
        view = self.view
        if self.all_columns and view.input_map.is_complete:
            return view.folded(), self.Xs.copy(), None
        network, A_S = view.attack_network(self.columns)
        rest = self.model_inputs() - self.Xs @ A_S
        Z = np.hstack([self.Xs, rest])
        mask = np.zeros(Z.shape[1], bool)
        mask[: self.columns.size] = True
        return network, Z, mask

    def clip_bounds(self, clip):
        """``clip`` restricted to the perturbed columns; see :func:`check_clip`."""
        return check_clip(clip, self.Xs, self.columns, self.X.shape[1])


def _clip_bound(value, name, n_features):
    if value is None or isinstance(value, (str, bytes)):
        raise ValueError(
            f"clip {name} must be a number or an array of shape ({n_features},); "
            f"got {value!r}. Use -np.inf / np.inf for no bound."
        )
    try:
        b = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(
            f"clip {name} must be a number or an array of shape ({n_features},); "
            f"got {value!r}."
        ) from None
    if b.ndim > 1 or (b.ndim == 1 and b.shape[0] != n_features):
        raise ValueError(
            f"clip {name} must be a scalar or have shape ({n_features},); "
            f"got shape {b.shape}."
        )
    if np.any(np.isnan(b)):
        raise ValueError(f"clip {name} contains NaN.")
    return b


def check_clip(clip, Xs, columns=None, n_features=None):
    """Validate ``clip=(low, high)`` (scalars or arrays over all raw columns);
    returns ``(low, high)`` over the perturbed ``columns``, or None."""
    if clip is None:
        return None
    n_features = Xs.shape[1] if n_features is None else n_features
    try:
        low, high = clip
    except (TypeError, ValueError):
        raise ValueError(
            f"clip must be None or a pair (low, high); got {clip!r}."
        ) from None
    low = _clip_bound(low, "low", n_features)
    high = _clip_bound(high, "high", n_features)
    if columns is not None:
        low = low if low.ndim == 0 else low[columns]
        high = high if high.ndim == 0 else high[columns]
    if np.any(low > high):
        raise ValueError("clip low must be <= high in every feature.")
    outside = (Xs < low) | (Xs > high)
    if np.any(outside):
        rows = np.flatnonzero(outside.any(axis=1))
        raise ValueError(
            f"clip bounds exclude X: {rows.size} sample(s) lie outside "
            f"[low, high] (first: row {rows[0]}). Widen clip or clip X first."
        )
    return low, high


def check_target_length(y, X):
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
    if y.ndim != 1:
        raise ValueError(
            "y must be 1-D (one label per sample) for a single-output "
            f"classifier; got shape {y.shape}."
        )
    return encode_labels(estimator, y)


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
    if not is_classifier(estimator):
        raise ValueError(
            f"{func_name} needs a classifier; got {type(estimator).__name__}."
        )
    check_is_fitted(estimator)
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
