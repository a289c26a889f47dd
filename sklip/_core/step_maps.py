"""Readers of fitted transformers: the :class:`~sklip._core.input_map.InputMap`
of each step type a pipeline may hold.

Affine transformers give their exact ``(A, c)``; feature selectors keep
columns; ``SimpleImputer`` is the identity on observed values; a
``ColumnTransformer`` stacks the maps of its parts; encoders hold their input
columns as categorical and any other step holds its columns as non-affine
(an error only when someone asks to move them).
"""

import numpy as np
from sklearn.compose import ColumnTransformer
from sklearn.decomposition import PCA
from sklearn.feature_selection import SelectorMixin
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import (
    MaxAbsScaler,
    MinMaxScaler,
    RobustScaler,
    StandardScaler,
)
from sklearn.utils.validation import check_is_fitted

from .._validation import show
from .input_map import InputMap
from .steps import (
    AFFINE_STEPS,
    ENCODERS,
    SUPPORTED_STEP_NAMES,
    is_drop,
    is_passthrough,
)


def _is_nan(value):
    try:
        return bool(np.isnan(value))
    except TypeError:
        return value is None


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
    """A fitted ``SimpleImputer`` as a selection map.

    With NaN markers it is the identity on the perturbed (finite) points,
    minus the columns it drops, plus its indicator columns (held at 0); any
    other marker makes it non-affine, so its columns are held fixed.
    """
    if not _is_nan(step.missing_values):
        # A numeric marker (say 0) is imputed wherever a perturbation lands
        # on it: not affine.
        return _held_map(
            name,
            step,
            "nonaffine",
            f"SimpleImputer(missing_values={show(step.missing_values)})",
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
    """A fitted ``ColumnTransformer`` as the sum of its parts' maps.

    Each part's map is placed on its input columns and output slice; rows
    that no raw column drives (virtual rows) are appended and columns held by
    any part are held fixed by the whole.
    """
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
        if is_drop(trans) or cols.size == 0:
            continue
        full_name = f"{name}__{part}"
        if is_passthrough(trans):
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
    if is_passthrough(step):
        return InputMap.identity(step.n_features_in_ if n_in is None else n_in)
    if isinstance(step, Pipeline):
        result = None
        for sub_name, sub in step.steps:
            if is_passthrough(sub):
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
    reason = type(step).__name__
    if reason in _NONCONSTANT_IMPUTERS:
        reason += (
            ": its imputed values depend on the row's observed values, not a "
            "per-column constant like SimpleImputer's"
        )
    return _held_map(name, step, "nonaffine", reason, n_in, n_out)


# Imputers whose fill depends on the other columns of the row: not affine
# even on observed values (moving one column moves another's imputed value).
_NONCONSTANT_IMPUTERS = ("KNNImputer", "IterativeImputer")


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


def input_map_of(steps, n_features=None):
    """The :class:`InputMap` of fitted transformers ``[(name, step), ...]``
    applied in turn.

    Understands affine transformers, feature selectors, ``SimpleImputer``
    (the identity on observed values), ``ColumnTransformer`` and nested
    pipelines of those; encoders (``OneHotEncoder``, ``OrdinalEncoder``,
    ``TargetEncoder``) hold their input columns as categorical, any other
    transformer holds its input columns as non-affine.

    Parameters
    ----------
    steps : list of (str, transformer)
        Fitted steps, in order.
    n_features : int, default=None
        Number of raw columns, when known (checked against the first step).

    Returns
    -------
    input_map : InputMap or None
        None for no steps and no ``n_features``.

    Raises
    ------
    sklearn.exceptions.NotFittedError
        If a step is not fitted.
    TypeError
        If a non-affine step's output width cannot be known.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.preprocessing import StandardScaler
    >>> from sklip._core.step_maps import input_map_of
    >>> scaler = StandardScaler().fit(np.array([[0.0], [2.0]]))
    >>> input_map_of([("scale", scaler)]).A
    array([1.])
    """
    result = None if n_features is None else InputMap.identity(n_features)
    for name, step in steps:
        n_in = result.n_out if result is not None else None
        step_map = _step_map(name, step, n_in)
        result = step_map if result is None else result.then(step_map)
    return result
