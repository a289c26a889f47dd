"""Complete verification on digits: fraction decided, time per sample, and
agreement with the exact MILP.

Models: sklip ``LipschitzMLPClassifier`` with ``penalty="none"`` and hidden
layers (64,) and (64, 64), trained on load_digits scaled to [0, 1]
(``X / 16``), 75/25 split (``random_state=0``). The first N test samples are
verified against their true label at Linf 0.04, Linf 0.07 and L2 0.3 (raw
pixel units, i.e. the [0, 1] scale) with ``verify_complete`` (default engine,
plus the other engine where it applies), and on Linf balls the exact MILP
(``milp_lower_bounds`` on the rows alpha-CROWN leaves open, a time limit
per sample) is the oracle: every sample it finishes must get the same
verdict or be undecided.

    python benchmarks/bench_complete.py [--n 100] [--budget 2.0]
        [--milp-limit 10] [--quick] [--no-milp-engine]
"""

import argparse
import time
import warnings

import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

from sklip import LipschitzMLPClassifier
from sklip._core.inputs import Inputs
from sklip.verification._bab import verify_complete
from sklip.verification._crown import bound_specs
from sklip.verification._domain import Domain
from sklip.verification._milp import milp_lower_bounds
from sklip.verification._specs import margin_specs


def _models():
    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.25, random_state=0)
    for hidden in [(64,), (64, 64)]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model = LipschitzMLPClassifier(
                hidden, penalty="none", max_iter=300, random_state=0
            ).fit(Xtr, ytr)
        yield hidden, model, Xte, yte


def _exact_min(network, dom, C, limit):
    """Per sample, the exact minimum over the spec rows that alpha-CROWN
    leaves open (the others are proven positive, so the sign of the minimum
    is theirs); NaN where the MILP did not finish within ``limit`` seconds."""
    root = bound_specs(network, dom, C, method="alpha-crown")
    exact = root.min(axis=1)
    for i in np.flatnonzero(exact <= 0):
        rows = np.flatnonzero(root[i] <= 0)
        low = milp_lower_bounds(
            network, dom.subset([i]), C[i : i + 1, rows], time_limit=limit
        )
        exact[i] = low.min()
    return exact


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=100)
    parser.add_argument("--budget", type=float, default=2.0)
    parser.add_argument("--milp-limit", type=float, default=10.0)
    parser.add_argument("--quick", action="store_true", help="20 samples")
    parser.add_argument(
        "--no-milp-engine",
        action="store_true",
        help="run verify_complete with the default engine only",
    )
    args = parser.parse_args()
    n = 20 if args.quick else args.n
    balls = [(np.inf, 0.04), (np.inf, 0.07), (2, 0.3)]
    print(
        f"digits X/16, first {n} test samples, time budget {args.budget} s per "
        "sample; eps in pixel units of X/16 ([0, 1] scale)"
    )
    header = (
        f"{'net':10} {'ball':10} {'engine':6} {'verified':>8} {'falsified':>9} "
        f"{'undecided':>9} {'decided %':>9} {'s/sample':>8} {'MILP agree':>12}"
    )
    print(header)
    for hidden, model, Xte, yte in _models():
        acc = model.score(Xte, yte)
        X, y = Xte[:n], yte[:n]
        network, Z, mask = Inputs(model, X).attack_space()
        classes = np.searchsorted(model.classes_, y)
        C = margin_specs(network.n_outputs, classes)
        name = f"{hidden} acc {acc:.3f}"
        print(name)
        for norm, eps in balls:
            dom = Domain(Z, eps, norm, mask=mask)
            exact = None
            if norm == np.inf:
                t = time.perf_counter()
                exact = _exact_min(network, dom, C, args.milp_limit)
                t_milp = (time.perf_counter() - t) / n
            engines = ["bab", "milp"] if norm == np.inf else ["bab"]
            if args.no_milp_engine:
                engines = ["bab"]
            for engine in engines:
                t = time.perf_counter()
                verdict, cex, by = verify_complete(
                    network,
                    dom,
                    C,
                    time_budget=args.budget,
                    random_state=0,
                    engine=engine,
                )
                per = (time.perf_counter() - t) / n
                nv = int(np.sum(verdict == "verified"))
                nf = int(np.sum(verdict == "falsified"))
                nu = n - nv - nf
                agree = ""
                if exact is not None:
                    done = np.isfinite(exact)
                    truth = np.where(exact > 0, "verified", "falsified")
                    wrong = done & (verdict != "undecided") & (verdict != truth)
                    agree = f"{int(np.sum(~wrong & done))}/{int(done.sum())}"
                    if wrong.any():
                        agree += " WRONG"
                ball = f"{'Linf' if norm == np.inf else 'L2'} {eps}"
                print(
                    f"{'':10} {ball:10} {engine:6} {nv:8d} {nf:9d} {nu:9d} "
                    f"{100 * (nv + nf) / n:9.1f} {per:8.3f} {agree:>12}"
                )
            if exact is not None:
                fin = np.isfinite(exact)
                print(
                    f"{'':10} {'':10} {'exact':6} {int(np.sum(exact > 0)):8d} "
                    f"{int(np.sum(exact <= 0)):9d} {int(np.sum(~fin)):9d} "
                    f"{100 * fin.mean():9.1f} {t_milp:8.3f}   (MILP alone)"
                )


if __name__ == "__main__":
    main()
