"""The grid search behind ``sklip demo`` and ``sklip search``.

One cross-validated ``GridSearchCV`` over ``alpha`` per penalty (``"none"``
ignores ``alpha``, so it is one candidate), all with the same folds and
scorers, plus the baselines measured the same way (:mod:`._baselines`);
progress goes to stderr between penalties. The candidate is chosen by
:func:`select` (the rule is printed with the table) and refitted on every
training row.
"""

import time
import warnings

import numpy as np
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, KFold, StratifiedKFold

from ._baselines import run_baselines
from ._model import METRICS, HeldOut, make_model, make_scorers, mlp_param
from ._units import Units

# Selection: within this much of the best cross-validated accuracy (R^2),
# the most robust candidate; a candidate this close to the majority / mean
# predictor is "collapsed".
TOLERANCE = 0.01
# Scores equal to this many decimals (as printed) are ties.
DECIMALS = 3


class Log:
    """Progress lines on stderr, unless ``--quiet``."""

    def __init__(self, quiet):
        self.quiet = quiet

    def __call__(self, message, end="\n"):
        if not self.quiet:
            import sys

            print(message, end=end, file=sys.stderr, flush=True)


def selection_rule(task):
    """The rule :func:`select` applies, in words, for the report."""
    main = "accuracy" if task == "classification" else "R^2"
    robust = f"robust {main}"
    pts = f"{TOLERANCE:g}"
    return (
        f"selection: among candidates not collapsed (cv {main} more than {pts} "
        f"above the {'majority-class' if task == 'classification' else 'mean'} "
        f"predictor's), the highest cv {robust} within {pts} of the best cv "
        f"{main}; ties (to {DECIMALS} decimals) to the smaller certified L bound"
    )


def select(rows, task):
    """Index into ``rows`` of the candidate the rule picks, or None when
    every candidate collapsed."""
    main, robust = METRICS[task][0], METRICS[task][2]
    live = [i for i, r in enumerate(rows) if not r["collapsed"]]
    if not live:
        return None
    best = max(rows[i][f"mean_{main}"] for i in live)
    near = [i for i in live if rows[i][f"mean_{main}"] >= best - TOLERANCE]
    return min(
        near,
        key=lambda i: (
            -round(rows[i][f"mean_{robust}"], DECIMALS),
            rows[i]["mean_lipschitz_bound"],
        ),
    )


def _splitter(task, args):
    splitter = StratifiedKFold if task == "classification" else KFold
    return splitter(n_splits=args.cv, shuffle=True, random_state=args.random_state)


def run_search(X_train, y_train, X_test, y_test, *, task, encoder, units, args, log):
    """Search, select, then score the chosen models on the held-out rows.

    ``units`` is ``(kind, numeric, categorical)``; the units are fitted on
    ``X_train``. Returns a dict with ``rows`` (one per candidate, ranked, each
    flagged ``collapsed``), ``baselines`` (rows measured the same way),
    ``best`` (per penalty: the candidate the rule picks within that penalty,
    refitted, with its held-out scores), ``selected`` (the overall pick, or
    None), ``eps``, ``units``, ``task``, ``main``, ``rule``.
    """
    units = Units.fit(*units[:1], X_train, *units[1:])
    eps = units.default_eps() if args.eps is None else float(args.eps)
    log(f"eps = {eps:.4g} ({units.label})")
    model = make_model(
        task,
        encoder,
        units=units.kind,
        hidden=args.hidden,
        solver=args.solver,
        max_iter=args.max_iter,
        random_state=args.random_state,
    )
    # A dot per scored fit, printed by the process that scored it: on a dask
    # cluster that is a worker, whose output is not this terminal.
    dots = not args.quiet and args.scheduler is None
    scoring = make_scorers(
        task, units, eps, args.random_state, dots, args.certify_method
    )
    main = METRICS[task][0]
    cv = _splitter(task, args)
    held_out = HeldOut(
        task, units, X_test, y_test, eps, args.random_state, args.certify_method
    )
    baselines = run_baselines(encoder, X_train, y_train, held_out, cv, args, log)
    floor = baselines[0]["cv"][main]
    # Certified training at the radius the report uses: the margin is in the
    # estimator's input units, which are the units of eps (std: behind a
    # StandardScaler; raw: sklip's pipeline hands over the scaler's map).
    margins = [0.0, eps] if args.margin and eps > 0 else [0.0]
    rows = []
    for penalty in args.penalties:
        rows += _search_penalty(
            model, penalty, margins, X_train, y_train, scoring, cv, args, log, dots
        )
    for row in rows:
        row["collapsed"] = row[f"mean_{main}"] <= floor + TOLERANCE
    picks = {}
    for penalty in args.penalties:
        mine = [i for i, r in enumerate(rows) if r["penalty"] == penalty]
        pick = select([rows[i] for i in mine], task)
        if pick is not None:
            picks[mine[pick]] = penalty
    overall = select(rows, task)
    if overall is not None and overall not in picks:
        # The overall rule can pick another alpha than the penalty's own.
        picks[overall] = rows[overall]["penalty"]
    chosen = sorted(picks, key=lambda i: args.penalties.index(picks[i]))
    # The refits and their held-out attacks run here, in parallel (the grid
    # search's cluster, if any, is for the search only).
    from joblib import Parallel, delayed

    jobs = 1 if args.scheduler is not None else args.n_jobs
    best = Parallel(n_jobs=min(jobs, len(chosen)) if chosen else 1)(
        delayed(_refit)(model, rows[i], X_train, y_train, held_out) for i in chosen
    )
    selected = None
    for i, entry in zip(chosen, best):
        # Parallel returns copies: match the entry to its row again.
        entry["row"] = rows[i]
        if i == overall:
            selected = entry
    order = np.argsort([-r[f"mean_{main}"] for r in rows], kind="stable")
    rows = [dict(rows[i], rank=rank + 1) for rank, i in enumerate(order)]
    return {
        "rows": rows,
        "baselines": baselines,
        "best": best,
        "selected": selected,
        "eps": eps,
        "units": units,
        "task": task,
        "main": main,
        "rule": selection_rule(task),
    }


