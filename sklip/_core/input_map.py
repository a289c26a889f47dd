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

from .steps import SUPPORTED_STEP_NAMES


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
    >>> from sklip._core.input_map import InputMap
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
