"""Input checks and the constraint vocabulary shared by every public function.

Both subpackages validate integer counts and the samples they evaluate a
model on in the same way, so the errors read the same wherever they come from.
The constraints below (scikit-learn's ``_param_validation`` vocabulary, as the
estimators' ``_parameter_constraints`` use it) are the one definition of each
parameter shared by several public functions (``eps``, ``norm``,
``features``, ``random_state``, ``sample_weight``, counts); every public
function validates through :func:`public`. numpy scalars pass wherever Python
numbers do (``np.int64(2)`` is an int, ``np.float32(0.5)`` a float), bools
never count as numbers.
"""

import functools
import numbers
import re
from numbers import Integral, Real

import numpy as np
from sklearn.utils import check_array
from sklearn.utils._param_validation import (
    Interval,
    InvalidParameterError,
    Options,
    validate_params,
)


def plain(value):
    """``value`` with numpy scalars as Python ones (in lists, tuples, small
    arrays too), so that an error message shows ``-1.0``, not numpy 2's
    ``np.float64(-1.0)``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklip._validation import plain
    >>> plain([np.int64(3), np.float64(0.5), np.str_("a")])
    [3, 0.5, 'a']
    """
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray) and value.size <= 20:
        return value.tolist()
    if isinstance(value, (list, tuple)):
        return type(value)(plain(v) for v in value)
    return value


def show(value):
    """``repr(plain(value))``: a value as an error message prints it."""
    return repr(plain(value))


# numpy 2 reprs of scalars inside messages written by others (scikit-learn's
# parameter validation formats the bad value with repr).
_NUMPY_SCALAR_REPRS = (
    (re.compile(r"np\.(?:float|int|uint|complex|longdouble)\d*\(([^()]*)\)"), r"\1"),
    (re.compile(r"np\.(?:str_|bytes_)\(((?:'[^']*')|(?:\"[^\"]*\"))\)"), r"\1"),
    (re.compile(r"np\.bool_?\((True|False)\)"), r"\1"),
    (re.compile(r"np\.(True|False)_"), r"\1"),
)


def plain_message(message):
    """``message`` with numpy 2 scalar reprs replaced by the plain numbers
    (``"Got np.float64(-1.0)"`` becomes ``"Got -1.0"``)."""
    for pattern, repl in _NUMPY_SCALAR_REPRS:
        message = pattern.sub(repl, message)
    return message