def _refit(model, row, X, y, held_out):
    """The candidate of ``row`` fitted on every training row, with its
    held-out scores."""
    fitted = clone(model).set_params(**row["params"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        fitted.fit(X, y)
    return {
        "penalty": row["penalty"],
        "alpha": row["alpha"],
        "lipschitz_margin": row["lipschitz_margin"],
        "row": row,
        "model": fitted,
        "test": held_out.scores(fitted),
    }


def _search_penalty(model, penalty, margins, X, y, scoring, cv, args, log, dots):
    """CV rows of one penalty's grid (no refit: :func:`select` decides)."""
    task = "classification" if "accuracy" in scoring else "regression"
    main = METRICS[task][0]
    alphas = [0.0] if penalty == "none" else args.alphas
    grid = {
        mlp_param(model, "penalty"): [penalty],
        mlp_param(model, "alpha"): alphas,
    }
    if margins != [0.0]:
        grid[mlp_param(model, "lipschitz_margin")] = margins
    n_fits = len(alphas) * len(margins) * args.cv
    # The scorers add one dot per scored fit to this line.
    log(
        f"penalty={penalty}: {len(alphas)} alpha(s) x "
        + (f"{len(margins)} margins x " if len(margins) > 1 else "")
        + f"{args.cv} folds = {n_fits} fits ",
        end="",
    )
    start = time.perf_counter()
    # error_score="raise": a scorer that fails is a bug to report, not a NaN
    # in the table.
    search = GridSearchCV(
        model,
        grid,
        scoring=scoring,
        refit=False,
        cv=cv,
        n_jobs=args.n_jobs,
        error_score="raise",
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search.fit(X, y)
    results = search.cv_results_
    rows = []
    for i, params in enumerate(results["params"]):
        margin = params.get(mlp_param(model, "lipschitz_margin"), 0.0)
        row = {
            "penalty": penalty,
            "alpha": float(params[mlp_param(model, "alpha")]),
            "lipschitz_margin": float(margin),
            "params": params,
        }
        for metric in scoring:
            sign = -1.0 if metric == "lipschitz_bound" else 1.0
            row[f"mean_{metric}"] = sign * float(results[f"mean_test_{metric}"][i])
            row[f"std_{metric}"] = float(results[f"std_test_{metric}"][i])
        row["mean_fit_time_s"] = float(results["mean_fit_time"][i])
        rows.append(row)
    top = max(r[f"mean_{main}"] for r in rows)
    log(
        f"{' ' if dots else ''}done in {time.perf_counter() - start:.1f} s; "
        f"best cv {main} {top:.3f}"
    )
    return rows
