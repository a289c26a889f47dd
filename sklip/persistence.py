"""Saving and loading fitted models without running code: :func:`save`, :func:`load`.

Threat model. A pickle (``joblib.dump``, ``pickle.dump``) is a program:
loading one runs whatever functions it names, so opening a model file from
someone else is running their code. :func:`save` writes the model with
`skops.io <https://skops.readthedocs.io/>`_ instead: a zip of JSON and numpy
arrays that describes objects rather than instructions. :func:`load` rebuilds
only objects of *trusted* types: skops's own list (numpy, scipy, the
estimators of scikit-learn, plain containers) plus the classes of sklip and
the scikit-learn types sklip's models are made of (:data:`TRUSTED_PREFIXES`,
checked against the actual class, not only its name). Any other type in the
file, e.g. an object injected to run code on load, is refused with an error
naming it, before anything is built. Pass ``trusted=`` to accept more types
on purpose.

What this does not protect against: a file with trusted types but wrong
numbers (a model that predicts badly, or large arrays that use much memory).
Check where your model files come from all the same.

``skops`` is an optional dependency (``pip install 'sklip[cli]'``).
"""

import importlib
import os
import pathlib

from ._validation import public

__all__ = ["save", "load", "UntrustedTypeError"]

# Types whose module starts with one of these, and which are classes defined
# there, are trusted on top of skops's defaults.
TRUSTED_PREFIXES = ("sklip.", "sklearn.")
# Plain data types skops does not list by default.
TRUSTED_NAMES = frozenset({"numpy.dtype"})


class UntrustedTypeError(ValueError):
    """A model file holds a type that :func:`load` does not trust.

    Raised before anything in the file is built: building an object of an
    unknown type is what runs foreign code on load. The message names every
    refused type (``"module.Class"``); pass those names to ``load(...,
    trusted=[...])`` only if you know what they are. A subclass of
    :class:`ValueError`, so ``except ValueError`` catches it with the other
    bad-file errors of :func:`load`.

    See Also
    --------
    load : Load a model file, building trusted types only.
    save : Write a model file that runs no code when loaded.

    Examples
    --------
    >>> import collections, pathlib, tempfile
    >>> import sklip
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "counts.skops"
    >>> _ = sklip.save({"counts": collections.Counter(a=2)}, path)
    >>> sklip.load(path)
    Traceback (most recent call last):
    ...
    sklip.persistence.UntrustedTypeError: ... not trust: collections.Counter; ...
    >>> sklip.load(path, trusted=["collections.Counter"])
    {'counts': Counter({'a': 2})}
    """


_PATH = [str, os.PathLike]


def _skops():
    try:
        import skops.io as sio
    except ImportError:
        raise ImportError(
            "saving and loading models needs skops: pip install 'sklip[cli]' "
            "(or pip install skops)"
        ) from None
    return sio


@public({"model": "no_validation", "path": _PATH})
def save(model, path):
    """Save a fitted model to a file that runs no code when loaded.

    The file is written with ``skops.io``: a zip of JSON and numpy arrays,
    read back by :func:`load`, which refuses types it does not trust
    (unlike a pickle, which runs whatever functions it names). Predictions
    of the loaded model are those of ``model``, bit for bit.

    Parameters
    ----------
    model : object
        Any fitted estimator (a sklip or scikit-learn model, a pipeline), or
        a dict / list of them and of plain values (str, numbers, arrays).
    path : str or path-like
        File to write (conventionally ``*.skops``); overwritten if it exists.

    Returns
    -------
    path : pathlib.Path
        The file written, as a path.

    Raises
    ------
    ImportError
        If ``skops`` is not installed (``pip install 'sklip[cli]'``).

    See Also
    --------
    load : Load the file back, building trusted types only.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from sklearn.linear_model import LogisticRegression
    >>> import sklip
    >>> clf = LogisticRegression().fit([[0.0], [1.0]], [0, 1])
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "model.skops"
    >>> _ = sklip.save(clf, path)
    >>> sklip.load(path).predict([[1.0]]).tolist()
    [1]
    """
    sio = _skops()
    path = pathlib.Path(path)
    sio.dump(model, path)
    return path


def _is_trusted(name):
    """Whether the dotted type ``name`` is a class of sklip or scikit-learn."""
    if name in TRUSTED_NAMES:
        return True
    if not name.startswith(TRUSTED_PREFIXES):
        return False
    module_name, _, attr = name.rpartition(".")
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        return False
    obj = getattr(module, attr, None)
    # A class, defined where its name says: a function (e.g. an injected
    # ``builtins.eval`` spelled as a sklearn path) is never trusted.
    return isinstance(obj, type) and obj.__module__ == module_name


def untrusted_types(path):
    """The types of the file at ``path`` that :func:`load` would refuse."""
    sio = _skops()
    return [t for t in sio.get_untrusted_types(file=path) if not _is_trusted(t)]


@public({"path": _PATH, "trusted": ["array-like", None]})
def load(path, *, trusted=None):
    """Load an object saved by :func:`save`, building trusted types only.

    Parameters
    ----------
    path : str or path-like
        A file written by :func:`save`.
    trusted : list of str, default=None
        More type names (``"module.Class"``) to accept, on purpose.

    Returns
    -------
    model : object
        What was saved: the fitted estimator, or the dict / list of them.

    Raises
    ------
    UntrustedTypeError
        If the file holds a type that is neither skops's default, nor a class
        of sklip or scikit-learn, nor in ``trusted`` (nothing is built).
    ValueError
        If the file is not a skops file (e.g. a pickle, or truncated).
    ImportError
        If ``skops`` is not installed (``pip install 'sklip[cli]'``).

    See Also
    --------
    save : Write a model file.
    UntrustedTypeError : The error naming the refused types.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> import numpy as np
    >>> import sklip
    >>> X, y = np.array([[0.0], [1.0], [2.0], [3.0]]), np.array([0, 0, 1, 1])
    >>> clf = sklip.LipschitzMLPClassifier(
    ...     hidden_layer_sizes=(4,), solver="lbfgs", random_state=0
    ... ).fit(X, y)
    >>> path = sklip.save(clf, pathlib.Path(tempfile.mkdtemp()) / "clf.skops")
    >>> loaded = sklip.load(path)
    >>> bool(np.array_equal(loaded.predict_proba(X), clf.predict_proba(X)))
    True
    >>> bool(sklip.lipschitz_bound(loaded) == sklip.lipschitz_bound(clf))
    True
    """
    import zipfile

    sio = _skops()
    path = pathlib.Path(path)
    extra = set(trusted or ())
    try:
        names = sio.get_untrusted_types(file=path)
    except (zipfile.BadZipFile, KeyError, ValueError, EOFError) as exc:
        raise ValueError(
            f"{str(path)!r} is not a model file written by sklip.save (skops): "
            f"{type(exc).__name__}: {exc}"
        ) from None
    bad = [t for t in names if not _is_trusted(t) and t not in extra]
    if bad:
        raise UntrustedTypeError(
            f"{str(path)!r} holds type(s) sklip does not trust: {', '.join(bad)}; "
            "refusing to load it (pass trusted=[...] to sklip.load if you know "
            "what they are)"
        )
    try:
        return sio.load(path, trusted=[t for t in names])
    except (zipfile.BadZipFile, KeyError, EOFError) as exc:
        raise ValueError(
            f"{str(path)!r} is a damaged model file: {type(exc).__name__}: {exc}"
        ) from None
