"""Time the Lipschitz bounds on a 784 -> 512 -> 512 -> 512 -> 10 network.

Each upper bound (and the pairwise matrix and the empirical lower bound) is
timed as the median of several repeats; the tightness of every certified
bound is reported as its ratio to the lower bound (1.0 would be exact).

    python benchmarks/bench_lipschitz.py [--repeats 5] [--random-weights]
                                         [--blas-threads N] [--quick]

``--quick`` (what the test suite runs, to keep the script working): a
64 -> 32 -> 32 -> 10 network on 300 samples, one repeat.

On a busy 2-core machine, multi-threaded OpenBLAS suffers badly from
oversubscription; ``--blas-threads 1`` gives stable numbers.
"""

import argparse
import time
import warnings

import numpy as np
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning
from threadpoolctl import threadpool_limits

from sklip.lipschitz import (
    lipschitz_bound,
    lipschitz_lower_bound,
    pairwise_lipschitz_bounds,
)

HIDDEN = (512, 512, 512)
N_FEATURES, N_SAMPLES = 784, 2000
QUICK = {"hidden": (32, 32), "n_features": 64, "n_samples": 300}


def build_model(random_weights, seed=0, hidden=HIDDEN, n_features=N_FEATURES,
                n_samples=N_SAMPLES):  # fmt: skip
    """A briefly fitted MNIST-sized classifier (sklip's, else scikit-learn's)."""
    try:
        from sklip.neural_network import LipschitzMLPClassifier as Model
    except ImportError:  # the estimators are developed in parallel
        from sklearn.neural_network import MLPClassifier as Model
    X, y = make_classification(
        n_samples=n_samples,
        n_features=n_features,
        n_informative=min(50, n_features // 2),
        n_classes=10,
        random_state=seed,
    )
    model = Model(hidden_layer_sizes=hidden, max_iter=3, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, y)
    if random_weights:
        rng = np.random.default_rng(seed)
        model.coefs_ = [
            rng.standard_normal(W.shape) / np.sqrt(W.shape[0]) for W in model.coefs_
        ]
    return model, X


def median_time(func, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = func()
        times.append(time.perf_counter() - start)
    return float(np.median(times)), result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=None, help="default 5")
    parser.add_argument(
        "--quick", action="store_true", help="a small network, 1 repeat"
    )
    parser.add_argument(
        "--random-weights",
        action="store_true",
        help="replace the fitted weights by Gaussian ones",
    )
    parser.add_argument(
        "--blas-threads",
        type=int,
        default=None,
        help="cap BLAS threads (threadpoolctl)",
    )
    args = parser.parse_args()
    if args.repeats is None:
        args.repeats = 1 if args.quick else 5
    with threadpool_limits(limits=args.blas_threads, user_api="blas"):
        run(args)


def run(args):
    sizes = QUICK if args.quick else {}
    model, X = build_model(args.random_weights, **sizes)
    hidden = sizes.get("hidden", HIDDEN)
    print(
        f"model: {type(model).__name__} {[X.shape[1], *hidden, 10]}, "
        f"{'random' if args.random_weights else 'briefly fitted'} weights, "
        f"median of {args.repeats} repeats"
    )

    t_lower, lower = median_time(
        lambda: lipschitz_lower_bound(model, X[:500], random_state=0),
        max(1, args.repeats // 2),
    )
    print(
        f"\n  {f'lower bound ({len(X[:500])} rows)':28s} {t_lower * 1e3:9.1f} ms"
        f"   value {lower:10.4g}"
    )
    print(f"\n  {'method':28s} {'time':>12s}   {'bound':>10s}   bound / lower")
    for method in ("frobenius", "spectral", "combettes-pesquet", "auto"):
        t, bound = median_time(
            lambda m=method: lipschitz_bound(model, method=m), args.repeats
        )
        print(
            f"  {method:28s} {t * 1e3:9.1f} ms   {bound:10.4g}   {bound / lower:8.3f}"
        )
    t, K = median_time(lambda: pairwise_lipschitz_bounds(model), args.repeats)
    off = K[~np.eye(len(K), dtype=bool)]
    print(
        f"  {'pairwise (auto, 10 x 10)':28s} {t * 1e3:9.1f} ms   "
        f"max {off.max():.4g}, min {off.min():.4g}"
    )


if __name__ == "__main__":
    main()
