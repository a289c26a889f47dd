"""``sklip evaluate``: scores, Lipschitz bounds and robustness of a saved model."""

import sys
import warnings

import numpy as np
from sklearn.base import is_classifier

from ..lipschitz import lipschitz_lower_bound
from ._args import CLIError, add_data_options, add_eps_options
from ._data import as_text, read_csv, split_columns
from ._model import View
from ._units import Units

DESCRIPTION = """\
Evaluate a model saved by 'sklip search --save-model' on a CSV file, measured
as the search measured it: the same numeric features perturbed (categorical
ones held fixed), the same units (std units are the TRAINING standard
deviations saved with the model, not the evaluated file's) and, by default,
the eps the model was selected at. Prints accuracy (R^2 for a regressor),
every certified Lipschitz bound and the empirical lower bound, robust accuracy
under the default L2 attack and certified accuracy (certified output deviation
for a regressor).
"""

BOUNDS = ("frobenius", "spectral", "combettes-pesquet", "auto")


def add_parser(subparsers):
    """Register ``sklip evaluate`` and its options.

    Parameters
    ----------
    subparsers : argparse._SubParsersAction
        What ``ArgumentParser.add_subparsers`` returned for ``sklip``.

    Returns
    -------
    parser : argparse.ArgumentParser
        The subcommand's parser; its ``run`` default is :func:`run`.
    """
    parser = subparsers.add_parser(
        "evaluate", help="evaluate a saved model on a CSV file", description=DESCRIPTION
    )
    parser.add_argument(
        "--model",
        required=True,
        metavar="FILE.skops",
        help="model file written by 'sklip search --save-model' (required)",
    )
    parser.add_argument(
        "--trust-pickle",
        action="store_true",
        help="also read an older joblib pickle (loading a pickle runs the code "
        "in it: only for files you made yourself)",
    )
    add_data_options(parser, with_features=False, target_required=False)
    add_eps_options(parser, saved=True)
    parser.add_argument(
        "--random-state", type=int, default=0, help="seed of the attacks"
    )
    parser.set_defaults(run=run)
    return parser


def run(args, out=sys.stdout):
    """Evaluate; returns 0."""
    from ._modelfile import load_model

    model, info = load_model(args.model, trust_pickle=args.trust_pickle)
    with warnings.catch_warnings():
        # Attacks and certificates see the model's inputs as arrays; a model
        # fitted on a DataFrame would warn about their missing column names.
        warnings.filterwarnings("ignore", message="X does not have valid feature names")
        return _run(args, model, info, out)


def _columns(model, info, frame, target, path):
    """``(X, y, units)`` of the evaluated file, in the model's column order."""
    columns = [str(c) for c in frame.columns]
    if info is not None:
        units = info["units"]
        wanted = units.numeric + units.categorical
    else:
        names = getattr(model, "feature_names_in_", None)
        wanted = None if names is None else [str(n) for n in names]
    if wanted is not None:
        missing = [n for n in wanted if n not in columns]
        if missing:
            raise CLIError(
                f"--data: {path} lacks the model's column(s) {', '.join(missing)}; "
                f"the model reads {', '.join(wanted)}"
            )
    forced = [] if info is None else info["units"].categorical
    X, y, numeric, categorical = split_columns(
        frame, target=target, features=wanted, path=path, categorical=forced
    )
    if info is None:
        # A bare model (an older pickle) carries no units: the evaluated
        # file's own statistics stand in, and say so.
        units = Units.fit("std", X, numeric, categorical)
        X = X[numeric + categorical]
        return as_text(X, categorical), y, units
    wrong = [n for n in units.numeric if n in categorical]
    if wrong:
        raise CLIError(
            f"--data: column(s) {', '.join(wrong)} of {path} are not numeric, but "
            "the model was trained on them as numeric features"
        )
    return as_text(X[wanted], units.categorical), y, units


def _target(model, info, y, target):
    """The evaluated target ``y`` in the model's terms, or a :class:`CLIError`.

    A classifier's labels are compared as text when its classes are text
    (a CSV column of ``"1"`` and ``"2"`` read as ints still matches), and a
    label the model never saw is refused: it could only be scored wrong. A
    regressor needs a numeric target.

    Parameters
    ----------
    model : fitted classifier or regressor
    info : dict or None
        The model file's metadata (unused: the model itself decides).
    y : Series of shape (n_samples,)
        The target column as read from the CSV.
    target : str
        Its name, for the messages.

    Returns
    -------
    y : ndarray of shape (n_samples,)
        Labels (str when the classes are) or float64 targets.
    """
    if is_classifier(model):
        classes = np.asarray(model.classes_)
        known = set(classes.astype(str))
        y = y.astype(str) if classes.dtype.kind in "OUS" else y
        unknown = sorted(set(np.asarray(y).astype(str)) - known)
        if unknown:
            raise CLIError(
                f"--target: label {unknown[0]!r} is not a class of the model "
                f"({', '.join(sorted(known))})"
            )
        return np.asarray(y)
    if y.dtype.kind not in "biuf":
        raise CLIError(
            f"--target: the model is a regressor but {target!r} is not numeric"
        )
    return np.asarray(y, dtype=float)


