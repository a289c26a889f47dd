"""The step registry: which fitted transformers the input map can read.

One owner for the list of step types, so that the input map's error messages,
the readers of each step (:mod:`sklip._core.step_maps`) and sklip's
:class:`~sklip.pipeline.Pipeline` (which refuses unreadable preprocessing
before fitting anything) agree on it. Adding a readable step type means adding
it here and giving it a reader in :mod:`sklip._core.step_maps`.
"""

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
READABLE = (SelectorMixin, SimpleImputer, ColumnTransformer, Pipeline)
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


def is_passthrough(step):
    # A fitted ColumnTransformer stores remainder="passthrough" as an
    # identity FunctionTransformer.
    if isinstance(step, FunctionTransformer):
        return step.func is None
    return step is None or (isinstance(step, str) and step == "passthrough")


def is_drop(step):
    return isinstance(step, str) and step == "drop"


def check_mappable_step(name, step):
    """Raise a ``TypeError`` naming ``step`` unless the input map can read it.

    Checks types only (the step may be unfitted), so a pipeline can refuse
    preprocessing it cannot hand over before fitting anything. Encoders are
    accepted: their columns are held, their outputs penalised in their own
    units.
    """
    if is_passthrough(step) or is_drop(step):
        return
    if isinstance(step, Pipeline):
        for sub_name, sub in step.steps:
            check_mappable_step(f"{name}__{sub_name}", sub)
        return
    if isinstance(step, ColumnTransformer):
        parts = list(step.transformers)
        if not is_drop(step.remainder):
            parts.append(("remainder", step.remainder, None))
        for sub_name, sub, _ in parts:
            check_mappable_step(f"{name}__{sub_name}", sub)
        return
    if isinstance(step, MinMaxScaler) and step.clip:
        raise TypeError(
            f"Pipeline step {name!r} is MinMaxScaler(clip=True), which is not "
            f"affine; use clip=False. Supported steps: {SUPPORTED_STEP_NAMES}."
        )
    if not isinstance(step, AFFINE_STEPS + READABLE + ENCODERS):
        raise TypeError(
            f"Pipeline step {name!r} ({type(step).__name__}) is not an affine "
            f"transformer that can be folded into the network. Supported "
            f"steps: {SUPPORTED_STEP_NAMES}."
        )
