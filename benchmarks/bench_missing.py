"""Cost of missing values: the same rows with and without NaN behind an imputer.

``robust_accuracy``, ``certified_accuracy`` and ``certified_radius`` on
``n`` rows of a SimpleImputer + StandardScaler + MLP pipeline: once on
complete rows, once with a fraction of the entries NaN (held at their
imputed value, each row attacked and certified over its observed columns
through a per-row mask), and once the way the command line used to do it
(one library call per pattern of missing entries, ``features=`` the
observed columns). Prints times and ratios; the grouped and the per-row
results are compared too.

    PYTHONPATH=. python benchmarks/bench_missing.py [--n 1000] [--rate 0.1] [--quick]

BLAS runs on ``--threads`` threads (1 by default): on a busy 2-core machine
a (1000, 20) @ (20, 64) product took 28 ms with OpenBLAS's default threads
and 0.23 ms with one, which would swamp what is measured here.
"""

import argparse
import time
import warnings

import numpy as np
from sklearn.datasets import make_classification
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import sklip
from sklip import LipschitzMLPClassifier
from sklip.robustness import certified_accuracy, robust_accuracy


def _timed(func, *args, **kwargs):
    start = time.perf_counter()
    out = func(*args, **kwargs)
    return out, time.perf_counter() - start


def _grouped(metric, model, X, y, **kwargs):
    """The old command-line way: one call per missingness pattern."""
    missing = np.isnan(X)
    patterns, which = np.unique(missing, axis=0, return_inverse=True)
    total = 0.0
    for k, pattern in enumerate(patterns):
        rows = np.flatnonzero(which.ravel() == k)
        observed = np.flatnonzero(~pattern)
        if observed.size == 0:
            total += np.sum(model.predict(X[rows]) == y[rows])
            continue
        part = metric(model, X[rows], y[rows], features=observed, **kwargs)
        total += part * rows.size
    return total / len(y), patterns.shape[0]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--features", type=int, default=10)
    parser.add_argument("--rate", type=float, default=0.1)
    parser.add_argument("--eps", type=float, default=0.5)
    parser.add_argument("--threads", type=int, default=1, help="BLAS threads")
    parser.add_argument(
        "--quick", action="store_true", help="tiny data (its numbers mean nothing)"
    )
    args = parser.parse_args()
    if args.quick:
        args.n, args.features = 60, 4
    with sklip.limit_blas_threads(args.threads):
        run(args)


def run(args):
    """Fit the model, time the three ways, print the table."""
    X, y = make_classification(
        n_samples=args.n,
        n_features=args.features,
        n_informative=min(5, args.features),
        n_redundant=0,
        random_state=0,
    )
    rng = np.random.default_rng(0)
    X_nan = X.copy()
    X_nan[rng.uniform(size=X.shape) < args.rate] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = make_pipeline(
            SimpleImputer(),
            StandardScaler(),
            LipschitzMLPClassifier(
                hidden_layer_sizes=(64,), max_iter=50, random_state=0
            ),
        ).fit(X_nan, y)
    rows = []
    for name, metric, kwargs in (
        ("robust_accuracy", robust_accuracy, dict(eps=args.eps, random_state=0)),
        ("certified_accuracy", certified_accuracy, dict(eps=args.eps)),
    ):
        clean, t_clean = _timed(metric, model, X, y, **kwargs)
        per_row, t_nan = _timed(metric, model, X_nan, y, **kwargs)
        (grouped, n_patterns), t_grouped = _timed(
            _grouped, metric, model, X_nan, y, **kwargs
        )
        rows.append((name, clean, t_clean, per_row, t_nan, grouped, t_grouped))
    print(
        f"n={args.n}, {args.features} features, {args.rate:.0%} NaN "
        f"({n_patterns} missingness patterns), eps={args.eps} (raw units, L2)"
    )
    print(
        f"{'metric':20s} {'complete':>17s} {'NaN, per-row mask':>23s} "
        f"{'NaN, per pattern':>22s}"
    )
    for name, clean, t_clean, per_row, t_nan, grouped, t_grouped in rows:
        print(
            f"{name:20s} {clean:.3f} {t_clean:6.2f} s   "
            f"{per_row:.3f} {t_nan:6.2f} s x{t_nan / t_clean:4.1f}   "
            f"{grouped:.3f} {t_grouped:6.2f} s x{t_grouped / t_clean:4.1f}"
        )


if __name__ == "__main__":
    main()
