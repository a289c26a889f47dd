"""Certified against clean accuracy: penalty only, Lipschitz margin, budget.

For each data set, every training method sweeps its parameters and reports
test accuracy and certified accuracy at one L2 radius ``eps`` (raw input
units, certificates from :func:`sklip.certified_accuracy`, i.e. the tightest
pairwise bounds sklip has). The Pareto front of each method is plotted
(certified accuracy against clean accuracy) and a table lists every run.

Methods (a grid each; all other settings are the estimator's defaults):

- ``penalty``: penalty only, ``penalty="frobenius"`` with alpha in
  {0.03, 0.1, 0.3, 1, 3} and ``penalty="spectral"`` with alpha in
  {3, 10, 30, 100, 300};
- ``margin-pairwise`` / ``margin-global``: ``lipschitz_margin`` in
  {eps, 2 eps} x alpha in {1e-4, 1e-2, 1} (spectral penalty) with
  ``margin_kind="pairwise"`` (GloRo) or ``"global"`` (Tsuzuku et al.);
- ``budget``: ``max_lipschitz`` in {0.25, 0.5, 1, 2, 4} / eps;
- ``margin+budget``: ``lipschitz_margin=eps`` with ``max_lipschitz`` in
  {0.5, 1, 2} / eps. In raw units a fresh network can have a huge Lipschitz
  bound (features of tiny variance); the margin alone then dominates the
  loss and may drive the network to a constant, which the budget prevents.

Data sets: digits (pixels / 16, so raw and model units coincide; eps 0.5 and
the issue's setting: 75/25 stratified split with random_state 0, hidden
(128,), max_iter 300), and two tabular data sets through
``sklip.pipeline.make_pipeline(StandardScaler(), model)`` so that margins
and budgets are in raw units: breast cancer (30 features on very different
scales) and wine (13 features). Their eps is 2% of the median
distance from a test point to the nearest training point of another class
(raw units), printed with the results.

The headline number is the best certified accuracy among runs whose clean
accuracy is at least ``--min-accuracy`` (0.93 by default).

    python benchmarks/bench_certified_training.py [--datasets digits,...]
        [--plot certified_training.png] [--n-jobs 2] [--min-accuracy 0.93]
        [--quick]

``--quick`` (what the test suite runs, to keep the script working): wine
only, the first run of each method, 50 iterations, one job.
"""

import argparse
import time
import warnings

import numpy as np
from joblib import Parallel, delayed
from sklearn.datasets import load_breast_cancer, load_digits, load_wine
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from sklip import LipschitzMLPClassifier, certified_accuracy, lipschitz_bound
from sklip.pipeline import make_pipeline

METHODS = ("penalty", "margin-pairwise", "margin-global", "budget", "margin+budget")


def load(name):
    """``(X_train, X_test, y_train, y_test, eps, scaled, hidden, max_iter)``."""
    if name == "digits":
        X, y = load_digits(return_X_y=True)
        parts = train_test_split(
            X / 16.0, y, test_size=0.25, stratify=y, random_state=0
        )
        return (*parts, 0.5, False, (128,), 300)
    X, y = (load_breast_cancer if name == "breast_cancer" else load_wine)(
        return_X_y=True
    )
    parts = train_test_split(X, y, test_size=0.25, stratify=y, random_state=0)
    X_train, X_test, y_train, y_test = parts
    # Median distance of a test point to the closest training point of
    # another class, in raw units.
    d = np.linalg.norm(X_test[:, None, :] - X_train[None, :, :], axis=2)
    d[y_test[:, None] == y_train[None, :]] = np.inf
    eps = 0.02 * float(np.median(d.min(axis=1)))
    return (*parts, eps, True, (64,), 300)


def grid(eps):
    runs = [
        ("penalty", dict(penalty="frobenius", alpha=a)) for a in (0.03, 0.1, 0.3, 1, 3)
    ]
    runs += [
        ("penalty", dict(penalty="spectral", alpha=a)) for a in (3, 10, 30, 100, 300)
    ]
    for kind in ("pairwise", "global"):
        runs += [
            (
                f"margin-{kind}",
                dict(lipschitz_margin=m * eps, alpha=a, margin_kind=kind),
            )
            for m in (1, 2)
            for a in (1e-4, 1e-2, 1)
        ]
    runs += [("budget", dict(max_lipschitz=b / eps)) for b in (0.25, 0.5, 1, 2, 4)]
    runs += [
        ("margin+budget", dict(lipschitz_margin=eps, max_lipschitz=b / eps))
        for b in (0.5, 1, 2)
    ]
    return runs


def quick_grid(eps):
    """The first run of each method of :func:`grid`."""
    first = {}
    for method, params in grid(eps):
        first.setdefault(method, params)
    return list(first.items())


