"""The model file of ``sklip search --save-model``, read by ``sklip evaluate``.

A :func:`sklip.save` (skops) file holding a dict: the fitted pipeline (raw
CSV columns in), and what ``evaluate`` needs to measure it as ``search``
did: task, target name, column kinds, units (training means and standard
deviations of the numeric columns), the eps it was selected at, the sklip
version. Older joblib pickles are read only with ``--trust-pickle``.
"""

import pathlib

from sklearn.base import is_classifier, is_regressor

from ._args import CLIError
from ._units import Units

FORMAT = "sklip-cli-model"
FORMAT_VERSION = 1


def save_model(path, model, *, task, target, units, eps, candidate):
    """Write the model file; a write error is a :class:`CLIError`."""
    from .. import __version__
    from ..persistence import save

    bundle = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "sklip_version": __version__,
        "model": model,
        "task": task,
        "target": target,
        "units": units.to_dict(),
        "eps": float(eps),
        "candidate": candidate,
    }
    try:
        save(bundle, path)
    except ImportError as exc:
        raise CLIError(f"--save-model: {exc}") from None
    except OSError as exc:
        raise CLIError(
            f"--save-model: cannot write {str(path)!r}: {exc.strerror}"
        ) from None


def _check_estimator(model, path):
    if not (is_classifier(model) or is_regressor(model)):
        raise CLIError(
            f"--model: {path!r} holds {type(model).__name__}, not a fitted "
            "classifier or regressor"
        )
    return model


def load_model(path, *, trust_pickle=False):
    """``(model, info)``: the fitted model and the saved metadata (None for
    a bare model). Every failure is one :class:`CLIError` line."""
    import zipfile

    if not pathlib.Path(path).is_file():
        raise CLIError(f"--model: no such file: {path!r}")
    if not zipfile.is_zipfile(path):
        if not trust_pickle:
            raise CLIError(
                f"--model: {path!r} is not a sklip model file (a skops zip, as "
                "written by --save-model) or is truncated; if it is an older "
                "joblib pickle that "
                "you trust, pass --trust-pickle (loading a pickle runs the code "
                "it contains)"
            )
        return _load_pickle(path), None
    from ..persistence import UntrustedTypeError, load

    try:
        data = load(path)
    except UntrustedTypeError as exc:
        raise CLIError(f"--model: {exc}") from None
    except ImportError as exc:
        raise CLIError(f"--model: {exc}") from None
    except Exception as exc:  # a damaged zip can fail in many ways
        raise CLIError(
            f"--model: cannot read {path!r} (truncated or damaged?): "
            f"{type(exc).__name__}: {' '.join(str(exc).split())}"
        ) from None
    if isinstance(data, dict) and data.get("format") == FORMAT:
        if data.get("format_version") != FORMAT_VERSION:
            raise CLIError(
                f"--model: {path!r} was saved by sklip "
                f"{data.get('sklip_version', '?')} in model-file format "
                f"{data.get('format_version')!r}; this sklip reads format "
                f"{FORMAT_VERSION}: refit it with this version's 'sklip search'"
            )
        try:
            info = dict(data, units=Units.from_dict(data["units"]))
            model = info.pop("model")
        except (KeyError, TypeError, ValueError) as exc:
            raise CLIError(
                f"--model: {path!r} is an incomplete sklip model file "
                f"({type(exc).__name__}: {exc})"
            ) from None
        return _check_estimator(model, path), info
    if isinstance(data, dict):
        raise CLIError(
            f"--model: {path!r} is a skops file but not a sklip model file "
            "(no 'format' entry)"
        )
    return _check_estimator(data, path), None


def _load_pickle(path):
    """The estimator of the joblib pickle at ``path`` (``--trust-pickle``).

    Only called on the user's explicit trust: unpickling runs the code the
    file names (see :mod:`sklip.persistence`).

    Parameters
    ----------
    path : str
        The model file.

    Returns
    -------
    model : fitted classifier or regressor

    Raises
    ------
    CLIError
        If the file does not unpickle, or holds something else.
    """
    import joblib

    try:
        model = joblib.load(path)
    except Exception as exc:  # unpickling can fail in many ways
        raise CLIError(
            f"--model: cannot load {path!r} as a joblib pickle: "
            f"{type(exc).__name__}: {' '.join(str(exc).split())}"
        ) from None
    return _check_estimator(model, path)