def plain_errors(func):
    """Decorate ``func`` so that a parameter error it raises prints plain
    numbers (see :func:`plain_message`); the exception and its traceback
    are kept."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except (InvalidParameterError, ValueError, TypeError) as exc:
            if exc.args and isinstance(exc.args[0], str):
                exc.args = (plain_message(exc.args[0]), *exc.args[1:])
            raise

    return wrapper


class StrictInterval(Interval):
    """:class:`~sklearn.utils._param_validation.Interval` refusing bools.

    scikit-learn's ``Interval(Integral, ...)`` accepts ``True`` as ``1``; a
    flag passed where a count or a radius is expected is a mistake.
    """

    def is_satisfied_by(self, val):
        """Whether ``val`` is a number (not a bool) in the interval."""
        if isinstance(val, (bool, np.bool_)):
            return False
        return super().is_satisfied_by(val)


def count(minimum=1):
    """Constraint: an int (Python or numpy) ``>= minimum``, not a bool."""
    return StrictInterval(Integral, minimum, None, closed="left")


def real(low=0.0, *, closed="left"):
    """Constraint: a finite float ``>= low`` (``> low`` with ``closed="neither"``)."""
    return StrictInterval(Real, low, None, closed=closed)


class Choices(Options):
    """Options listed in registry order in messages (a set's order is not
    stable from one run to the next)."""

    def __init__(self, type, options):
        self.order = list(options)
        super().__init__(type, set(self.order))

    def __str__(self):
        kind = "str" if self.type is str else "value"
        return f"a {kind} among {{{', '.join(map(repr, self.order))}}}"


def selection_kind(features):
    """Check the form of a column selection, before the columns are known.

    Parameters
    ----------
    features : str, int, array-like of str, int or bool
        Column names, integer indices (Python or numpy ints) or a boolean
        mask; never a mix of kinds (``[True, 1]`` is refused: a bool is not
        an index).

    Returns
    -------
    kind : {"names", "indices", "mask"}

    Raises
    ------
    ValueError
        If ``features`` is empty or mixes kinds, naming the parameter.

    Examples
    --------
    >>> from sklip._validation import selection_kind
    >>> selection_kind([0, 2]), selection_kind("age"), selection_kind([True, False])
    ('indices', 'names', 'mask')
    """
    values = _selection_values(features)
    if not values:
        raise ValueError(
            "The 'features' parameter selects no column; give at least one "
            "column name, index, or a mask with a True entry."
        )
    if all(isinstance(v, (bool, np.bool_)) for v in values):
        return "mask"
    if all(isinstance(v, str) for v in values):
        return "names"
    if all(
        isinstance(v, numbers.Integral) and not isinstance(v, (bool, np.bool_))
        for v in values
    ):
        return "indices"
    raise ValueError(
        "The 'features' parameter must be column names, integer indices or a "
        f"boolean mask (not a mix); got {show(features)}."
    )


def _selection_values(features):
    if isinstance(features, np.ndarray) and features.ndim == 0:
        features = features.item()
    if isinstance(features, str) or np.ndim(features) == 0:
        return [features]
    if isinstance(features, np.ndarray):
        # The elements as numpy gives them: a bool array stays a mask.
        return list(features.ravel()) if features.ndim == 1 else [features]
    return list(features)


def freeze_selection(features):
    """``features`` as plain, comparable Python values (None, a str, an int,
    or a tuple), checked for its form: what a scorer stores."""
    if features is None:
        return None
    selection_kind(features)
    if isinstance(features, str) or np.ndim(features) == 0:
        return features.item() if isinstance(features, np.generic) else features
    return tuple(
        v.item() if isinstance(v, np.generic) else v
        for v in _selection_values(features)
    )


class ColumnSelection(Options):
    """Constraint: a column selection of a valid form (see
    :func:`selection_kind`); the columns themselves are checked once the data
    is known (:func:`resolve_features`)."""

    def __init__(self):
        super().__init__(object, set())

    def is_satisfied_by(self, val):
        """Whether ``val`` has the form of a column selection."""
        try:
            selection_kind(val)
        except (TypeError, ValueError):
            return False
        return True

    def __str__(self):
        return (
            "a column name, an int index, or a non-empty list of names, of "
            "int indices or a boolean mask (not a mix)"
        )


# One definition per shared parameter. Public functions build their
# constraints from these (``{**SHARED, "eps": EPS_OR_ARRAY}``), the estimators
# use the same vocabulary in ``_parameter_constraints``.
EPS = [real(0.0)]
EPS_OR_ARRAY = [real(0.0), "array-like"]
NORM = [Choices(Real, (2, np.inf))]
FEATURES = [None, ColumnSelection()]
# scikit-learn's "random_state" accepts True as the seed 1; a flag is a
# mistake here. Generators are accepted wherever numpy draws the numbers.
SEED = [
    StrictInterval(Integral, 0, 2**32 - 1, closed="both"),
    np.random.RandomState,
    None,
]
RANDOM_STATE = [*SEED, np.random.Generator]
SAMPLE_WEIGHT = ["array-like", None]
SAMPLES = ["array-like", "sparse matrix"]
# The estimator is checked by the function itself (fitted, with a network
# view, classifier or regressor), with messages that say which it must be.
ESTIMATOR = "no_validation"

SHARED = {
    "estimator": ESTIMATOR,
    "X": SAMPLES,
    "eps": EPS,
    "norm": NORM,
    "features": FEATURES,
    "random_state": RANDOM_STATE,
    "sample_weight": SAMPLE_WEIGHT,
}


def public(constraints):
    """Decorate a public function with scikit-learn's ``validate_params``.

    Parameters
    ----------
    constraints : dict
        ``{parameter: [constraint, ...]}``; parameters shared by several
        functions take their definition from this module.

    Returns
    -------
    decorator : callable
        Nested sklip calls skip re-validation (``prefer_skip_nested_validation``);
        their own checks normalise values (e.g. ``norm`` to ``2``/``np.inf``).
        Errors print plain numbers (:func:`plain_errors`), and the wrapper
        keeps scikit-learn's ``_skl_parameter_constraints``.
    """
    validate = validate_params(constraints, prefer_skip_nested_validation=True)

    def decorator(func):
        validated = validate(func)
        wrapper = plain_errors(validated)
        wrapper._skl_parameter_constraints = validated._skl_parameter_constraints
        return wrapper

    return decorator


def check_count(value, name, minimum=1):
    """Return ``value`` as an int, or raise naming the parameter.

    Parameters
    ----------
    value : object
        The parameter value; bools are rejected.
    name : str
        Parameter name, for the error message.
    minimum : int, default=1
        Smallest accepted value.

    Returns
    -------
    value : int

    Examples
    --------
    >>> from sklip._validation import check_count
    >>> check_count(3, "n_iter")
    3
    """
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Integral)
        or value < minimum
    ):
        raise ValueError(
            f"The '{name}' parameter must be an int >= {minimum}; got {show(value)}."
        )
    return int(value)


def check_samples(X, n_features, *, accept_sparse=False, copy=False):
    """Finite float64 samples with the number of features the model expects.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Samples; NaN or infinity is an error.
    n_features : int or None
        Expected number of features; None skips the check.
    accept_sparse : bool, default=False
        Whether a CSR matrix may be returned.
    copy : bool, default=False
        Always return a copy, never the caller's array.

    Returns
    -------
    X : ndarray or sparse matrix of shape (n_samples, n_features)
    """
    X = check_array(
        X,
        accept_sparse="csr" if accept_sparse else False,
        dtype=np.float64,
        copy=copy,
        input_name="X",
    )
    if n_features is not None and X.shape[1] != n_features:
        raise ValueError(
            f"X has {X.shape[1]} features, but the model is expecting "
            f"{n_features} features as input."
        )
    return X


def resolve_features(features, n_features, names=None):
    """Column indices selected by ``features``.

    Parameters
    ----------
    features : str, int, array-like of str, int or bool
        Column names (needs ``names``), integer indices (negative ones count
        from the end) or a boolean mask of length ``n_features``.
    n_features : int
        Number of columns.
    names : array-like of str, default=None
        Column names, when known (a DataFrame's, or ``feature_names_in_``).

    Returns
    -------
    columns : ndarray of int
        Sorted, unique indices.

    Examples
    --------
    >>> from sklip._validation import resolve_features
    >>> resolve_features(["b", "a"], 3, names=["a", "b", "c"])
    array([0, 1])
    >>> resolve_features([True, False, True], 3)
    array([0, 2])
    """
    kind = selection_kind(features)
    values = _selection_values(features)
    if kind == "mask":
        if len(values) != n_features:
            raise ValueError(
                f"A boolean 'features' mask must have length {n_features}; "
                f"got {len(values)}."
            )
        columns = np.flatnonzero(np.asarray(values, dtype=bool))
        if columns.size == 0:
            raise ValueError("The 'features' mask selects no column.")
        return columns
    if kind == "names":
        if names is None:
            raise ValueError(
                f"features={show(values)} names columns, but the column names are "
                "unknown: pass X as a DataFrame or fit the model on one, or "
                "give integer indices."
            )
        index = {str(name): j for j, name in enumerate(names)}
        unknown = [v for v in values if v not in index]
        if unknown:
            raise ValueError(
                f"features contains unknown column name(s) {show(unknown)}; "
                f"columns are {list(map(str, names))!r}."
            )
        return np.unique([index[v] for v in values])
    out = [v for v in values if not -n_features <= v < n_features]
    if out:
        raise ValueError(
            f"features contains out-of-range index(es) {show(out)} for "
            f"{n_features} columns."
        )
    return np.unique(np.asarray(values, dtype=np.intp) % n_features)


def check_sample_weight(sample_weight, n_samples):
    """Finite, non-negative sample weights with a positive sum, or None.

    Parameters
    ----------
    sample_weight : array-like of shape (n_samples,) or None
    n_samples : int

    Returns
    -------
    sample_weight : ndarray of shape (n_samples,) or None
    """
    if sample_weight is None:
        return None
    try:
        sw = np.asarray(sample_weight, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(
            "The 'sample_weight' parameter must be an array of numbers; got "
            f"{type(sample_weight).__name__}."
        ) from None
    if sw.shape != (n_samples,):
        raise ValueError(
            f"sample_weight has shape {sw.shape}; expected ({n_samples},)."
        )
    if not np.all(np.isfinite(sw)):
        raise ValueError("sample_weight contains NaN or infinity.")
    if np.any(sw < 0):
        raise ValueError("sample_weight contains negative values.")
    if not np.any(sw > 0):
        raise ValueError(
            "sample_weight sums to zero: at least one sample must have a "
            "positive weight."
        )
    with np.errstate(over="ignore"):
        total = sw.sum()
    if not np.isfinite(total):
        # Rescaling leaves every weighted average unchanged.
        sw = sw / sw.max()
    return sw


def check_seed(random_state, name="random_state"):
    """Validate a seed: None, an int in [0, 2**32), a RandomState or a
    Generator; anything else is a ``ValueError`` naming ``name``."""
    if random_state is None or isinstance(
        random_state, (np.random.RandomState, np.random.Generator)
    ):
        return random_state
    if isinstance(random_state, numbers.Integral) and not isinstance(
        random_state, (bool, np.bool_)
    ):
        if 0 <= random_state < 2**32:
            return int(random_state)
    raise ValueError(
        f"The '{name}' parameter must be None, an int in [0, 2**32), a numpy "
        f"RandomState or Generator; got {show(random_state)}."
    )
