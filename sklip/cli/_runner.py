"""Defaults, the train/test split and the report, shared by demo and search."""

from contextlib import contextmanager

import numpy as np
from sklearn.model_selection import train_test_split

from ._args import CLIError, unique
from ._labels import pyplot
from ._report import print_tables, write_report
from ._search import Log, run_search

FULL = {
    "alphas": [0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0],
    "hidden": [64],
    "max_iter": 200,
    "cv": 5,
}
QUICK = {"alphas": [1.0, 10.0], "hidden": [32], "max_iter": 100, "cv": 2}


def fill_defaults(args):
    """Fill the grid options left unset, in place, and check their combination.

    Unset options (None) take the values of :data:`QUICK` with ``--quick``,
    else :data:`FULL`; repeated penalties and alphas are dropped (each would
    refit the same candidates). Idempotent: ``search`` calls it early to
    know ``--cv`` before checking the class counts, ``run_and_report``
    again.

    Parameters
    ----------
    args : argparse.Namespace
        The parsed options of ``demo`` or ``search``
        (:func:`~._args.add_model_options`).

    Returns
    -------
    args : argparse.Namespace
        The same object, filled.

    Raises
    ------
    CLIError
        If ``--n-jobs`` is given with ``--scheduler`` (other than -1).
    """
    defaults = QUICK if args.quick else FULL
    for name, value in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    args.penalties = unique(args.penalties)
    args.alphas = unique(args.alphas)
    if args.scheduler is not None and args.n_jobs not in (None, -1):
        # joblib's dask backend runs as many fits at once as the workers
        # have threads, whatever n_jobs says: a smaller value would be a lie.
        raise CLIError(
            "--n-jobs: with --scheduler every worker thread of the cluster runs "
            f"fits; leave --n-jobs out (or -1), got {args.n_jobs}"
        )
    if args.n_jobs is None:
        args.n_jobs = 2 if args.scheduler is None else -1
    return args


@contextmanager
def fits_on(args, log):
    """Where the grid search's fits run: here, or on the dask cluster of
    ``--scheduler`` (connected first, so that a wrong address fails before
    any work; the client is closed at the end, whatever happens)."""
    if args.scheduler is None:
        yield
        return
    import joblib

    from ..distributed import connect

    try:
        client = connect(args.scheduler, timeout=args.scheduler_timeout)
    except (ImportError, ValueError, ConnectionError) as exc:
        raise CLIError(f"--scheduler: {' '.join(str(exc).split())}") from None
    try:
        try:
            client.wait_for_workers(1, timeout=args.scheduler_timeout)
        except TimeoutError:
            raise CLIError(
                f"--scheduler: no worker joined the scheduler at "
                f"{args.scheduler!r} within {args.scheduler_timeout:g} s; start "
                f"some with `dask worker {args.scheduler}`"
            ) from None
        workers = client.scheduler_info()["workers"].values()
        threads = sum(w.get("nthreads", 1) for w in workers)
        log(
            f"fits run on the dask cluster at {args.scheduler}: "
            f"{len(workers)} worker(s), {threads} thread(s)"
        )
        with joblib.parallel_config(
            backend="dask",
            client=client,
            wait_for_workers_timeout=args.scheduler_timeout,
        ):
            yield
    finally:
        client.close()


def run_and_report(X, y, *, task, encoder, numeric, categorical, args, title, out):
    """Split, search, print the tables and write the report directory.

    ``X`` is the feature frame, numeric columns first (``numeric``), then
    the ``categorical`` ones, which are held fixed by every perturbation.
    """
    fill_defaults(args)
    if args.output:
        pyplot()  # fail before the search, not after it
    log = Log(args.quiet)
    # A wrong --scheduler fails before anything is printed or computed.
    with fits_on(args, log):
        result = _search_and_report(
            X,
            y,
            task=task,
            encoder=encoder,
            numeric=numeric,
            categorical=categorical,
            args=args,
            title=title,
            out=out,
            log=log,
        )
    return result


def _search_and_report(
    X, y, *, task, encoder, numeric, categorical, args, title, out, log
):
    """The body of :func:`run_and_report`, inside :func:`fits_on`.

    Holds out ``--test-size`` of the rows (stratified for classification,
    seeded by ``--random-state``), runs the search on the rest, prints the
    tables to ``out`` and writes the report directory (``--output``).

    Parameters
    ----------
    X : DataFrame or ndarray of shape (n_samples, n_features)
        The feature frame, raw units, numeric columns first.
    y : Series or ndarray of shape (n_samples,)
        The target.
    task : {"classification", "regression"}
    encoder : transformer or "passthrough"
        The first step of every model (:func:`~._model.make_model`).
    numeric, categorical : list of str
        Column names: perturbed, and held fixed.
    args : argparse.Namespace
        The options, defaults filled (:func:`fill_defaults`).
    title : str
        First line of the printed report.
    out : file-like
        Where the tables go (stdout by default).
    log : Log
        Progress messages (stderr unless ``--quiet``).

    Returns
    -------
    result : dict
        :func:`~._search.run_search`'s result, plus ``test_index`` (the
        held-out rows' index, None for arrays) and ``target`` (the target
        column's name, None for a built-in data set).
    """
    stratify = y if task == "classification" else None
    X_train, X_test, y_train, y_test = train_test_split(
        X,
        y,
        test_size=args.test_size,
        stratify=stratify,
        random_state=args.random_state,
    )
    log(f"{title}; {len(y_train)} training rows, {len(y_test)} held out")
    result = run_search(
        X_train,
        y_train,
        X_test,
        y_test,
        task=task,
        encoder=encoder,
        units=(args.eps_units, numeric, categorical),
        args=args,
        log=log,
    )
    result["test_index"] = getattr(X_test, "index", None)
    result["target"] = getattr(args, "target", None)
    out.write(title + "\n")
    print_tables(result, out)
    if args.output:
        directory = write_report(
            result,
            args.output,
            X_test,
            np.asarray(y_test),
            random_state=args.random_state,
            n_jobs=1 if args.scheduler is not None else args.n_jobs,
        )
        out.write(
            f"\nreport: {directory}/ (cv_results.csv, accuracy_vs_lipschitz.png, "
            "robustness_curves.png and .csv)\n"
        )
    return result
