"""The input map: the affine map from the user's raw inputs to a network's inputs.

A Lipschitz constant, a perturbation radius and a penalty mean something only
with the input metric they refer to. Users think in *raw* units (the columns
they pass to ``fit``/``predict``); a network inside a pipeline sees *model*
units (after scaling, PCA, ...). When the preprocessing is affine,
``z = x @ A + c``, the network seen from the raw inputs is the same chain with
its first layer folded: ``W_1' = A W_1`` and ``b_1' = c W_1 + b_1``.

Pipelines over mixed data are affine only in some raw columns (a
``ColumnTransformer`` scaling numeric columns and one-hot encoding others):
then ``z = x_S @ A_S + g(x_F)``, with ``S`` the raw columns that enter
affinely and ``g`` the contribution of the others (held fixed, computed by the
fitted transformers themselves). A restriction to a set of raw columns
(``features=``) selects rows of ``A``.

This module is the one place that knows that map. Three consumers read it:

- the network view (:func:`sklip.lipschitz.as_network`), so certified bounds
  and attacks measure distances between raw inputs;
- the training engine, so a penalty acts on the first layer *as seen from the
  raw inputs* (``sigma_max(A W_1)``, ``||A W_1||_F``) when the estimator is
  told the map (:class:`sklip.pipeline.Pipeline` hands it over);
- certified training, whose margins and budgets are in raw units.

``A`` is kept as a 1-D array when the map is diagonal (per-feature scalers),
which keeps wide inputs cheap, and as a 2-D ``(n_in, n_out)`` array otherwise.
Readable steps: affine transformers, feature selectors, ``SimpleImputer``
(identity on observed values), ``ColumnTransformer`` and nested pipelines of
those; encoders hold their columns as categorical; any other step holds its
columns as non-affine (an error only when someone asks to move them).
"""

import contextlib
import contextvars

import numpy as np
from sklearn.compose import ColumnTransformer
from sklearn.decomposition import PCA, TruncatedSVD
from sklearn.feature_selection import SelectorMixin
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import (
    FunctionTransformer,
    MaxAbsScaler,
    MinMaxScaler,
    OneHotEncoder,
    OrdinalEncoder,
    RobustScaler,
    StandardScaler,
    TargetEncoder,
)
from sklearn.utils.validation import check_is_fitted

AFFINE_STEPS = (
    StandardScaler,
    MinMaxScaler,
    MaxAbsScaler,
    RobustScaler,
    PCA,
    TruncatedSVD,
)
AFFINE_STEP_NAMES = (
    ", ".join(cls.__name__ for cls in AFFINE_STEPS) + " (MinMaxScaler with clip=False)"
)
# Read exactly, though not affine in general: selectors keep columns, an
# imputer is the identity on observed values.
_READABLE = (SelectorMixin, SimpleImputer, ColumnTransformer, Pipeline)
# Their input columns are categorical: held fixed, never perturbed.
ENCODERS = (OneHotEncoder, OrdinalEncoder, TargetEncoder)
SUPPORTED_STEP_NAMES = (
    AFFINE_STEP_NAMES
    + ", feature selectors (VarianceThreshold, SelectKBest, SelectFromModel, "
    "...), SimpleImputer (missing_values=NaN; the identity on observed values), "
    "ColumnTransformer of those, 'passthrough' and 'drop', nested Pipelines; "
    "encoders (OneHotEncoder, OrdinalEncoder, TargetEncoder) hold their "
    "columns fixed"
)