def run(data, method, params):
    X_train, X_test, y_train, y_test, eps, scaled, hidden, max_iter = data
    with threadpool_limits(1), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        start = time.perf_counter()
        model = LipschitzMLPClassifier(
            hidden, max_iter=max_iter, random_state=0, **params
        )
        if scaled:
            model = make_pipeline(StandardScaler(), model)
        model.fit(X_train, y_train)
        seconds = time.perf_counter() - start
        return dict(
            method=method,
            params=params,
            accuracy=float(model.score(X_test, y_test)),
            certified=float(certified_accuracy(model, X_test, y_test, eps=eps)),
            lipschitz=float(lipschitz_bound(model)),
            seconds=seconds,
        )


def pareto(rows):
    """Rows not dominated in (accuracy, certified), sorted by accuracy."""
    front = [
        r
        for r in rows
        if not any(
            o["accuracy"] >= r["accuracy"]
            and o["certified"] >= r["certified"]
            and (o["accuracy"], o["certified"]) != (r["accuracy"], r["certified"])
            for o in rows
        )
    ]
    return sorted(front, key=lambda r: r["accuracy"])


def fmt(params):
    out = []
    for k, v in params.items():
        out.append(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}")
    return ", ".join(out)


def report(name, eps, rows, min_accuracy):
    print(f"\n== {name}: certified accuracy at L2 eps = {eps:.4g} (raw input units)")
    print(f"{'method':16s} {'acc':>6s} {'cert':>6s} {'L (raw)':>9s} {'s':>5s}  params")
    for r in rows:
        print(
            f"{r['method']:16s} {r['accuracy']:6.3f} {r['certified']:6.3f} "
            f"{r['lipschitz']:9.3f} {r['seconds']:5.1f}  {fmt(r['params'])}"
        )
    print(
        f"-- best certified accuracy among runs with test accuracy >= {min_accuracy}:"
    )
    best = {}
    for method in METHODS:
        ok = [
            r for r in rows if r["method"] == method and r["accuracy"] >= min_accuracy
        ]
        if ok:
            b = max(ok, key=lambda r: r["certified"])
            best[method] = b["certified"]
            print(
                f"   {method:16s} {b['certified']:.3f} (acc {b['accuracy']:.3f}; "
                f"{fmt(b['params'])})"
            )
        else:
            print(f"   {method:16s} no run reaches that accuracy")
    if "penalty" in best:
        for method in METHODS[1:]:
            if method in best:
                gain = best[method] - best["penalty"]
                print(f"   {method} - penalty: {gain:+.3f}")


def plot(results, path):
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no plot (pip install sklip[plot]).")
        return
    fig, axes = plt.subplots(1, len(results), figsize=(5 * len(results), 4.2))
    axes = np.atleast_1d(axes)
    for ax, (name, (eps, rows)) in zip(axes, results.items()):
        for method, marker in zip(METHODS, "osD^v"):
            mine = [r for r in rows if r["method"] == method]
            ax.scatter(
                [r["accuracy"] for r in mine],
                [r["certified"] for r in mine],
                marker=marker,
                alpha=0.35,
            )
            front = pareto(mine)
            ax.plot(
                [r["accuracy"] for r in front],
                [r["certified"] for r in front],
                marker=marker,
                label=method,
                color=ax.collections[-1].get_facecolor()[0][:3],
            )
        ax.set_xlabel("clean test accuracy")
        ax.set_ylabel(f"certified accuracy at L2 eps={eps:.3g} (raw units)")
        ax.set_title(name)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    print(f"\nPlot written to {path}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default=None, help="default: all three")
    parser.add_argument("--plot", default="certified_training.png")
    parser.add_argument("--n-jobs", type=int, default=None, help="default 2")
    parser.add_argument("--min-accuracy", type=float, default=0.93)
    parser.add_argument(
        "--quick", action="store_true", help="wine, 5 short runs, 1 job"
    )
    args = parser.parse_args()
    if args.datasets is None:
        args.datasets = "wine" if args.quick else "digits,breast_cancer,wine"
    if args.n_jobs is None:
        args.n_jobs = 1 if args.quick else 2
    results = {}
    for name in args.datasets.split(","):
        data = load(name)
        eps = data[4]
        runs = grid(eps)
        if args.quick:
            data = (*data[:-1], 50)  # max_iter
            runs = quick_grid(eps)
        rows = Parallel(n_jobs=args.n_jobs)(
            delayed(run)(data, method, params) for method, params in runs
        )
        report(name, eps, rows, args.min_accuracy)
        results[name] = (eps, rows)
    if args.plot:
        plot(results, args.plot)


if __name__ == "__main__":
    main()
