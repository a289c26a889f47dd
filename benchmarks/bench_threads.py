"""BLAS threads on a loaded machine: default thread pools against capped ones.

The script starts its own competing process (a busy numpy matrix-product loop
using every core, as another user's job would), then times, with medians over
``--repeats`` runs:

- one fit, with the default BLAS threads and under ``limit_blas_threads(1)``;
- a multi-metric grid search (penalty x alpha, accuracy + Lipschitz +
  robustness scorers), sequentially, with joblib's threading and loky
  backends at ``n_jobs=2``, and on a 2-worker dask LocalCluster (when
  ``distributed`` is installed), each without and with the worker cap.

"Uncapped" means what a user gets without sklip's cap: the worker cap set to 0
(``SKLIP_WORKER_BLAS_THREADS=0``) and, for loky and dask, worker processes
started with as many BLAS threads as cores (loky and dask's nanny would cap
them to 1 by themselves).

Usage: python benchmarks/bench_threads.py [--repeats 3] [--no-load] [--quick]

``--quick`` (what the test suite runs, to keep the script working): 300
samples, hidden (16,), 2 epochs, a 2-step APGD-CE in the robustness scorer,
one repeat and no competing process; its times mean nothing.
"""

import argparse
import multiprocessing
import os
import time
import warnings
from contextlib import contextmanager

import joblib
import numpy as np
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV

import sklip
from sklip import LipschitzMLPClassifier, limit_blas_threads


def _busy_loop(n_threads):
    """Competing load: matrix products on every core until terminated."""
    os.environ["OPENBLAS_NUM_THREADS"] = str(n_threads)
    import numpy as np

    a = np.random.default_rng(0).standard_normal((800, 800))
    while True:
        a = np.tanh(a @ a * 1e-3)


@contextmanager
def competing_load(enabled):
    if not enabled:
        yield
        return
    ctx = multiprocessing.get_context("spawn")
    proc = ctx.Process(target=_busy_loop, args=(os.cpu_count(),), daemon=True)
    proc.start()
    time.sleep(1.0)  # let it start hogging the cores
    try:
        yield
    finally:
        proc.terminate()
        proc.join(5)


@contextmanager
def worker_cap(n):
    """The cap in this process and in worker processes started meanwhile."""
    previous = sklip.set_worker_blas_threads(n)
    old_env = os.environ.get("SKLIP_WORKER_BLAS_THREADS")
    os.environ["SKLIP_WORKER_BLAS_THREADS"] = str(n)
    try:
        yield
    finally:
        sklip.set_worker_blas_threads(previous)
        if old_env is None:
            del os.environ["SKLIP_WORKER_BLAS_THREADS"]
        else:
            os.environ["SKLIP_WORKER_BLAS_THREADS"] = old_env


def _estimator(max_iter, quick=False):
    return LipschitzMLPClassifier(
        hidden_layer_sizes=(16,) if quick else (128, 128),
        max_iter=max_iter,
        random_state=0,
    )


def _search(max_iter, quick=False):
    attack = {"attack": "apgd-ce", "n_iter": 2} if quick else {"n_iter": 10}
    scoring = {
        "accuracy": "accuracy",
        "lipschitz": sklip.make_lipschitz_scorer(),
        "robust": sklip.make_robustness_scorer(eps=0.5, random_state=0, **attack),
    }
    return GridSearchCV(
        _estimator(max_iter, quick),
        {"penalty": ["frobenius", "spectral"], "alpha": [1e-3, 1.0]},
        scoring=scoring,
        refit="accuracy",
        cv=2,
    )


