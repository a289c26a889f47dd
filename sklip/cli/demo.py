"""``sklip demo``: the main job on a built-in data set (what bare ``sklip`` runs)."""

import sys

from ._args import add_eps_options, add_model_options, add_output_options
from ._runner import run_and_report

DATASETS = ("digits", "breast_cancer", "wine", "iris")

DESCRIPTION = """\
Cross-validated grid search over penalty x alpha of LipschitzMLPClassifier on
a built-in scikit-learn data set: a ranked table of accuracy, certified
Lipschitz bound, robust accuracy under sklip's default L2 attack and certified
accuracy, then the best model of each penalty on held-out rows, and a report
directory with cv_results.csv and two figures. About a minute on 2 cores;
--quick takes seconds.
"""


def add_parser(subparsers):
    """Register ``sklip demo`` and its options.

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
        "demo", help="the main job on built-in data", description=DESCRIPTION
    )
    parser.add_argument(
        "--data", choices=DATASETS, default="digits", help="built-in data set"
    )
    add_model_options(
        parser,
        quick_note="a few seconds: 2 alphas, 2 folds, 32 hidden units, 100 epochs",
    )
    add_eps_options(parser)
    add_output_options(parser, default_output="sklip-report")
    parser.set_defaults(run=run)
    return parser


def load(name):
    from sklearn import datasets

    data = getattr(datasets, f"load_{name}")()
    return data.data, data.target, [str(n) for n in data.feature_names]


def run(args, out=sys.stdout):
    """Search and report on the built-in data set ``--data``.

    Every column of these data sets is numeric and complete, so the model
    reads arrays without an encoder and every feature is perturbed (in
    ``--eps-units``).

    Parameters
    ----------
    args : argparse.Namespace
        The options of :func:`add_parser`.
    out : file-like, default=sys.stdout
        Where the tables go.

    Returns
    -------
    result : dict
        See :func:`~._runner.run_and_report`.
    """
    # All-numeric, no missing cells: arrays, no encoder, every column moves.
    X, y, numeric = load(args.data)
    return run_and_report(
        X,
        y,
        task="classification",
        encoder="passthrough",
        numeric=numeric,
        categorical=[],
        args=args,
        title=f"data: {args.data} ({X.shape[0]} rows, {X.shape[1]} features)",
        out=out,
    )