class InputMap:
    """The affine part of the map from raw inputs to model inputs.

    For preprocessing that is affine in every raw column, the map is
    ``x -> x @ A + c``. Pipelines over mixed data (a ``ColumnTransformer``
    scaling numeric columns and one-hot encoding others) are affine only in
    *some* raw columns: the model input is ``z = x[:, S] @ A_S + g(x_F)``,
    where ``S`` are the raw columns that enter affinely and ``g`` is what the
    other, held, columns ``F`` contribute (computed by running the fitted
    transformers). The map records which raw column each row of ``A`` belongs
    to and why a held column is held, so that

    - certified bounds over a set of raw columns use the network whose first
      layer is ``A_S W_1`` (sound for any value of the held columns);
    - attacks move only the raw columns of ``S``;
    - a penalty can act on ``A W_1``, where ``A`` also has one unit row per
      model-input column produced by a non-affine step (an encoder's output,
      penalised in its own units).

    Parameters
    ----------
    A : ndarray of shape (n_in,) or (n_in, n_out)
        Linear part: a diagonal given by its entries (1-D), or a matrix.
        Row ``i`` belongs to raw column ``raw_rows[i]``.
    c : ndarray of shape (n_out,)
        Offset (the model input at ``x = 0`` when every column is affine).
    raw_rows : ndarray of shape (n_in,), default=None
        Raw column of each row of ``A``, or ``-1`` for a row that stands for
        a model-input column produced by a non-affine step. None: row ``i`` is
        raw column ``i``.
    n_raw : int, default=None
        Number of raw columns; None: ``n_in``.
    held : dict, default=None
        Raw columns that do not enter affinely, mapped to
        ``(kind, step_name, reason)`` with kind ``"categorical"`` (an
        encoder's input) or ``"nonaffine"``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklip._input_map import InputMap
    >>> m = InputMap(np.array([2.0, 0.5]), np.array([1.0, 0.0]))
    >>> m.transform(np.array([[1.0, 4.0]]))
    array([[3., 2.]])
    >>> W = np.ones((2, 3))
    >>> m.matmul(W)
    array([[2. , 2. , 2. ],
           [0.5, 0.5, 0.5]])
    """

    def __init__(self, A, c, *, raw_rows=None, n_raw=None, held=None):
        # float32 is kept (astype) so that training in float32 stays float32.
        dtype = np.float32 if np.asarray(A).dtype == np.float32 else np.float64
        self.A = np.asarray(A, dtype=dtype)
        self.c = np.asarray(c, dtype=dtype)
        if self.A.ndim not in (1, 2):
            raise ValueError(f"A must be 1-D or 2-D; got shape {self.A.shape}.")
        if self.c.shape != (self.n_out,):
            raise ValueError(
                f"c must have shape ({self.n_out},); got shape {self.c.shape}."
            )
        n_in = self.A.shape[0]
        self.raw_rows = (
            np.arange(n_in) if raw_rows is None else np.asarray(raw_rows, np.intp)
        )
        self.n_raw = n_in if n_raw is None else int(n_raw)
        self.held = {} if held is None else dict(held)

    @classmethod
    def identity(cls, n_features):
        """The map of no preprocessing: model units are raw units."""
        return cls(np.ones(n_features), np.zeros(n_features))

    @classmethod
    def from_steps(cls, steps, n_features=None):
        """The map of fitted transformers ``[(name, step), ...]`` applied in turn.

        Understands affine transformers, feature selectors, ``SimpleImputer``
        (the identity on observed values), ``ColumnTransformer`` and nested
        pipelines of those; encoders (``OneHotEncoder``, ``OrdinalEncoder``,
        ``TargetEncoder``) hold their input columns as categorical, any other
        transformer holds its input columns as non-affine.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            If a step is not fitted.
        TypeError
            If a non-affine step's output width cannot be known.
        """
        result = None if n_features is None else cls.identity(n_features)
        for name, step in steps:
            n_in = result.n_out if result is not None else None
            step_map = _step_map(name, step, n_in)
            result = step_map if result is None else result.then(step_map)
        return result

    @property
    def n_in(self):
        """Number of rows of ``A`` (raw columns entering affinely, plus one
        per model-input column produced by a non-affine step)."""
        return self.A.shape[0]

    @property
    def n_out(self):
        """Number of model input features."""
        return self.A.shape[0] if self.A.ndim == 1 else self.A.shape[1]

    @property
    def is_diagonal(self):
        """Whether the linear part is a per-feature scaling."""
        return self.A.ndim == 1

    @property
    def is_complete(self):
        """Whether the map is ``x -> x @ A + c`` in every raw column (rows of
        ``A`` are the raw columns in order; nothing is held)."""
        return (
            not self.held
            and self.n_in == self.n_raw
            and np.array_equal(self.raw_rows, np.arange(self.n_raw))
        )

    def dense(self):
        """``A`` as a 2-D array."""
        return np.diag(self.A) if self.is_diagonal else self.A

    def then(self, other):
        """The map ``x -> other(self(x))``.

        A raw column stays affine when every model-input column it moves is
        an affine input of ``other``; otherwise it is held, for the reason
        ``other`` gives.
        """
        if self.n_out != other.n_raw:
            raise ValueError(
                f"Cannot compose maps with {self.n_out} outputs and "
                f"{other.n_raw} inputs."
            )
        if other.is_complete:
            A1, A2 = self.A, other.A
            if A2.ndim == 1:
                A = A1 * A2
            elif A1.ndim == 1:
                A = A1[:, None] * A2
            else:
                A = A1 @ A2
            return InputMap(
                A,
                other.transform(self.c[None, :])[0],
                raw_rows=self.raw_rows,
                n_raw=self.n_raw,
                held=self.held,
            )
        A1 = self.dense()
        affine_in = other.raw_rows >= 0
        A2 = np.zeros((other.n_raw, other.n_out))
        A2[other.raw_rows[affine_in]] = other.dense()[affine_in]
        entering = np.zeros(other.n_raw, bool)
        entering[other.raw_rows[affine_in]] = True
        feeds_held = A1[:, ~entering] != 0
        keep = ~feeds_held.any(axis=1)
        held = dict(self.held)
        blocked_at = np.flatnonzero(~entering)
        for row in np.flatnonzero(~keep):
            raw = int(self.raw_rows[row])
            if raw >= 0:
                first = int(blocked_at[np.argmax(feeds_held[row])])
                held[raw] = other.held.get(
                    first, ("nonaffine", "?", "not affine in this column")
                )
        virtual = ~affine_in
        return InputMap(
            np.vstack([A1[keep] @ A2, other.dense()[virtual]]),
            self.c @ A2 + other.c,
            raw_rows=np.concatenate(
                [self.raw_rows[keep], np.full(int(virtual.sum()), -1)]
            ),
            n_raw=self.n_raw,
            held=held,
        )

    def transform(self, X):
        """``X @ A + c``: raw inputs to model inputs (complete maps only)."""
        self._require_complete()
        return self.matmul_rows(X) + self.c

    def matmul_rows(self, X):
        """``X @ A`` for row vectors ``X`` of shape (n, n_in)."""
        return X * self.A if self.is_diagonal else X @ self.A

    def matmul(self, W):
        """``A @ W`` for ``W`` of shape (n_out, k) or (n_out,): a layer (or a
        vector) of the model expressed on the rows of the map."""
        if not self.is_diagonal:
            return self.A @ W
        return self.A[:, None] * W if W.ndim == 2 else self.A * W

    def rmatmul(self, G):
        """``A^T @ G`` for ``G`` of shape (n_in, k) or (n_in,): the pull-back
        of a gradient on the rows of the map to the model inputs."""
        if not self.is_diagonal:
            return self.A.T @ G
        return self.A[:, None] * G if G.ndim == 2 else self.A * G

    def fold(self, W, b):
        """First layer ``(W, b)`` seen from the raw inputs: ``(A W, c W + b)``."""
        self._require_complete()
        return self.matmul(W), self.c @ W + b

    def gram(self):
        """``A^T A``: a 1-D array when diagonal, else (n_out, n_out)."""
        return self.A * self.A if self.is_diagonal else self.A.T @ self.A

    def rows_of(self, columns):
        """``A_S``: the rows of the raw ``columns`` (in that order), shape
        (len(columns), n_out).

        Raises
        ------
        ValueError
            If a column is categorical (names the column and the step).
        TypeError
            If a column enters through a non-affine step (names the step).
        """
        columns = np.asarray(columns, dtype=np.intp)
        self.check_columns(columns)
        where = np.full(self.n_raw, -1)
        raw = self.raw_rows >= 0
        where[self.raw_rows[raw]] = np.flatnonzero(raw)
        rows = where[columns]
        if self.is_diagonal:
            A_S = np.zeros((columns.size, self.n_out))
            A_S[np.arange(columns.size), rows] = self.A[rows]
            return A_S
        # A raw column with no row (dropped by every step) moves nothing.
        A_S = np.zeros((columns.size, self.n_out))
        present = rows >= 0
        A_S[present] = self.A[rows[present]]
        return A_S

    def check_columns(self, columns, names=None):
        """Raise if one of the raw ``columns`` cannot be moved affinely."""
        for j in np.asarray(columns, dtype=np.intp):
            if int(j) in self.held:
                raise held_column_error(int(j), self.held[int(j)], names)

    def _require_complete(self):
        if not self.is_complete:
            j = min(self.held) if self.held else None
            if j is not None:
                raise held_column_error(j, self.held[j])
            raise TypeError(
                "The preprocessing is not affine in every raw column; pass "
                "features= to select the columns to perturb or certify."
            )

    def astype(self, dtype):
        """A copy with ``A`` and ``c`` cast to ``dtype``."""
        return InputMap(
            self.A.astype(dtype),
            self.c.astype(dtype),
            raw_rows=self.raw_rows,
            n_raw=self.n_raw,
            held=self.held,
        )

    def __repr__(self):
        kind = "diagonal" if self.is_diagonal else "dense"
        extra = (
            "" if self.is_complete else f", n_raw={self.n_raw}, held={len(self.held)}"
        )
        return f"InputMap({kind}, n_in={self.n_in}, n_out={self.n_out}{extra})"


