"""Fit time of sklip's LipschitzMLPClassifier against the GEMM floor and scikit-learn.

Workload (issue 2): make_classification(n_samples=20000, n_features=100,
n_informative=30, n_classes=5), standardised, hidden (256, 256), adam, batch
200, 10 epochs, float64 and float32. Every time is printed as a multiple of the
GEMM floor measured in the same run (the forward and backward matrix products
alone, preallocated), with the BLAS library and kernel that ran them. All
candidates run in the same process, interleaved, and the script prints
medians. A per-step breakdown follows: Adam's update, the Frobenius term, and the
spectral penalty's cost over a plain forward and backward pass, computed apart
(power iteration, rank-one gradient update) and riding in the GEMMs as one
extra row (what the stochastic solvers do).

On a shared machine, run it with one BLAS thread too
(``OPENBLAS_NUM_THREADS=1 python benchmarks/bench_fit.py``, or ``--threads 1``)
and compare ratios, not seconds.

Usage: python benchmarks/bench_fit.py [--repeats 5] [--quick] [--threads N]

``--quick`` (what the test suite runs, to keep the script working): 400
samples, hidden (32, 32), one repeat unless ``--repeats`` says otherwise and
a shorter per-step breakdown; its times are not the benchmark's.
"""

import argparse
import contextlib
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
    # Finite deltas: uninitialised memory may hold denormals or NaNs, which
    # would slow the floor down (and overflowed in float32).
    deltas = [rng.uniform(-1e-3, 1e-3, a.shape).astype(X.dtype) for a in acts]
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


_PER_CALL = {"n_calls": 200, "repeats": 5}  # --quick lowers these


def _per_call_ms(func, n_calls=None, repeats=None):
    n_calls = _PER_CALL["n_calls"] if n_calls is None else n_calls
    repeats = _PER_CALL["repeats"] if repeats is None else repeats
    func()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(n_calls):
            func()
        times.append((time.perf_counter() - start) / n_calls * 1e3)
    return float(np.median(times))


def _step_breakdown(dtype, hidden, n_features, n_classes, batch_size):
    """Milliseconds per optimizer step of the parts around the GEMMs."""
    from sklip.neural_network._optimizers import Adam
    from sklip.neural_network._parameters import FlatParameters
    from sklip.neural_network._penalties import (
        FrobeniusPenalty,
        SpectralPenalty,
        SpectralTracker,
        converged_power_vectors,
    )

    rng = np.random.default_rng(0)
    units = [n_features, *hidden, n_classes]
    flat = FlatParameters(units, "relu", dtype)
    flat.params[...] = rng.uniform(-0.1, 0.1, flat.params.size)
    flat.grad[...] = rng.uniform(-0.01, 0.01, flat.params.size)
    adam = Adam(flat.params.size, dtype, 1e-3, 0.9, 0.999, 1e-8)
    params, grad = flat.params.copy(), flat.grad.copy()
    frobenius = FrobeniusPenalty(flat.flat_coefs, flat.flat_coef_grads)
    vectors = converged_power_vectors(flat.coefs, dtype)
    tracker = SpectralTracker(flat.coefs, vectors, 1)
    spectral = SpectralPenalty(tracker)
    net = flat.network

    # One spare row everywhere, as a riding fit allocates them.
    X = rng.standard_normal((batch_size + 1, n_features)).astype(dtype)
    acts, deltas = net.allocate(batch_size + 1)
    n = batch_size
    data = X[:n], [a[:n] for a in acts], [d[:n] for d in deltas]

    def out_grad(d):
        d[-1][:n] = rng.uniform(-1e-3, 1e-3, (n, n_classes)).astype(dtype)

    def plain():
        net.forward(data[0], data[1])
        out_grad(data[2])
        net.backward(*data, flat.coef_grads, flat.intercept_grads)

    def apart():  # what lbfgs and the margin do: track, then add rank-one terms
        plain()
        tracker.update(flat.coefs)
        spectral(flat.coefs, flat.coef_grads, 1e-4)

    def riding():
        spectral.begin(flat.coefs, X, n)
        net.forward(X, acts, rider=spectral)
        out_grad(deltas)
        spectral.load(X, acts, deltas, 1e-4)
        net.backward(
            X, acts, deltas, flat.coef_grads, flat.intercept_grads, rider=spectral
        )
        spectral(flat.coefs, flat.coef_grads, 1e-4)

    base = _per_call_ms(plain)
    fused = _fused_adam_ms(params.copy(), grad)
    return {
        "Adam update": _per_call_ms(lambda: adam.update(params, grad)),
        **({} if fused is None else {"  Adam as one compiled loop": fused}),
        "Frobenius term": _per_call_ms(lambda: frobenius(None, None, 1e-4)),
        "forward + backward (no penalty)": base,
        "spectral penalty computed apart": _per_call_ms(apart) - base,
        "spectral penalty riding the GEMMs": _per_call_ms(riding) - base,
    }


