"""``sklip evaluate``: scores, Lipschitz bounds and robustness of a saved model."""

import inspect
import sys
import warnings

import numpy as np
from sklearn.base import is_classifier, is_regressor

from ..lipschitz import lipschitz_lower_bound
from ..robustness import robust_accuracy
from ._args import CLIError, add_data_options, add_eps_options
from ._data import as_text, read_csv, split_columns
from ._model import SUPPORTS_FEATURES, View, encode, split
from ._units import Units

DESCRIPTION = """\
Evaluate a model saved by 'sklip search --save-model' (or any fitted sklip or
scikit-learn model sklip can bound, saved with joblib) on a CSV file: accuracy
(R^2 for a regressor), every certified Lipschitz bound and the empirical lower
bound, robust accuracy under the default L2 attack and certified accuracy. In std
units the standard deviations are those of the evaluated file's features.
"""

BOUNDS = ("frobenius", "spectral", "combettes-pesquet", "auto")


def add_parser(subparsers):
    parser = subparsers.add_parser(
        "evaluate", help="evaluate a saved model on a CSV file", description=DESCRIPTION
    )
    parser.add_argument(
        "--model",
        required=True,
        metavar="FILE.joblib",
        help="fitted model saved with joblib (required)",
    )
    add_data_options(parser, with_features=False)
    add_eps_options(parser)
    parser.add_argument(
        "--random-state", type=int, default=0, help="seed of the attacks"
    )
    parser.set_defaults(run=run)
    return parser


def load_model(path):
    import pathlib

    import joblib

    if not pathlib.Path(path).is_file():
        raise CLIError(f"--model: no such file: {path!r}")
    try:
        model = joblib.load(path)
    except Exception as exc:  # unpickling can fail in many ways
        raise CLIError(
            f"--model: cannot load {path!r}: {type(exc).__name__}: {exc}"
        ) from None
    if not (is_classifier(model) or is_regressor(model)):
        raise CLIError(
            f"--model: {path!r} holds {type(model).__name__}, not a fitted "
            "classifier or regressor"
        )
    return model


def run(args, out=sys.stdout):
    with warnings.catch_warnings():
        # Attacks and certificates see the model's inputs as arrays; a model
        # fitted on a DataFrame would warn about their missing column names.
        warnings.filterwarnings("ignore", message="X does not have valid feature names")
        return _run(args, out)


def _run(args, out):
    model = load_model(args.model)
    sep = args.sep.encode().decode("unicode_escape") if "\\" in args.sep else args.sep
    frame = read_csv(args.data, sep=sep)
    names = getattr(model, "feature_names_in_", None)
    features = None if names is None else [str(n) for n in names]
    if features is not None:
        missing = [n for n in features if n not in map(str, frame.columns)]
        if missing:
            raise CLIError(
                f"--data: the model reads column {missing[0]!r}, which "
                f"{args.data!r} lacks; columns are: "
                f"{', '.join(map(str, frame.columns))}"
            )
    X, y, numeric, categorical = split_columns(
        frame, target=args.target, features=features, path=repr(args.data)
    )
    encoder, _ = split(model)
    if encoder is None:
        X = X.to_numpy(dtype=float) if not categorical else X
        if categorical:
            raise CLIError(
                f"--data: column {categorical[0]!r} is not numeric and the model "
                "has no encoder"
            )
    else:
        X = as_text(X, categorical)
    classifier = is_classifier(model)
    if classifier:
        known = set(np.asarray(model.classes_).astype(str))
        y = y.astype(str) if np.asarray(model.classes_).dtype.kind in "OUS" else y
        unknown = sorted(set(np.asarray(y).astype(str)) - known)
        if unknown:
            raise CLIError(
                f"--target: label {unknown[0]!r} is not a class of the model "
                f"({', '.join(sorted(known))})"
            )
    else:
        if y.dtype.kind not in "biuf":
            raise CLIError(
                f"--target: the model is a regressor but {args.target!r} is not numeric"
            )
    try:
        X_encoded = encode(model, X)
    except ValueError as exc:
        raise CLIError(f"--data: the model cannot read {args.data!r}: {exc}") from None
    units = Units(args.eps_units, X_encoded)
    eps = units.default_eps(X_encoded) if args.eps is None else float(args.eps)
    view = View(model, units, len(numeric) if encoder is not None else None)
    try:
        view.lipschitz_bound()
    except TypeError as exc:
        raise CLIError(f"--model: sklip cannot bound this model: {exc}") from None
    y = np.asarray(y)
    score = float(model.score(X, y))
    Z = view.inputs(X)
    out.write(
        f"model: {args.model} ({type(split(model)[1]).__name__}); "
        f"data: {args.data} ({len(y)} rows)\n"
    )
    out.write(f"eps = {eps:.4g} ({units.label})\n")
    if encoder is not None and len(numeric) < Z.shape[1]:
        scope = (
            "numeric features only"
            if SUPPORTS_FEATURES
            else "all model inputs, one-hot indicators included"
        )
        out.write(f"perturbed: {scope}\n")
    out.write(f"{'accuracy' if classifier else 'R^2':34s} {score:.4f}\n")
    for method in BOUNDS:
        out.write(
            f"{'Lipschitz bound, ' + method:34s} {view.lipschitz_bound(method):.4g}\n"
        )
    lower = lipschitz_lower_bound(view.network, Z, random_state=args.random_state)
    if view.restricted:
        # The lower bound moves every model input; compare it with the bound
        # over every input, which the restricted bounds above need not reach.
        upper = view.lipschitz_bound(all_inputs=True)
        out.write(f"{'Lipschitz bound, all model inputs':34s} {upper:.4g}\n")
        label = "Lipschitz lower bound, all inputs"
    else:
        label = "Lipschitz lower bound"
    out.write(f"{label:34s} {lower:.4g}  (attained; the truth lies between)\n")
    robust = float(view.robust(X, y, eps, args.random_state))
    attack = inspect.signature(robust_accuracy).parameters["attack"].default
    robust_name = f"robust {'accuracy' if classifier else 'R^2'} ({attack})"
    out.write(f"{robust_name:34s} {robust:.4f}\n")
    if classifier:
        # The method is the --certify-method given (default "auto").
        certified = float(view.certified(X, y, eps, args.certify_method))
        out.write(f"{'certified accuracy':34s} {certified:.4f}\n")
    else:
        # ||f(x + d) - f(x)|| <= L ||d||: the certified counterpart of robust R^2.
        deviation = view.lipschitz_bound() * eps
        out.write(f"{'certified max output deviation':34s} {deviation:.4g}\n")
    return 0
