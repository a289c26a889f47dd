"""The inputs of a perturbation: the user's ``X`` as attacks and certificates see it.

:class:`Inputs` is the one place that reads the user's ``X``: it keeps it in
the user's type and column order for the model (a DataFrame stays a
DataFrame), extracts the float coordinates an attack or a certificate moves
(the ``features``), and builds the network over those coordinates through the
model's input map (:meth:`Inputs.attack_space`). Attacks, certificates and the
empirical lower bound all stand on it.

Missing values. A NaN in a perturbed column is allowed when the model's
preprocessing imputes it by a per-column constant (``SimpleImputer``, alone
or inside a ``ColumnTransformer``): the entry is held at its imputed value
and only the row's observed columns move. :attr:`Inputs.missing` marks those
entries; the attack space then carries a per-row mask of movable
coordinates (:meth:`Inputs.attack_space`), which every attack engine and
the verification domain read, and :meth:`Inputs.assemble` puts the NaN back.
"""

import numpy as np
import scipy.sparse as sp
from sklearn.utils import check_array
from sklearn.utils.validation import check_is_fitted

from .._validation import resolve_features
from .view import ModelView, preprocessing_map

# A sparse X is densified whole for the attacks; beyond this many bytes it is
# an error rather than a silent memory blow-up.
MAX_DENSE_BYTES = 2**28


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
        Those columns as finite float64 (a copy); a missing entry holds a
        finite placeholder (see ``missing``).
    missing : ndarray of bool of shape (n_samples, len(columns)) or None
        The entries of ``Xs`` that are NaN in ``X`` (held fixed; the model's
        imputer fills them); None when there is none.
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
        self._model_inputs = None
        self.Xs = self._float_columns(columns)
        self.missing = None
        nan = np.isnan(self.Xs)
        if nan.any():
            if gradients:
                self._check_imputed(nan)
            self.missing = nan
            self.Xs[nan] = 0.0

    # -- reading X ---------------------------------------------------------
    def _check_type(self, X):
        """``X`` checked: a non-empty table, a sparse matrix small enough to densify
        or an array."""
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
        """Refuse a DataFrame whose columns differ from ``feature_names_in_``."""
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
        """Mask of the columns of ``X`` holding numbers (the others are categorical)."""
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
        """The ``columns`` of ``X`` as float64; an infinite value is an error
        (NaN is checked by the caller: it may be imputed)."""
        X = self.X
        if _is_dataframe(X):
            Xs = X.iloc[:, columns].to_numpy(dtype=np.float64, copy=True)
        elif sp.issparse(X):
            Xs = X.tocsc()[:, columns].toarray().astype(np.float64, copy=False)
        else:
            Xs = np.array(X[:, columns], dtype=np.float64)
        bad = np.isinf(Xs)
        if bad.any():
            raise ValueError(
                f"X contains infinity in column {self._label(columns, bad)}, "
                "which is to be perturbed or certified; no ball around it is "
                "finite. Leave the column out of `features` or fix the value."
            )
        return Xs

    def _label(self, columns, bad):
        """The name (or index) of the first column of ``bad`` (n, k)."""
        j = int(columns[np.flatnonzero(bad.any(axis=0))[0]])
        return repr(str(self.names[j])) if self.names is not None else str(j)

    def _check_imputed(self, nan):
        """Refuse NaN that the preprocessing does not impute: the model
        inputs must be finite wherever ``X`` has NaN in a moved column."""
        rows = np.flatnonzero(nan.any(axis=1))
        label = self._label(self.columns, nan)
        advice = (
            "Put a SimpleImputer (strategy mean, median, most_frequent or "
            "constant) in the pipeline before the model, impute X first, or "
            "leave the column out of `features`."
        )
        try:
            Z = self.model_inputs()
        except ValueError as exc:
            raise ValueError(
                f"X contains NaN in column {label} (first: row {rows[0]}), "
                f"which is to be perturbed or certified, and the model cannot "
                f"transform it ({exc}). {advice}"
            ) from exc
        if not np.all(np.isfinite(Z[rows])):
            raise ValueError(
                f"X contains NaN in column {label} (first: row {rows[0]}), "
                "which is to be perturbed or certified, and the model's "
                f"preprocessing does not impute it. {advice}"
            )

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
        sparse matrix of the same format); missing entries stay NaN."""
        X, cols = self.X, self.columns
        if self.missing is not None:
            held = self.missing if rows is None else self.missing[rows]
            Xs = np.where(held, np.nan, Xs)
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
        """The model inputs (after preprocessing) of ``X``, dense float64
        (computed once)."""
        if self._model_inputs is None:
            self._model_inputs = self.view.preprocess(self.X)
        return self._model_inputs

    def logits(self):
        """Raw outputs of the final network at ``X``, as ``predict`` sees them."""
        return np.asarray(self.view.network.forward(self.model_inputs()), np.float64)

    def attack_space(self):
        """``(network, Z, mask)``: the coordinates ``Z`` an attack moves and
        the network on them. When every raw column is perturbed through a
        fully affine pipeline and nothing is missing, ``Z`` is ``Xs`` and the
        network the folded one (``mask`` None). Otherwise ``Z = [Xs,
        z_rest]`` with ``z_rest = preprocess(X) - Xs @ A_S`` (what the held
        columns, the imputed entries and the offsets contribute), and
        ``mask`` marks the first ``len(columns)`` coordinates as the only
        movable ones: shape ``(n_coordinates,)``, or ``(n_samples,
        n_coordinates)`` when entries are missing (each row moves its
        observed columns only; the imputer's constant stays in ``z_rest``).
        Call :meth:`clip_bounds` first when there is a box: it moves the
        placeholders of missing entries into it."""
        view = self.view
        if self.missing is None and self.all_columns and view.input_map.is_complete:
            return view.folded(), self.Xs.copy(), None
        network, A_S = view.attack_network(self.columns)
        rest = self.model_inputs() - self.Xs @ A_S
        Z = np.hstack([self.Xs, rest])
        k = self.columns.size
        if self.missing is None:
            mask = np.zeros(Z.shape[1], bool)
            mask[:k] = True
        else:
            mask = np.zeros(Z.shape, bool)
            mask[:, :k] = ~self.missing
        return network, Z, mask

    def attack_box(self, box, mask):
        """The box of :meth:`clip_bounds` as the verification domain of
        ``mask`` takes it: over the movable coordinates (None or a shared
        mask), or over every attack-space coordinate (a per-row mask; the
        coordinates no row moves unbounded)."""
        if box is None or mask is None or mask.ndim == 1:
            return box
        k = self.columns.size
        pad = np.full(mask.shape[1] - k, np.inf)
        return (
            np.concatenate([np.broadcast_to(box[0], (k,)), -pad]),
            np.concatenate([np.broadcast_to(box[1], (k,)), pad]),
        )

    def mean_filled(self):
        """``Xs`` with each missing entry at its column's observed mean: a
        reference for spreads (default radii), to which a missing entry
        adds nothing; ``Xs`` itself when nothing is missing."""
        if self.missing is None:
            return self.Xs
        with np.errstate(invalid="ignore"):
            observed = np.where(self.missing, np.nan, self.Xs)
            count = (~self.missing).sum(axis=0)
            mean = np.where(count > 0, np.nansum(observed, axis=0) / count, 0.0)
        return np.where(self.missing, mean, self.Xs)

    def patterns(self):
        """``(patterns, which)``: the distinct rows of observed entries of
        ``Xs`` (bool, (n_patterns, len(columns))) and each sample's pattern;
        one all-True pattern when nothing is missing."""
        n, k = self.Xs.shape
        if self.missing is None:
            return np.ones((1, k), bool), np.zeros(n, np.intp)
        patterns, which = np.unique(~self.missing, axis=0, return_inverse=True)
        return patterns, which.reshape(-1)

    def clip_bounds(self, clip):
        """``clip`` restricted to the perturbed columns; see :func:`check_clip`.
        Missing entries are not checked, and their placeholders move into
        the box (a projection onto it must leave them where they are)."""
        Xs = self.Xs
        if self.missing is not None:
            Xs = np.where(self.missing, np.nan, Xs)
        box = check_clip(clip, Xs, self.columns, self.X.shape[1])
        if box is not None and self.missing is not None:
            low, high, _ = np.broadcast_arrays(box[0], box[1], Xs[0])
            inside = np.clip(0.0, low, high)
            self.Xs = np.where(self.missing, inside, self.Xs)
        return box


def _clip_bound(value, name, n_features):
    """One side of ``clip`` as a float64 scalar or ``(n_features,)`` array, checked."""
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
