"""Input checks shared by the Lipschitz and robustness functions.

Both subpackages validate integer counts and the samples they evaluate a
model on in the same way, so the errors read the same wherever they come from.
"""

import numbers

import numpy as np
from sklearn.utils import check_array


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
            f"The '{name}' parameter must be an int >= {minimum}; got {value!r}."
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