def _median_time(func, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def _dask_time(X, y, max_iter, capped, repeats, quick=False):
    """Median search time on a fresh 2-worker LocalCluster, or None."""
    try:
        import distributed
    except ImportError:
        return None
    cap = 1 if capped else 0
    env = {"SKLIP_WORKER_BLAS_THREADS": str(cap)}
    if not capped:  # the nanny would start workers with 1 BLAS thread
        env["OPENBLAS_NUM_THREADS"] = str(os.cpu_count())
    cluster = distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        host="127.0.0.1",
        dashboard_address=None,
        env=env,
    )
    try:
        with distributed.Client(cluster), joblib.parallel_config(backend="dask"):
            _search(max_iter, quick).fit(X, y)  # warm the workers up
            return _median_time(lambda: _search(max_iter, quick).fit(X, y), repeats)
    finally:
        cluster.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=None, help="default 3")
    parser.add_argument("--no-load", action="store_true")
    parser.add_argument(
        "--quick", action="store_true", help="tiny, 1 repeat, no competing load"
    )
    args = parser.parse_args()
    if args.repeats is None:
        args.repeats = 1 if args.quick else 3
    # The competing process would take the cores from whatever runs beside
    # the quick run (the test suite's other workers).
    args.no_load = args.no_load or args.quick
    warnings.simplefilter("ignore", ConvergenceWarning)
    warnings.filterwarnings("ignore", message="Port 8787")

    n = 300 if args.quick else 4000
    max_iter = 2 if args.quick else 5
    X, y = make_classification(
        n_samples=n, n_features=50, n_informative=20, n_classes=3, random_state=0
    )
    X = (X - X.mean(0)) / X.std(0)

    from threadpoolctl import threadpool_info

    blas = [
        f"{i['internal_api']} kernel={i.get('architecture')} threads={i['num_threads']}"
        for i in threadpool_info()
        if i["user_api"] == "blas"
    ]
    print(f"cores: {os.cpu_count()}; BLAS: {'; '.join(blas)}")
    print(
        f"competing process: {'none' if args.no_load else 'busy matmul loop'}; "
        f"{n} samples, hidden {(16,) if args.quick else (128, 128)}, "
        f"{max_iter} epochs; grid 2 penalties x "
        f"2 alphas x 2 folds, 3 metrics; medians of {args.repeats} (seconds)"
    )

    def fit():
        _estimator(max_iter, args.quick).fit(X, y)

    def search():
        _search(max_iter, args.quick).fit(X, y)

    def threading_search():
        with joblib.parallel_config(backend="threading", n_jobs=2):
            search()

    def loky_search(inner):
        def run():
            with joblib.parallel_config(
                backend="loky", n_jobs=2, inner_max_num_threads=inner
            ):
                search()

        return run

    rows = []
    with competing_load(not args.no_load):
        rows.append(
            (
                "fit",
                _median_time(fit, args.repeats),
                _median_time_capped(fit, args.repeats),
            )
        )
        rows.append(
            (
                "grid search, sequential",
                _median_time(search, args.repeats),
                _median_time_capped(search, args.repeats),
            )
        )
        with worker_cap(0):
            uncapped = _median_time(threading_search, args.repeats)
        rows.append(
            (
                "grid search, threading n_jobs=2",
                uncapped,
                _median_time(threading_search, args.repeats),
            )
        )
        with worker_cap(0):
            loky_search(os.cpu_count())()  # start the workers outside the timing
            uncapped = _median_time(loky_search(os.cpu_count()), args.repeats)
        loky_search(None)()
        rows.append(
            (
                "grid search, loky n_jobs=2",
                uncapped,
                _median_time(loky_search(None), args.repeats),
            )
        )
        dask_times = [
            _dask_time(X, y, max_iter, capped, args.repeats, args.quick)
            for capped in (False, True)
        ]
        if None in dask_times:
            print("(dask LocalCluster skipped: pip install 'sklip[distributed]')")
        else:
            rows.append(("grid search, dask LocalCluster 2x1", *dask_times))

    print(f"\n  {'':34s} {'uncapped':>9s} {'capped':>9s} {'ratio':>6s}")
    for name, uncapped, capped in rows:
        print(f"  {name:34s} {uncapped:9.2f} {capped:9.2f} {uncapped / capped:6.2f}")
    print(
        "\n'fit' and 'sequential' compare the default BLAS threads against "
        "limit_blas_threads(1); the parallel rows compare the worker cap 0 "
        "(and uncapped worker processes) against sklip's default cap of 1."
    )


def _median_time_capped(func, repeats):
    with limit_blas_threads(1):
        return _median_time(func, repeats)


if __name__ == "__main__":
    main()