def held_column_error(column, reason, names=None):
    """The error for moving a held raw column: ``ValueError`` for a
    categorical one, ``TypeError`` (an unsupported step) otherwise."""
    kind, step_name, why = reason
    label = repr(names[column]) if names is not None else f"{column}"
    if kind == "categorical":
        return ValueError(
            f"Column {label} is categorical (encoded by step {step_name!r}, "
            f"{why}) and cannot be perturbed or certified; leave it out of "
            "`features` to hold it fixed."
        )
    return TypeError(
        f"Column {label} enters the model through step {step_name!r} ({why}), "
        "which is not affine, so it cannot be perturbed by gradients or "
        f"certified. Supported steps: {SUPPORTED_STEP_NAMES}. Pass `features` "
        "without this column to hold it fixed."
    )


# ---------------------------------------------------------------------------
# Reading fitted transformers.


def _is_passthrough(step):
    # A fitted ColumnTransformer stores remainder="passthrough" as an
    # identity FunctionTransformer.
    if isinstance(step, FunctionTransformer):
        return step.func is None
    return step is None or (isinstance(step, str) and step == "passthrough")


def _is_drop(step):
    return isinstance(step, str) and step == "drop"


def _is_nan(value):
    try:
        return bool(np.isnan(value))
    except TypeError:
        return value is None


