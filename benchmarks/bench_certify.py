"""Which certificate when: samples certified and time, per network, ball and method.

The table of issue 18, measured: load_digits with pixels scaled to [0, 1]
(``X / 16``), a 75/25 split (``train_test_split(random_state=0)``), the first
200 test samples. Networks: sklip ``LipschitzMLPClassifier`` (64,) and
(64, 64) without penalty, (64,) with ``penalty="spectral", alpha=10``, (64,)
margin-trained (``lipschitz_margin=0.5``) and scikit-learn's
``MLPClassifier`` (64,). For each network and ball (Linf 0.04 / 0.07, L2
0.3 / 0.6 / 1.0, raw input units = pixel intensities in [0, 1]) it counts the
samples correctly classified and certified by every method of
``sklip.verification._methods.METHODS`` (``complete`` on the first
``--complete-n`` samples, with its time budget), and the samples not broken
by sklip's default attack (``attack="auto"``: an upper bound on what any
certificate can reach). Times are wall-clock seconds on one BLAS thread.

auto_LiRPA (CROWN, alpha-CROWN) runs as a peer when ``torch`` and
``auto_LiRPA`` are importable (never dependencies of sklip); otherwise it is
skipped with a message.

    python benchmarks/bench_certify.py [--quick] [--clip] [--complete-n 40]
        [--only REGEX]

``--quick`` (under 2 minutes): 100 samples, three rows, ``complete`` on 10.
"""

import argparse
import re
import time
import warnings

import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from threadpoolctl import threadpool_limits

from sklip import LipschitzMLPClassifier
from sklip.lipschitz import as_network
from sklip.robustness import certified_accuracy, robust_accuracy
from sklip.verification._methods import METHOD_NAMES

# (network, norm, eps) rows: the table, plus (64, 64) at Linf 0.07.
ROWS = [
    ("(64,) none", np.inf, 0.04),
    ("(64,) none", np.inf, 0.07),
    ("(64,) none", 2, 0.3),
    ("(64, 64) none", np.inf, 0.04),
    ("(64, 64) none", np.inf, 0.07),
    ("(64, 64) none", 2, 0.3),
    ("(64,) spectral alpha 10", 2, 0.6),
    ("(64,) lipschitz_margin 0.5", 2, 1.0),
    ("sklearn MLPClassifier (64,)", np.inf, 0.07),
]
QUICK_ROWS = [ROWS[1], ROWS[3], ROWS[6]]


def digits(n_test):
    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, random_state=0
    )
    return X_train, y_train, X_test[:n_test], y_test[:n_test]


def make_network(name, max_iter):
    """The estimator of a row's network (unfitted)."""
    common = dict(max_iter=max_iter, random_state=0)
    hidden = (64, 64) if name.startswith("(64, 64)") else (64,)
    common["hidden_layer_sizes"] = hidden
    if name.startswith("sklearn"):
        return MLPClassifier(**common)
    if "spectral" in name:
        return LipschitzMLPClassifier(penalty="spectral", alpha=10.0, **common)
    if "lipschitz_margin" in name:
        return LipschitzMLPClassifier(lipschitz_margin=0.5, **common)
    return LipschitzMLPClassifier(penalty="none", **common)


def timed(func, *args, **kwargs):
    start = time.perf_counter()
    out = func(*args, **kwargs)
    return out, time.perf_counter() - start


def lirpa_peer():
    """auto_LiRPA's CROWN / alpha-CROWN counter, or None (with a message)."""
    try:
        import torch
        from auto_LiRPA import BoundedModule, BoundedTensor
        from auto_LiRPA.perturbations import PerturbationLpNorm
    except Exception as exc:  # ImportError, or a broken install
        print(f"auto_LiRPA peer skipped: not importable ({type(exc).__name__}: {exc})")
        return None
    torch.set_num_threads(1)

    def count(model, X, y, norm, eps, method, clip):
        """Samples correct and certified by auto_LiRPA's ``method``."""
        net = as_network(model)
        layers = []
        for i, (W, b) in enumerate(zip(net.coefs, net.intercepts)):
            lin = torch.nn.Linear(*W.shape).double()
            lin.weight.data = torch.tensor(W.T)
            lin.bias.data = torch.tensor(b)
            layers.append(lin)
            if i < net.n_layers - 1:
                layers.append(torch.nn.ReLU())
        seq = torch.nn.Sequential(*layers)
        x = torch.tensor(X)
        pred = model.predict(X)
        k = len(model.classes_)
        C = torch.zeros(len(X), k - 1, k, dtype=torch.float64)
        for i, c in enumerate(np.searchsorted(model.classes_, pred)):
            others = [j for j in range(k) if j != c]
            C[i, :, c] = 1.0
            C[i, range(k - 1), others] = -1.0
        bounded = BoundedModule(seq, torch.zeros_like(x[:1]), device="cpu")
        low = None if clip is None else torch.full_like(x, clip[0])
        high = None if clip is None else torch.full_like(x, clip[1])
        ptb = PerturbationLpNorm(norm=norm, eps=eps, x_L=low, x_U=high)
        lb, _ = bounded.compute_bounds(
            x=(BoundedTensor(x, ptb),), C=C, method=method, bound_upper=False
        )
        ok = (lb.detach().numpy() > 0).all(axis=1) & (pred == y)
        return int(ok.sum())

    return count


