"""Fit time of sklip's LipschitzMLPClassifier against scikit-learn's MLPClassifier.

Workload (issue 2): make_classification(n_samples=20000, n_features=100,
n_informative=30, n_classes=5), standardised, hidden (256, 256), adam, batch
200, 10 epochs, float64 and float32. Both libraries run in the same process,
interleaved, and the script prints medians and ratios.

Usage: python benchmarks/bench_fit.py [--repeats 3] [--quick]
"""

import argparse
import time
import tracemalloc
import warnings

import numpy as np
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import StandardScaler

from sklip import LipschitzMLPClassifier


def _time_fit(make, X, y):
    est = make()
    start = time.perf_counter()
    est.fit(X, y)
    return time.perf_counter() - start


def _peak_fit_memory(make, X, y):
    """Peak bytes traced during fit (numpy allocations are traced)."""
    tracemalloc.start()
    make().fit(X, y)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="2000 samples")
    args = parser.parse_args()
    warnings.simplefilter("ignore", ConvergenceWarning)

    n_samples = 2000 if args.quick else 20000
    X, y = make_classification(
        n_samples=n_samples,
        n_features=100,
        n_informative=30,
        n_classes=5,
        random_state=0,
    )
    X = StandardScaler().fit_transform(X)
    common = dict(
        hidden_layer_sizes=(256, 256),
        solver="adam",
        batch_size=200,
        max_iter=10,
        tol=0,
        random_state=0,
    )
    candidates = {
        "sklearn": lambda: MLPClassifier(**common),
        "sklip none": lambda: LipschitzMLPClassifier(penalty="none", **common),
        "sklip frobenius": lambda: LipschitzMLPClassifier(
            penalty="frobenius", **common
        ),
        "sklip spectral": lambda: LipschitzMLPClassifier(penalty="spectral", **common),
    }
    try:
        from threadpoolctl import threadpool_info

        blas = [
            (i["internal_api"], i["num_threads"], i.get("architecture"))
            for i in threadpool_info()
        ]
        print("BLAS:", blas)
    except ImportError:
        pass

    for dtype in (np.float64, np.float32):
        Xd = X.astype(dtype)
        times = {name: [] for name in candidates}
        for _ in range(args.repeats):
            for name, make in candidates.items():  # interleaved: fair to noise
                times[name].append(_time_fit(make, Xd, y))
        med = {name: float(np.median(t)) for name, t in times.items()}
        print(f"\n{np.dtype(dtype).name}: median fit time over {args.repeats} runs")
        for name, t in med.items():
            ratio = med["sklearn"] / t
            print(f"  {name:16s} {t:7.3f} s   speed-up vs sklearn x{ratio:5.2f}")
        print(
            f"  spectral / none time: {med['sklip spectral'] / med['sklip none']:.3f}"
        )

    Xs = X[:4000]
    ys = y[:4000]
    data = Xs.nbytes
    for name in ("sklearn", "sklip spectral"):
        peak = _peak_fit_memory(candidates[name], Xs, ys)
        print(
            f"peak traced memory during fit ({name}, data {data / 1e6:.1f} MB): "
            f"{peak / 1e6:.1f} MB"
        )


if __name__ == "__main__":
    main()