def check_mappable_step(name, step):
    """Raise a ``TypeError`` naming ``step`` unless the input map can read it.

    Checks types only (the step may be unfitted), so a pipeline can refuse
    preprocessing it cannot hand over before fitting anything. Encoders are
    accepted: their columns are held, their outputs penalised in their own
    units.
    """
    if _is_passthrough(step) or _is_drop(step):
        return
    if isinstance(step, Pipeline):
        for sub_name, sub in step.steps:
            check_mappable_step(f"{name}__{sub_name}", sub)
        return
    if isinstance(step, ColumnTransformer):
        parts = list(step.transformers)
        if not _is_drop(step.remainder):
            parts.append(("remainder", step.remainder, None))
        for sub_name, sub, _ in parts:
            check_mappable_step(f"{name}__{sub_name}", sub)
        return
    if isinstance(step, MinMaxScaler) and step.clip:
        raise TypeError(
            f"Pipeline step {name!r} is MinMaxScaler(clip=True), which is not "
            f"affine; use clip=False. Supported steps: {SUPPORTED_STEP_NAMES}."
        )
    if not isinstance(step, AFFINE_STEPS + _READABLE + ENCODERS):
        raise TypeError(
            f"Pipeline step {name!r} ({type(step).__name__}) is not an affine "
            f"transformer that can be folded into the network. Supported "
            f"steps: {SUPPORTED_STEP_NAMES}."
        )


