"""Argument parsing shared by the subcommands: one-line errors, typed values."""

import argparse
import math
import sys

from ..neural_network._objective import PENALTIES
from ..neural_network._solvers import SOLVERS
from ..verification._methods import METHOD_NAMES, METHODS


class CLIError(Exception):
    """A bad input: reported as one line on stderr, exit status 2."""


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line on stderr and exit 2."""

    def error(self, message):
        # argparse prints the whole usage block before the error; one line
        # names the problem, ``--help`` gives the usage.
        sys.stderr.write(f"{self.prog}: error: {message} (see --help)\n")
        sys.exit(2)


class Formatter(
    argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter
):
    """Shows every option's default in ``--help``; keeps the description's layout."""

    def _get_help_string(self, action):
        text = action.help or ""
        # Options whose help already states the default (or that have none).
        if "default:" in text or "(required)" in text or action.default is None:
            return text
        return super()._get_help_string(action)


def _number(kind, minimum=None, strict=False, allow_inf=False):
    """An argparse ``type=`` that reads a number and checks its range.

    argparse reports an :class:`argparse.ArgumentTypeError` as one line
    naming the option, so each option's error says what was expected
    instead of a traceback from deep in the run.

    Parameters
    ----------
    kind : {int, float}
        Type to read the text as.
    minimum : int or float, default=None
        Smallest accepted value (None: no lower limit).
    strict : bool, default=False
        Whether ``minimum`` itself is refused (``> minimum`` instead of
        ``>= minimum``).
    allow_inf : bool, default=False
        Whether a float may be infinite (``"inf"``); NaN never passes.

    Returns
    -------
    parse : callable
        ``parse(text) -> kind``; its ``__name__`` (``"integer"`` or
        ``"number"``) is what argparse prints in its own messages.
    """

    def parse(text):
        """``text`` as a ``kind`` in range, or an ``ArgumentTypeError`` saying
        what was expected and what was given."""
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected {'an integer' if kind is int else 'a number'}, got {text!r}"
            ) from None
        if kind is float and not (math.isfinite(value) or allow_inf):
            raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
        if minimum is not None and (value <= minimum if strict else value < minimum):
            relation = ">" if strict else ">="
            raise argparse.ArgumentTypeError(
                f"must be {relation} {minimum}, got {text}"
            )
        return value

    parse.__name__ = "integer" if kind is int else "number"
    return parse


non_negative_float = _number(float, minimum=0.0)
positive_float = _number(float, minimum=0.0, strict=True)
positive_int = _number(int, minimum=1)


def fraction(text):
    value = _number(float, minimum=0.0, strict=True)(text)
    if value >= 1:
        raise argparse.ArgumentTypeError(f"must be in (0, 1), got {text}")
    return value


def n_jobs(text):
    value = _number(int)(text)
    if value == 0 or value < -1:
        raise argparse.ArgumentTypeError(f"must be -1 (all cores) or >= 1, got {text}")
    return value


def cv_folds(text):
    value = _number(int, minimum=2)(text)
    return value


def separator(text):
    """A one-character column separator (``\\t`` and friends unescaped)."""
    value = text.encode().decode("unicode_escape") if "\\" in text else text
    if len(value) != 1:
        raise argparse.ArgumentTypeError(
            f"must be a single character (e.g. ',' ';' '\\t'), got {text!r}"
        )
    if value in '"\r\n':
        raise argparse.ArgumentTypeError(f"cannot be a quote or newline, got {text!r}")
    return value


def decimal_mark(text):
    """``.`` or ``,``."""
    if text not in (".", ","):
        raise argparse.ArgumentTypeError(f"must be '.' or ',', got {text!r}")
    return text


def unique(values):
    """``values`` without repeats, in first-seen order."""
    return list(dict.fromkeys(values))


def add_model_options(parser, *, quick_note):
    """Options of the model grid, shared by ``demo`` and ``search``."""
    grid = parser.add_argument_group("model grid")
    grid.add_argument(
        "--penalties",
        nargs="+",
        choices=list(PENALTIES),
        default=list(PENALTIES),
        help="penalties to compare (repeats are ignored)",
    )
    grid.add_argument(
        "--alphas",
        "--alpha",
        nargs="+",
        type=non_negative_float,
        default=None,
        metavar="ALPHA",
        help="penalty strengths to search, >= 0 (equal alphas are not equal "
        "strength across penalties: ||W||_F^2 sums every squared singular "
        "value); default: 0.1 0.3 1 3 10 30 100, with --quick 1 10",
    )
    grid.add_argument(
        "--hidden",
        nargs="+",
        type=positive_int,
        default=None,
        metavar="UNITS",
        help="hidden layer sizes, each >= 1; default: 64, with --quick 32",
    )
    grid.add_argument(
        "--solver",
        choices=list(SOLVERS),
        default="adam",
        help="optimizer (the estimators' solver=)",
    )
    grid.add_argument(
        "--max-iter",
        type=positive_int,
        default=None,
        help="training epochs (iterations for lbfgs), >= 1; default: 200, "
        "with --quick 100",
    )
    grid.add_argument(
        "--cv",
        type=cv_folds,
        default=None,
        help="cross-validation folds, >= 2; default: 5, with --quick 2",
    )
    grid.add_argument(
        "--n-jobs",
        type=n_jobs,
        default=None,
        help="parallel fits of the grid search on this machine (-1: all cores); "
        "default: 2, with --scheduler -1: every worker thread of the cluster "
        "runs fits (joblib's dask backend cannot run fewer, so any other value "
        "is an error there)",
    )
    grid.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        default=None,
        help="run the grid search's fits on the dask cluster whose scheduler "
        "is at ADDRESS (as printed by `dask scheduler`, e.g. "
        "tcp://10.0.0.5:8786; needs sklip[distributed]); default: this machine",
    )
    grid.add_argument(
        "--scheduler-timeout",
        type=positive_float,
        default=5.0,
        metavar="SECONDS",
        help="with --scheduler: seconds to wait for the scheduler to answer "
        "(and for its first worker) before stopping with an error",
    )
    grid.add_argument(
        "--test-size",
        type=fraction,
        default=0.25,
        help="fraction of the rows held out for the final test report",
    )
    grid.add_argument(
        "--random-state", type=int, default=0, help="seed of every random choice"
    )
    grid.add_argument(
        "--margin",
        action="store_true",
        help="also search lipschitz_margin = eps (certified training at the "
        "report's radius; classification only; doubles the grid)",
    )
    grid.add_argument("--quick", action="store_true", help=quick_note)


def add_data_options(parser, *, with_features=True, target_required=True):
    """``--data``, ``--target``, ``--sep`` (and ``--features``): a CSV to read."""
    data = parser.add_argument_group("data")
    data.add_argument(
        "--data",
        required=True,
        metavar="FILE.csv",
        help="CSV file with a header row (required)",
    )
    data.add_argument(
        "--target",
        required=target_required,
        metavar="COLUMN",
        help="name of the target column (required)"
        if target_required
        else "name of the target column; default: the one saved with the model",
    )
    data.add_argument(
        "--sep",
        type=separator,
        default=",",
        help="column separator, one character, e.g. ';' or '\\t'",
    )
    data.add_argument(
        "--decimal",
        type=decimal_mark,
        default=".",
        help="decimal mark of the numbers ('.' or ','; with ',' the separator "
        "is usually ';')",
    )
    if not with_features:
        return
    data.add_argument(
        "--features",
        nargs="+",
        default=None,
        metavar="COLUMN",
        help="feature columns; default: every column but the target, except "
        "those that look like ids, free text, dates or numbers with a decimal "
        "comma (dropped with a warning naming them)",
    )
    data.add_argument(
        "--categorical",
        nargs="+",
        default=[],
        metavar="COLUMN",
        help="columns to treat as categorical whatever their values (e.g. "
        "integer-coded answers), held fixed by every perturbation; default: "
        "the non-numeric ones",
    )


def add_eps_options(parser, *, saved=False):
    """``--eps`` and ``--eps-units`` (defaults: the saved ones when ``saved``)."""
    robust = parser.add_argument_group("perturbations")
    default = (
        "the eps the model was selected at (in other --eps-units: the default "
        "rule below on the saved training statistics); "
        if saved
        else ""
    )
    robust.add_argument(
        "--eps",
        type=non_negative_float,
        default=None,
        help="L2 radius of the perturbations of the numeric features (categorical "
        f"ones are held fixed), in --eps-units; default: {default}20%% of the "
        "root-mean-square distance of the training rows to their mean over the "
        "numeric features (sklip.robustness.default_eps): 0.2 * sqrt(n_numeric) "
        "in std units, i.e. 0.2 training standard deviations per numeric feature",
    )
    robust.add_argument(
        "--eps-units",
        choices=["std", "raw"],
        default=None if saved else "std",
        help="units of eps, Lipschitz bounds and certificates: 'std' measures "
        "each numeric feature in its training standard deviations (comparable "
        "across features), 'raw' in the CSV's own units"
        + ("; default: the units saved with the model" if saved else ""),
    )
    robust.add_argument(
        "--certify-method",
        choices=METHOD_NAMES,
        default="auto",
        help="certificate of 'certified accuracy' (see sklip.certify): "
        + "; ".join(f"{m.name}: {m.summary}" for m in METHODS.values()),
    )


def add_output_options(parser, *, default_output):
    out = parser.add_argument_group("output")
    out.add_argument(
        "--output",
        default=default_output,
        metavar="DIR",
        help="report directory (cv_results.csv and PNG figures); '' for none",
    )
    out.add_argument("--quiet", action="store_true", help="no progress on stderr")