def _run(args, model, info, out):
    """Print the evaluation of ``model`` on ``--data`` (see :data:`DESCRIPTION`).

    ``eps`` is ``--eps`` if given, else the eps the model was selected at
    when the units are the saved ones, else the default rule
    (``Units.default_eps``) on the saved training statistics; the line
    ``eps = ...`` says which and in what units. Bounds, ``eps`` and
    certificates are in those units (std: training standard deviations of
    the numeric features; raw: the CSV's units).

    Parameters
    ----------
    args : argparse.Namespace
        The options of :func:`add_parser`.
    model : fitted Pipeline
        The model of the file (raw CSV columns in).
    info : dict or None
        The file's metadata (units, eps, target, candidate); None for a bare
        model, whose units then come from the evaluated file itself.
    out : file-like
        Where the report goes.

    Returns
    -------
    status : int
        0.
    """
    target = args.target or (info or {}).get("target")
    if target is None:
        raise CLIError("--target: required for a model file without a saved target")
    frame = read_csv(args.data, sep=args.sep, decimal=args.decimal)
    X, y, units = _columns(model, info, frame, target, repr(args.data))
    y = _target(model, info, y, target)
    kind = args.eps_units or (units.kind if info is not None else "std")
    units = units.with_kind(kind)
    if args.eps is not None:
        eps, source = float(args.eps), "--eps"
    elif info is not None and kind == info["units"].kind:
        eps, source = info["eps"], "the eps the model was selected at"
    else:
        eps, source = units.default_eps(), "default_eps of the training statistics"
    view = View(model, units)
    try:
        view.lipschitz_bound()
    except TypeError as exc:
        raise CLIError(f"--model: sklip cannot bound this model: {exc}") from None
    classifier = is_classifier(model)
    try:
        score = float(model.score(X, y))
    except ValueError as exc:
        raise CLIError(f"--data: the model cannot read {args.data!r}: {exc}") from None
    candidate = f", {info['candidate']}" if info and info.get("candidate") else ""
    out.write(
        f"model: {args.model} ({type(model).__name__}{candidate}); "
        f"data: {args.data} ({len(y)} rows); target {target!r}\n"
    )
    out.write(f"eps = {eps:.4g} ({units.label}; {source})\n")
    if info is None:
        out.write(
            "units: std units of the evaluated file (the model file carries no "
            "training statistics)\n"
        )
    held = f"; held fixed: {', '.join(units.categorical)}" if units.categorical else ""
    out.write(f"perturbed: {', '.join(units.numeric)}{held}\n")
    out.write(f"{'accuracy' if classifier else 'R^2':34s} {score:.4f}\n")
    for method in BOUNDS:
        out.write(
            f"{'Lipschitz bound, ' + method:34s} {view.lipschitz_bound(method):.4g}\n"
        )
    Z = view.inputs(X)
    if hasattr(Z, "columns"):
        # The ascent moves every numeric column: start it from complete rows.
        Z = Z[~Z[units.numeric].isna().any(axis=1).to_numpy()]
    if len(Z):
        lower = lipschitz_lower_bound(
            view.network, Z, random_state=args.random_state, features=view.features
        )
        out.write(
            f"{'Lipschitz lower bound':34s} {lower:.4g}  "
            "(attained; the truth lies between)\n"
        )
    else:
        out.write(f"{'Lipschitz lower bound':34s} n/a (no row without missing cells)\n")
    robust = float(view.robust(X, y, eps, args.random_state))
    name = f"robust {'accuracy' if classifier else 'R^2'} (attack auto)"
    out.write(f"{name:34s} {robust:.4f}\n")
    if classifier:
        # The method is the --certify-method given (default "auto").
        certified = float(view.certified(X, y, eps, args.certify_method))
        out.write(f"{'certified accuracy':34s} {certified:.4f}\n")
    else:
        # ||f(x + d) - f(x)|| <= L ||d||: the certified counterpart of robust R^2.
        out.write(
            f"{'certified max output deviation':34s} "
            f"{view.certified_deviation(eps):.4g}  ({target} units)\n"
        )
    return 0