def _held_map(name, step, kind, reason, n_in, n_out):
    """All inputs held; each output becomes a row of its own (``raw_rows=-1``)."""
    if n_in is None:
        n_in = step.n_features_in_
    if n_out is None:
        try:
            n_out = len(step.get_feature_names_out())
        except Exception as exc:  # any failure means: width unknown
            raise TypeError(
                f"Pipeline step {name!r} ({type(step).__name__}) is not an "
                "affine transformer that can be folded into the network, and "
                f"its output width is unknown. Supported steps: "
                f"{SUPPORTED_STEP_NAMES}."
            ) from exc
    held = {j: (kind, name, reason) for j in range(n_in)}
    return InputMap(
        np.eye(n_out),
        np.zeros(n_out),
        raw_rows=np.full(n_out, -1),
        n_raw=n_in,
        held=held,
    )


def _selection_map(n_in, keep, n_extra=0):
    """Keep the columns ``keep`` (bool) of ``n_in`` and append ``n_extra``
    outputs that are constant 0 (a missing indicator on observed values)."""
    A = np.eye(n_in)[:, keep]
    if n_extra:
        A = np.hstack([A, np.zeros((n_in, n_extra))])
    return InputMap(A, np.zeros(A.shape[1]))


def _imputer_map(name, step):
    if not _is_nan(step.missing_values):
        # A numeric marker (say 0) is imputed wherever a perturbation lands
        # on it: not affine.
        return _held_map(
            name,
            step,
            "nonaffine",
            f"SimpleImputer(missing_values={step.missing_values!r})",
            None,
            None,
        )
    stats = np.asarray(step.statistics_, dtype=object)
    keep = np.ones(stats.size, bool)
    if not step.keep_empty_features:
        keep = np.array([not _is_nan(s) for s in stats])
    n_ind = len(step.indicator_.features_) if step.add_indicator else 0
    return _selection_map(stats.size, keep, n_ind)


def _column_transformer_map(name, ct):
    check_is_fitted(ct)
    n_raw = ct.n_features_in_
    out_slices = ct.output_indices_
    n_out = max((s.stop for s in out_slices.values()), default=0)
    A = np.zeros((n_raw, n_out))
    c = np.zeros(n_out)
    virtual, held = [], {}
    for part, trans, _ in ct.transformers_:
        cols = np.asarray(ct._transformer_to_input_indices[part], dtype=np.intp)
        out = out_slices[part]
        if _is_drop(trans) or cols.size == 0:
            continue
        full_name = f"{name}__{part}"
        if _is_passthrough(trans):
            part_map = InputMap.identity(cols.size)
        else:
            part_map = _step_map(full_name, trans, cols.size, out.stop - out.start)
        rows = part_map.dense()
        raw = part_map.raw_rows >= 0
        A[cols[part_map.raw_rows[raw]], out] += rows[raw]
        for row in rows[~raw]:
            v = np.zeros(n_out)
            v[out] = row
            virtual.append(v)
        c[out] += part_map.c
        for local, reason in part_map.held.items():
            held.setdefault(int(cols[local]), reason)
    affine = np.ones(n_raw, bool)
    affine[list(held)] = False
    return InputMap(
        np.vstack([A[affine], *virtual]) if virtual else A[affine],
        c,
        raw_rows=np.concatenate([np.flatnonzero(affine), np.full(len(virtual), -1)]),
        n_raw=n_raw,
        held=held,
    )