def _fused_adam_ms(params, grad):
    """Adam's update as one compiled loop over the parameters (numba, when
    installed): what a compiled kernel could save over numpy's ten passes.
    Its square root and division keep it far from free (measured: 0.23 ms
    per step in float64, 0.14 in float32, against 0.30 and 0.22 in numpy)."""
    try:
        import numba
    except ImportError:
        print("  (numba not installed: skipping the compiled Adam reference)")
        return None

    @numba.njit
    def update(p, g, m, v, b1, b2, eps, step):
        for i in range(p.size):
            mi = b1 * m[i] + g[i]
            vi = b2 * v[i] + g[i] * g[i]
            m[i], v[i] = mi, vi
            p[i] -= step * mi / (np.sqrt(vi) + eps)

    t = params.dtype.type
    m, v = np.zeros_like(params), np.zeros_like(params)
    args = (params, grad, m, v, t(0.9), t(0.999), t(3e-7), t(1e-3))
    return _per_call_ms(lambda: update(*args))


def _peak_fit_memory(make, X, y):
    """Peak bytes traced during fit (numpy allocations are traced)."""
    tracemalloc.start()
    make().fit(X, y)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


def _blas_description():
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "unknown (threadpoolctl not installed)"
    libs = [
        f"{i['internal_api']} {i.get('version')} kernel={i.get('architecture')} "
        f"threads={i['num_threads']}"
        for i in threadpool_info()
        if i["user_api"] == "blas"
    ]
    return "; ".join(libs) or "none found"


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=None, help="default 5")
    parser.add_argument(
        "--quick", action="store_true", help="400 samples, hidden (32, 32), 1 repeat"
    )
    parser.add_argument(
        "--threads", type=int, default=None, help="cap BLAS threads (threadpoolctl)"
    )
    args = parser.parse_args()
    if args.repeats is None:
        args.repeats = 1 if args.quick else 5
    if args.quick:
        _PER_CALL.update(n_calls=10, repeats=1)
    warnings.simplefilter("ignore", ConvergenceWarning)
    limit = contextlib.nullcontext()
    if args.threads is not None:
        from sklip import limit_blas_threads

        limit = limit_blas_threads(args.threads)
    with limit:
        _run(args)


def _run(args):
    n_samples = 400 if args.quick else 20000
    hidden = (32, 32) if args.quick else (256, 256)
    X, y = make_classification(
        n_samples=n_samples,
        n_features=100,
        n_informative=30,
        n_classes=5,
        random_state=0,
    )
    X = StandardScaler().fit_transform(X)
    common = dict(
        hidden_layer_sizes=hidden,
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
    print("BLAS:", _blas_description())
    print(f"{n_samples} samples, hidden {hidden}, batch 200, 10 epochs, adam")
    n_steps = 10 * -(-n_samples // 200)

    for dtype in (np.float64, np.float32):
        Xd = X.astype(dtype)
        times = {name: [] for name in candidates}
        times["GEMM floor"] = []
        for _ in range(args.repeats):
            for name, make in candidates.items():  # interleaved: fair to noise
                times[name].append(_time_fit(make, Xd, y))
            times["GEMM floor"].append(_gemm_floor(Xd, hidden, 5, 200, 10))
        med = {name: float(np.median(t)) for name, t in times.items()}
        floor = med["GEMM floor"]
        print(f"\n{np.dtype(dtype).name}: median fit time over {args.repeats} runs")
        print(f"  {'':16s} {'time':>9s}  {'x floor':>7s}  {'ms/step':>7s}")
        for name, t in med.items():
            print(
                f"  {name:16s} {t:7.3f} s  {t / floor:7.2f}  {t / n_steps * 1e3:7.3f}"
            )
        print(
            f"  spectral / none: {med['sklip spectral'] / med['sklip none']:.3f}, "
            f"frobenius / none: {med['sklip frobenius'] / med['sklip none']:.3f}, "
            f"sklearn / sklip none: {med['sklearn'] / med['sklip none']:.3f}"
        )
        parts = _step_breakdown(dtype, hidden, X.shape[1], 5, 200)
        print(f"  per step (ms; floor {floor / n_steps * 1e3:.3f} ms/step):")
        for name, ms in parts.items():
            print(f"    {name:32s} {ms:7.3f}")
        saving = (
            parts["spectral penalty computed apart"]
            - parts["spectral penalty riding the GEMMs"]
        )
        print(
            f"    riding saves {saving:.3f} ms/step "
            f"({saving * n_steps / 1e3:.2f} s per fit, "
            f"{saving * n_steps / 1e3 / floor:.2f} x floor)"
        )

    # Memory must grow with the data only through the data itself: the
    # caller's X is not traced, so the slope counts copies made during fit
    # (shuffled batches are gathered one at a time: none). Two data sizes.
    sizes = (n_samples // 10, n_samples // 5)
    for name in ("sklearn", "sklip spectral"):
        peaks = [_peak_fit_memory(candidates[name], X[:m], y[:m]) for m in sizes]
        data = [X[:m].nbytes for m in sizes]
        slope = (peaks[1] - peaks[0]) / (data[1] - data[0])
        print(
            f"peak traced memory during fit ({name}): "
            + ", ".join(
                f"{p / 1e6:.1f} MB for {d / 1e6:.1f} MB of data"
                for p, d in zip(peaks, data)
            )
            + f"; grows {slope:.2f} bytes per byte of data"
        )


if __name__ == "__main__":
    main()
