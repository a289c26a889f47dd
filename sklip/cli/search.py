"""``sklip search``: the main job on a user's CSV file."""

import sys

from ._args import (
    CLIError,
    add_data_options,
    add_eps_options,
    add_model_options,
    add_output_options,
)
from ._data import (
    as_text,
    check_class_counts,
    infer_task,
    make_encoder,
    read_csv,
    split_columns,
)
from ._runner import run_and_report

DESCRIPTION = """\
Cross-validated grid search over penalty x alpha on a CSV file with a header
row. Numeric columns are imputed (median), text columns imputed (most
frequent) and one-hot encoded; ids, free text, dates and decimal-comma numbers
are dropped with a warning (--features, --categorical, --decimal override).
Classification or regression is inferred from the target column (--task);
a regression target is standardised for training (results stay in its units).
Only numeric features are perturbed, in --eps-units (std: training standard
deviations). Reports accuracy (R^2), certified Lipschitz bound, robust and
certified accuracy for every candidate and for two baselines (majority class /
mean, LogisticRegression / RidgeCV) measured alike; flags collapsed candidates
and prints the selection rule.
"""


def add_parser(subparsers):
    """Register ``sklip search`` and its options.

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
        "search", help="the main job on a CSV file", description=DESCRIPTION
    )
    add_data_options(parser)
    parser.add_argument(
        "--task",
        choices=["auto", "classification", "regression"],
        default="auto",
        help="auto: classification for a text target or integers with at most "
        "20 distinct values, regression otherwise",
    )
    add_model_options(
        parser,
        quick_note="a few seconds: 2 alphas, 2 folds, 32 hidden units, 100 epochs",
    )
    add_eps_options(parser)
    add_output_options(parser, default_output="sklip-report")
    parser.add_argument(
        "--save-model",
        default=None,
        metavar="FILE.skops",
        help="save the selected model (whole pipeline, raw CSV columns in) "
        "with its units, eps, column kinds, target and task, as a skops file "
        "(sklip.save: no code runs when it is loaded); default: not saved",
    )
    parser.add_argument(
        "--save-test",
        default=None,
        metavar="FILE.csv",
        help="write the held-out rows (every column, as read) to FILE.csv, to "
        "check the report with 'sklip evaluate'; default: not written",
    )
    parser.set_defaults(run=run)
    return parser


def load(args):
    """Read ``--data`` and split it into features and target.

    The frame as read is kept on ``args.frame`` for ``--save-test`` (which
    writes the held-out rows with every column).

    Parameters
    ----------
    args : argparse.Namespace
        The options of :func:`add_parser`.

    Returns
    -------
    X : DataFrame of shape (n_samples, n_features)
        The feature columns, raw units, numeric ones first (the units'
        input map keeps that order), categorical ones as text.
    y : Series of shape (n_samples,)
        The target: floats for regression, labels (text unless numeric)
        for classification.
    numeric, categorical : list of str
        The feature columns perturbed, and held fixed.
    task : {"classification", "regression"}
        ``--task``, or the task inferred from the target.
    """
    frame = read_csv(args.data, sep=args.sep, decimal=args.decimal)
    args.frame = frame
    X, y, numeric, categorical = split_columns(
        frame,
        target=args.target,
        features=args.features,
        path=repr(args.data),
        categorical=args.categorical,
        warn=lambda text: print(f"sklip search: warning: {text}", file=sys.stderr),
    )
    y, task = infer_task(y, args.task)
    # Numeric columns first: the units' input map keeps that order.
    X = as_text(X[numeric + categorical], categorical)
    return X, y, numeric, categorical, task


def run(args, out=sys.stdout):
    """Search and report on ``--data``; save the selected model if asked.

    Every option that could fail after the search (``--margin`` on a
    regression task, too few rows of a class for ``--cv``, an unwritable
    ``--save-model`` or ``--save-test`` path) is checked before it starts.

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

    Raises
    ------
    CLIError
        On bad options or data, and when ``--save-model`` is asked but every
        candidate collapsed to the constant baseline.
    """
    X, y, numeric, categorical, task = load(args)
    if args.margin and task != "classification":
        raise CLIError("--margin: certified training needs a classification task")
    if task == "classification":
        from ._runner import fill_defaults

        fill_defaults(args)
        check_class_counts(y, max(2, args.cv))
    for option, value in (
        ("--save-model", args.save_model),
        ("--save-test", args.save_test),
    ):
        if value is None:
            continue
        import pathlib

        if not value or not pathlib.Path(value).parent.is_dir():
            raise CLIError(
                f"{option}: {value!r} is not a file name in an existing directory"
            )
    title = (
        f"data: {args.data} ({X.shape[0]} rows; {len(numeric)} numeric, "
        f"{len(categorical)} categorical feature(s)); target {args.target!r}: {task}"
    )
    result = run_and_report(
        X,
        y,
        task=task,
        encoder=make_encoder(X, numeric, categorical),
        numeric=numeric,
        categorical=categorical,
        args=args,
        title=title,
        out=out,
    )
    if args.save_test:
        rows = args.frame.loc[result["test_index"]]
        try:
            rows.to_csv(args.save_test, index=False, sep=args.sep, decimal=args.decimal)
        except OSError as exc:
            raise CLIError(
                f"--save-test: cannot write {args.save_test!r}: {exc.strerror}"
            ) from None
        out.write(f"held-out rows written to {args.save_test}\n")
    if args.save_model:
        from ._labels import candidate_name
        from ._modelfile import save_model

        best = result["selected"]
        if best is None:
            raise CLIError(
                "--save-model: no model saved: every candidate collapsed to the "
                "constant baseline"
            )
        save_model(
            args.save_model,
            best["model"],
            task=task,
            target=args.target,
            units=result["units"],
            eps=result["eps"],
            candidate=candidate_name(best),
        )
        out.write(
            f"saved the selected model ({candidate_name(best)}) to {args.save_model}\n"
        )
    return result
