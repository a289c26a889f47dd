"""The grid search behind ``sklip demo`` and ``sklip search``.

One cross-validated ``GridSearchCV`` over ``alpha`` per penalty (``"none"``
ignores ``alpha``, so it is one candidate), all with the same folds and
scorers; progress goes to stderr between penalties.
"""

import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, KFold, StratifiedKFold

from ._model import METRICS, View, fit_units, make_model, make_scorers, mlp_param


class Log:
    """Progress lines on stderr, unless ``--quiet``."""

    def __init__(self, quiet):
        self.quiet = quiet

    def __call__(self, message, end="\n"):
        if not self.quiet:
            import sys

            print(message, end=end, file=sys.stderr, flush=True)


def run_search(
    X_train, y_train, X_test, y_test, *, task, encoder, n_numeric, args, log
):
    """Search, then score the best model of each penalty on the held-out rows.

    Returns a dict with ``rows`` (one per candidate, ranked), ``best`` (one
    per penalty: its refitted model and held-out scores), ``eps``, ``units``.
    """
    units, X_encoded = fit_units(args.eps_units, encoder, X_train)
    eps = units.default_eps(X_encoded) if args.eps is None else float(args.eps)
    log(f"eps = {eps:.4g} ({units.label})")
    model = make_model(
        task,
        encoder,
        units=args.eps_units,
        hidden=args.hidden,
        solver=args.solver,
        max_iter=args.max_iter,
        random_state=args.random_state,
    )
    # A dot per scored fit, printed by the process that scored it: on a dask
    # cluster that is a worker, whose output is not this terminal.
    dots = not args.quiet and args.scheduler is None
    scoring = make_scorers(
        task, units, eps, n_numeric, args.random_state, dots, args.certify_method
    )
    main = METRICS[task][0]
    splitter = StratifiedKFold if task == "classification" else KFold
    cv = splitter(n_splits=args.cv, shuffle=True, random_state=args.random_state)
    # Certified training at the radius the report uses: the margin is in the
    # estimator's input units, which are the units of eps (std: behind a
    # StandardScaler; raw: sklip's pipeline hands over the scaler's map).
    margins = [0.0, eps] if args.margin and eps > 0 else [0.0]
    rows, best = [], []
    for penalty in args.penalties:
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
        search = GridSearchCV(
            model, grid, scoring=scoring, refit=main, cv=cv, n_jobs=args.n_jobs
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            search.fit(X_train, y_train)
        results = search.cv_results_
        for i, alpha in enumerate(results[f"param_{mlp_param(model, 'alpha')}"]):
            margin = results.get(f"param_{mlp_param(model, 'lipschitz_margin')}")
            row = {
                "penalty": penalty,
                "alpha": float(alpha),
                "lipschitz_margin": 0.0 if margin is None else float(margin[i]),
            }
            for metric in METRICS[task]:
                sign = -1.0 if metric == "lipschitz_bound" else 1.0
                row[f"mean_{metric}"] = sign * float(results[f"mean_test_{metric}"][i])
                row[f"std_{metric}"] = float(results[f"std_test_{metric}"][i])
            row["mean_fit_time_s"] = float(results["mean_fit_time"][i])
            rows.append(row)
        view = View(search.best_estimator_, units, n_numeric)
        scores = {
            main: float(search.best_estimator_.score(X_test, y_test)),
            "lipschitz_bound": view.lipschitz_bound(),
            METRICS[task][2]: float(
                view.robust(X_test, y_test, eps, args.random_state)
            ),
        }
        if task == "classification":
            scores["certified_accuracy"] = float(
                view.certified(X_test, y_test, eps, args.certify_method)
            )
        alpha = float(search.best_params_[mlp_param(model, "alpha")])
        margin = search.best_params_.get(mlp_param(model, "lipschitz_margin"), 0.0)
        best.append(
            {
                "penalty": penalty,
                "alpha": alpha,
                "lipschitz_margin": float(margin),
                "model": search.best_estimator_,
                "test": scores,
            }
        )
        log(
            f"{' ' if dots else ''}done in {time.perf_counter() - start:.1f} s; best "
            f"alpha={alpha:g}, cv {main} {search.best_score_:.3f}"
        )
    order = np.argsort([-r[f"mean_{main}"] for r in rows], kind="stable")
    rows = [dict(rows[i], rank=rank + 1) for rank, i in enumerate(order)]
    return {
        "rows": rows,
        "best": best,
        "eps": eps,
        "units": units,
        "task": task,
        "main": main,
    }


def best_overall(result):
    """The held-out best of the per-penalty winners, by the CV ranking."""
    top = result["rows"][0]
    for entry in result["best"]:
        if entry["penalty"] == top["penalty"]:
            return entry
    return result["best"][0]  # pragma: no cover
