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


def _gemm_floor(X, hidden, n_classes, batch_size, epochs):
    """Time of the matrix products alone that one fit must do.

    Forward and backward GEMMs of every mini-batch (the first layer's input
    gradient is not needed), with preallocated outputs: no library can train
    this network faster on this machine's BLAS, so it puts both libraries'
    times in context.
    """
    rng = np.random.default_rng(0)
    units = [X.shape[1], *hidden, n_classes]
    Ws = [rng.standard_normal((a, b)).astype(X.dtype) for a, b in zip(units, units[1:])]
    acts = [np.empty((batch_size, u), X.dtype) for u in units[1:]]
    deltas = [np.empty_like(a) for a in acts]
    grads = [np.empty_like(W) for W in Ws]
    n_batches = X.shape[0] // batch_size
    start = time.perf_counter()
    for _ in range(epochs):
        for k in range(n_batches):
            A = X[k * batch_size : (k + 1) * batch_size]
            inputs = [A]
            for W, out in zip(Ws, acts):
                np.dot(inputs[-1], W, out=out)
                inputs.append(out)
            for layer in range(len(Ws) - 1, -1, -1):
                np.dot(inputs[layer].T, deltas[layer], out=grads[layer])
                if layer > 0:
                    np.dot(deltas[layer], Ws[layer].T, out=deltas[layer - 1])
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
    parser.add_argument("--repeats", type=int, default=5)
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
        times["GEMM floor"] = []
        for _ in range(args.repeats):
            for name, make in candidates.items():  # interleaved: fair to noise
                times[name].append(_time_fit(make, Xd, y))
            times["GEMM floor"].append(_gemm_floor(Xd, (256, 256), 5, 200, 10))
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