def _step_map(name, step, n_in=None, n_out=None):
    """The :class:`InputMap` of one fitted step over its own inputs."""
    if _is_passthrough(step):
        return InputMap.identity(step.n_features_in_ if n_in is None else n_in)
    if isinstance(step, Pipeline):
        result = None
        for sub_name, sub in step.steps:
            if _is_passthrough(sub):
                continue
            sub_map = _step_map(
                f"{name}__{sub_name}", sub, None if result is None else result.n_out
            )
            result = sub_map if result is None else result.then(sub_map)
        return InputMap.identity(n_in) if result is None else result
    if isinstance(step, ColumnTransformer):
        return _column_transformer_map(name, step)
    check_is_fitted(step)
    if isinstance(step, MinMaxScaler) and step.clip:
        return _held_map(
            name,
            step,
            "nonaffine",
            "MinMaxScaler(clip=True); use clip=False",
            n_in,
            n_out,
        )
    if isinstance(step, AFFINE_STEPS):
        return InputMap(*_affine_parts(name, step))
    if isinstance(step, SelectorMixin):
        return _selection_map(step.n_features_in_, step.get_support())
    if isinstance(step, SimpleImputer):
        return _imputer_map(name, step)
    if isinstance(step, ENCODERS):
        return _held_map(name, step, "categorical", type(step).__name__, n_in, n_out)
    return _held_map(name, step, "nonaffine", type(step).__name__, n_in, n_out)


def _affine_parts(name, step):
    """Return ``(A, c)`` with ``step.transform(x) == x @ A + c``."""
    n = step.n_features_in_
    ones, zeros = np.ones(n), np.zeros(n)
    if isinstance(step, StandardScaler):
        scale = 1.0 / step.scale_ if step.with_std else ones
        shift = -step.mean_ * scale if step.with_mean else zeros
        return scale, shift
    if isinstance(step, RobustScaler):
        scale = 1.0 / step.scale_ if step.with_scaling else ones
        shift = -step.center_ * scale if step.with_centering else zeros
        return scale, shift
    if isinstance(step, MinMaxScaler):
        return np.asarray(step.scale_, dtype=float), np.asarray(step.min_, float)
    if isinstance(step, MaxAbsScaler):
        return 1.0 / step.scale_, zeros
    A = step.components_.T.astype(float, copy=True)
    if isinstance(step, PCA):
        if step.whiten:
            # Same clipping of tiny variances as PCA.transform.
            scale = np.sqrt(step.explained_variance_)
            scale[scale < np.finfo(scale.dtype).eps] = np.finfo(scale.dtype).eps
            A /= scale
        return A, -(step.mean_ @ A)
    # TruncatedSVD: no centring.
    return A, np.zeros(A.shape[1])


# ---------------------------------------------------------------------------
# Hand-over from a pipeline to the estimator it fits last.
#
# sklip's Pipeline fits its preprocessing, then its final estimator; the
# estimator needs the map of the (by then fitted) preprocessing. A context
# variable carries it across scikit-learn's Pipeline.fit without touching its
# private machinery, and is scoped to the one estimator it is meant for.

_HANDOVER = contextvars.ContextVar("sklip_input_map_handover", default=None)


@contextlib.contextmanager
def handing_over(target, make_map):
    """Within this block, ``handed_input_map(target)`` returns ``make_map()``.

    Parameters
    ----------
    target : object
        The estimator (by identity) that may read the map.
    make_map : callable
        Returns the :class:`InputMap` (or None) once the preprocessing is
        fitted; called lazily by the target's ``fit``.
    """
    token = _HANDOVER.set((target, make_map))
    try:
        yield
    finally:
        _HANDOVER.reset(token)


def handed_input_map(estimator):
    """The input map handed to ``estimator`` by an enclosing pipeline fit,
    or None when there is none."""
    handover = _HANDOVER.get()
    if handover is None or handover[0] is not estimator:
        return None
    return handover[1]()


def handover_pending(estimator):
    """Whether an enclosing pipeline fit hands a map to ``estimator`` (without
    building the map, whose steps may not be fitted yet)."""
    handover = _HANDOVER.get()
    return handover is not None and handover[0] is estimator