def run(rows, n_test, complete_n, max_iter, clip, time_budget):
    """Train each row's network once and print its row of the table."""
    X_train, y_train, X_test, y_test = digits(n_test)
    models = {}
    peer = lirpa_peer()
    methods = [m for m in METHOD_NAMES if m != "complete"]
    header = (
        f"{'network':28s} {'ball':10s} "
        + " ".join(f"{m:>16s}" for m in methods)
        + f" {'complete (first ' + str(complete_n) + ')':>34s} {'attack':>8s}"
    )
    if peer is not None:
        header += f" {'LiRPA CROWN':>16s} {'LiRPA alpha':>16s}"
    print(
        f"digits / 16, first {n_test} test samples; counts certified (and "
        f"seconds); eps in raw pixel units [0, 1]; clip={clip}; "
        f"complete: time_budget={time_budget} s per sample"
    )
    print(header)
    for name, norm, eps in rows:
        if name not in models:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                models[name] = make_network(name, max_iter).fit(X_train, y_train)
        model = models[name]
        ball = f"{'Linf' if norm == np.inf else 'L2'} {eps:g}"
        cells = []
        for method in methods:
            acc, t = timed(certified_accuracy, model, X_test, y_test, eps=eps,
                           norm=norm, method=method, clip=clip)  # fmt: skip
            cells.append(f"{round(acc * n_test):5d} ({t:7.3f}s)")
        cells.append(
            complete_cell(
                model, X_test, y_test, norm, eps, clip, complete_n, time_budget
            )
        )
        acc = robust_accuracy(model, X_test, y_test, eps=eps, norm=norm, clip=clip,
                              random_state=0)  # fmt: skip
        cells.append(f"{round(acc * n_test):8d}")
        if peer is not None:
            for method in ("CROWN", "alpha-CROWN"):
                count, t = timed(peer, model, X_test, y_test, norm, eps, method, clip)
                cells.append(f"{count:5d} ({t:7.3f}s)")
        widths = [16] * len(methods) + [34, 8, 16, 16]
        print(
            f"{name:28s} {ball:10s} "
            + " ".join(f"{c:>{w}s}" for c, w in zip(cells, widths))
        )


def complete_cell(model, X, y, norm, eps, clip, n, time_budget):
    """Verified of the first ``n`` by the complete method, ``auto``'s count
    on the same samples, how many it decided and its seconds."""
    from sklip.robustness import certify

    try:
        res, t = timed(
            lambda: certify(
                model,
                X[:n],
                y[:n],
                eps=eps,
                norm=norm,
                method="complete",
                clip=clip,
                time_budget=time_budget,
                random_state=0,
            )  # fmt: skip
        )
    except ImportError as exc:  # branch complete not merged
        return f"n/a ({exc.name})"
    verified = int(np.sum(res.verdict == "verified"))
    decided = int(np.sum(res.verdict != "undecided"))
    auto = round(n * certified_accuracy(model, X[:n], y[:n], eps=eps, norm=norm,
                                        clip=clip))  # fmt: skip
    return f"{verified:2d} [auto {auto:2d}] ({decided:2d} dec., {t:5.1f}s)"


def main():
    """Parse the options and run the table on one BLAS thread."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--clip", action="store_true", help="certify within [0, 1]")
    parser.add_argument("--complete-n", type=int, default=None)
    parser.add_argument("--time-budget", type=float, default=2.0)
    parser.add_argument("--only", default=None, help="regex on the network name")
    args = parser.parse_args()
    rows = QUICK_ROWS if args.quick else ROWS
    if args.only:
        rows = [r for r in rows if re.search(args.only, r[0])]
    n_test = 100 if args.quick else 200
    complete_n = args.complete_n or (10 if args.quick else 40)
    with threadpool_limits(1):
        run(
            rows,
            n_test,
            complete_n,
            max_iter=60 if args.quick else 200,
            clip=(0.0, 1.0) if args.clip else None,
            time_budget=args.time_budget,
        )


if __name__ == "__main__":
    main()
