"""The input map: the affine map from the user's raw inputs to a network's inputs.

A Lipschitz constant, a perturbation radius and a penalty mean something only
with the input metric they refer to. Users think in *raw* units (the columns
they pass to ``fit``/``predict``); a network inside a pipeline sees *model*
units (after scaling, PCA, ...). When the preprocessing is affine,
``z = x @ A + c``, the network seen from the raw inputs is the same chain with
its first layer folded: ``W_1' = A W_1`` and ``b_1' = c W_1 + b_1``.

This module is the one place that knows that map. Three consumers read it:

- the network view (:func:`sklip.lipschitz.as_network`), so certified bounds
  and attacks measure distances between raw inputs;
- the training engine, so a penalty acts on the first layer *as seen from the
  raw inputs* (``sigma_max(A W_1)``, ``||A W_1||_F``) when the estimator is
  told the map (:class:`sklip.pipeline.Pipeline` hands it over);
- certified training, whose margins and budgets are in raw units.

``A`` is kept as a 1-D array when the map is diagonal (per-feature scalers),
which keeps wide inputs cheap, and as a 2-D ``(n_in, n_out)`` array otherwise.
"""

import contextlib
import contextvars

import numpy as np
from sklearn.decomposition import PCA, TruncatedSVD
from sklearn.preprocessing import (
    MaxAbsScaler,
    MinMaxScaler,
    RobustScaler,
    StandardScaler,
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


class InputMap:
    """The affine map ``x -> x @ A + c`` from raw inputs to model inputs.

    Parameters
    ----------
    A : ndarray of shape (n_in,) or (n_in, n_out)
        Linear part: a diagonal given by its entries (1-D), or a matrix.
    c : ndarray of shape (n_out,)
        Offset.

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

    def __init__(self, A, c):
        self.A = np.asarray(A, dtype=np.float64)
        self.c = np.asarray(c, dtype=np.float64)
        if self.A.ndim not in (1, 2):
            raise ValueError(f"A must be 1-D or 2-D; got shape {self.A.shape}.")
        if self.c.shape != (self.n_out,):
            raise ValueError(
                f"c must have shape ({self.n_out},); got shape {self.c.shape}."
            )

    @classmethod
    def identity(cls, n_features):
        """The map of no preprocessing: model units are raw units."""
        return cls(np.ones(n_features), np.zeros(n_features))

    @classmethod
    def from_steps(cls, steps):
        """Compose fitted affine transformers ``[(name, step), ...]``.

        Raises
        ------
        TypeError
            If a step is not affine (the message names it).
        sklearn.exceptions.NotFittedError
            If a step is not fitted.
        """
        result = None
        for name, step in steps:
            step_map = cls(*_affine_parts(name, step))
            result = step_map if result is None else result.then(step_map)
        return result

    @property
    def n_in(self):
        """Number of raw input features."""
        return self.A.shape[0]

    @property
    def n_out(self):
        """Number of model input features."""
        return self.A.shape[0] if self.A.ndim == 1 else self.A.shape[1]

    @property
    def is_diagonal(self):
        """Whether the linear part is a per-feature scaling."""
        return self.A.ndim == 1

    def then(self, other):
        """The map ``x -> other(self(x))``."""
        if self.n_out != other.n_in:
            raise ValueError(
                f"Cannot compose maps with {self.n_out} outputs and "
                f"{other.n_in} inputs."
            )
        A1, A2 = self.A, other.A
        if A2.ndim == 1:
            A = A1 * A2
        elif A1.ndim == 1:
            A = A1[:, None] * A2
        else:
            A = A1 @ A2
        return InputMap(A, other.transform(self.c[None, :])[0])

    def transform(self, X):
        """``X @ A + c``: raw inputs to model inputs."""
        return self.matmul_rows(X) + self.c

    def matmul_rows(self, X):
        """``X @ A`` for row vectors ``X`` of shape (n, n_in)."""
        return X * self.A if self.is_diagonal else X @ self.A

    def matmul(self, W):
        """``A @ W`` for ``W`` of shape (n_out, k) or (n_out,): a layer (or a
        vector) of the model expressed on the raw inputs."""
        if not self.is_diagonal:
            return self.A @ W
        return self.A[:, None] * W if W.ndim == 2 else self.A * W

    def rmatmul(self, G):
        """``A^T @ G`` for ``G`` of shape (n_in, k) or (n_in,): the pull-back
        of a raw-input gradient to the model inputs."""
        if not self.is_diagonal:
            return self.A.T @ G
        return self.A[:, None] * G if G.ndim == 2 else self.A * G

    def fold(self, W, b):
        """First layer ``(W, b)`` seen from the raw inputs: ``(A W, c W + b)``."""
        return self.matmul(W), self.c @ W + b

    def gram(self):
        """``A^T A``: a 1-D array when diagonal, else (n_out, n_out)."""
        return self.A * self.A if self.is_diagonal else self.A.T @ self.A

    def astype(self, dtype):
        """A copy with ``A`` and ``c`` cast to ``dtype``."""
        return InputMap(self.A.astype(dtype), self.c.astype(dtype))

    def __repr__(self):
        kind = "diagonal" if self.is_diagonal else "dense"
        return f"InputMap({kind}, n_in={self.n_in}, n_out={self.n_out})"


def check_affine_step(name, step):
    """Raise a ``TypeError`` naming ``step`` unless it can be folded.

    Checks the type only (the step may be unfitted), so pipelines can refuse
    non-affine preprocessing before fitting anything.
    """
    if not isinstance(step, AFFINE_STEPS):
        raise TypeError(
            f"Pipeline step {name!r} ({type(step).__name__}) is not an affine "
            f"transformer that can be folded into the network. Supported "
            f"steps: {AFFINE_STEP_NAMES}, nested Pipelines, 'passthrough' or "
            "None."
        )
    if isinstance(step, MinMaxScaler) and step.clip:
        raise TypeError(
            f"Pipeline step {name!r} is MinMaxScaler(clip=True), which is not "
            f"affine; use clip=False. Supported steps: {AFFINE_STEP_NAMES}."
        )


def _affine_parts(name, step):
    """Return ``(A, c)`` with ``step.transform(x) == x @ A + c``."""
    check_affine_step(name, step)
    check_is_fitted(step)
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
