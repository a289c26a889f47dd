"""Which penalty buys the most certified robustness, in which units? (issue 7)

Grid: data sets (digits, breast_cancer, wine, make_classification) x scalers
(MinMaxScaler, StandardScaler) x hidden layers ((64,), (64, 64)) x seeds x an
alpha grid per penalty (from no effect to collapse) x pipeline kind:

- ``sklearn``: :class:`sklearn.pipeline.Pipeline`, the penalty acts on the
  weights the MLP sees, i.e. in *model* (scaled) input units;
- ``sklip``: :class:`sklip.pipeline.Pipeline`, the penalty acts on the first
  layer seen from the *raw* inputs (``A W_1``).

Every model: 75/25 stratified split (random_state 0), adam, max_iter 200; the
seed is the model's ``random_state``. Measured on the test set:

- ``acc``: test accuracy;
- ``cert_raw``: certified accuracy (L2) at a fixed ``eps_raw`` in raw feature
  units (the whole pipeline, what a user certifies);
- ``cert_model``: certified accuracy of the final estimator on the scaled
  inputs at ``eps_model``, the same budget expressed in the model's own input
  units (``eps_raw`` times the median per-feature scale of the scaler);
- ``pgd_raw``: PGD robust accuracy at ``eps_raw`` (an upper bound of the true
  robust accuracy; ``cert_raw`` is a lower bound);
- ``L_raw`` / ``L_model``: certified Lipschitz bounds (``sklip.lipschitz_bound``)
  from raw inputs / from scaled inputs to the logits.

``eps_raw``: 2.7 raw pixel units on digits (pixels take values 0..16, so about
0.62 of the median per-pixel standard deviation); on the other data sets the
same 0.62 times their median per-feature standard deviation, in their raw
feature units.

Output: a CSV of every model, a Pareto plot per data set (test accuracy vs
certified accuracy at ``eps_raw``, means over seeds; needs matplotlib) and the
table "best certified accuracy within 1 accuracy point of the unpenalised
model" (means over seeds; the unpenalised model is the same network with
``penalty="none"``).

    python benchmarks/bench_penalties.py [--quick] [--n-jobs 2] [--out DIR]
        [--datasets digits wine] [--seeds 3]
"""

import argparse
import os
import time
import warnings

import numpy as np
from joblib import Parallel, delayed
from sklearn.datasets import (
    load_breast_cancer,
    load_digits,
    load_wine,
    make_classification,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline as sk_make_pipeline
from sklearn.preprocessing import MinMaxScaler, StandardScaler
from threadpoolctl import threadpool_limits

from sklip import (
    LipschitzMLPClassifier,
    certified_accuracy,
    lipschitz_bound,
    robust_accuracy,
)
from sklip.pipeline import make_pipeline as sklip_make_pipeline

DATASETS = ("digits", "breast_cancer", "wine", "make_classification")
SCALERS = {"minmax": MinMaxScaler, "standard": StandardScaler}
HIDDEN = {"64": (64,), "64-64": (64, 64)}
KINDS = {"sklearn": sk_make_pipeline, "sklip": sklip_make_pipeline}
# From no visible effect to collapse (chance-level accuracy) on every data set.
# The penalties differ in scale: ||W||_F^2 sums every singular value squared,
# sigma_max^2 only the largest, so spectral needs larger alphas.
ALPHAS = {
    "frobenius": (0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0),
    "spectral": (0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0, 300.0, 1000.0),
}
# --quick (what the test suite runs, to keep the script working): wine only.
QUICK_ALPHAS = {"frobenius": (1.0,), "spectral": (10.0,)}
# eps_raw / median per-feature std: digits' 2.7 raw pixel units (median std 4.33).
EPS_STD_RATIO = 0.625
DIGITS_EPS = 2.7
MAX_ITER = 200
PGD = {"attack": "pgd", "n_iter": 20, "n_restarts": 1, "random_state": 0}
UNITS = {
    "digits": "raw pixel units (0..16)",
    "breast_cancer": "raw feature units",
    "wine": "raw feature units",
    "make_classification": "raw feature units",
}


def load(name):
    """``(X_train, X_test, y_train, y_test)``: 75/25 stratified, random_state 0."""
    if name == "digits":
        X, y = load_digits(return_X_y=True)
    elif name == "breast_cancer":
        X, y = load_breast_cancer(return_X_y=True)
    elif name == "wine":
        X, y = load_wine(return_X_y=True)
    else:
        X, y = make_classification(
            n_samples=1000,
            n_features=20,
            n_informative=5,
            n_redundant=5,
            n_classes=3,
            random_state=0,
        )
    return train_test_split(X, y, test_size=0.25, stratify=y, random_state=0)


def raw_eps(name, X_train):
    if name == "digits":
        return DIGITS_EPS
    std = X_train.std(axis=0)
    return float(f"{EPS_STD_RATIO * np.median(std[std > 0]):.2g}")


def model_eps(eps, scaler, X_train):
    """``eps`` in the scaler's output units: times the median per-feature scale."""
    scale = np.abs(scaler.transform(X_train[:1] + 1.0) - scaler.transform(X_train[:1]))
    std = X_train.std(axis=0)
    return float(eps * np.median(scale[0, std > 0]))


def run_one(dataset, scaler, hidden, seed, kind, penalty, alpha):
    """Fit one model and measure it; returns a row (dict)."""
    X_train, X_test, y_train, y_test = load(dataset)
    eps_raw = raw_eps(dataset, X_train)
    model = KINDS[kind](
        SCALERS[scaler](),
        LipschitzMLPClassifier(
            HIDDEN[hidden],
            penalty=penalty,
            alpha=alpha,
            max_iter=MAX_ITER,
            random_state=seed,
        ),
    )
    # One BLAS thread per worker: small LAPACK calls (the per-epoch SVD of the
    # spectral penalty) are 10-100x slower when two threads fight over busy
    # cores.
    with threadpool_limits(1), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        start = time.perf_counter()
        model.fit(X_train, y_train)
        fit_time = time.perf_counter() - start
        scaler_, clf = model[0], model[-1]
        Z_test = scaler_.transform(X_test)
        eps_model = model_eps(eps_raw, scaler_, X_train)
        return {
            "dataset": dataset,
            "scaler": scaler,
            "hidden": hidden,
            "seed": seed,
            "kind": kind,
            "penalty": penalty,
            "alpha": alpha,
            "n_iter": clf.n_iter_,
            "acc": model.score(X_test, y_test),
            "eps_raw": eps_raw,
            "cert_raw": float(certified_accuracy(model, X_test, y_test, eps=eps_raw)),
            "eps_model": eps_model,
            "cert_model": float(certified_accuracy(clf, Z_test, y_test, eps=eps_model)),
            "pgd_raw": float(
                robust_accuracy(model, X_test, y_test, eps=eps_raw, **PGD)
            ),
            "L_raw": lipschitz_bound(model),
            "L_model": lipschitz_bound(clf),
            "fit_time": fit_time,
        }


def tasks(datasets, scalers, hiddens, seeds, alphas, kinds, baseline=True):
    for dataset in datasets:
        for scaler in scalers:
            for hidden in hiddens:
                for seed in seeds:
                    # penalty="none" ignores the input map: one baseline for
                    # both pipeline kinds.
                    if baseline:
                        yield (dataset, scaler, hidden, seed, "sklip", "none", 0.0)
                    for kind in kinds:
                        for penalty, grid in alphas.items():
                            for alpha in grid:
                                yield (
                                    dataset,
                                    scaler,
                                    hidden,
                                    seed,
                                    kind,
                                    penalty,
                                    alpha,
                                )


def _cost(task):
    """Rough relative cost, to start the longest fits first."""
    size = {"digits": 8, "make_classification": 4, "breast_cancer": 2, "wine": 1}
    return size[task[0]] * (2 if task[2] == "64-64" else 1)


def _group_means(rows):
    """Means over seeds: {(dataset, scaler, hidden, kind, penalty, alpha): dict}."""
    groups = {}
    for r in rows:
        key = (
            r["dataset"],
            r["scaler"],
            r["hidden"],
            r["kind"],
            r["penalty"],
            r["alpha"],
        )
        groups.setdefault(key, []).append(r)
    metrics = ("acc", "cert_raw", "cert_model", "pgd_raw", "L_raw", "L_model")
    return {
        key: {m: float(np.mean([r[m] for r in grp])) for m in metrics} | {"n": len(grp)}
        for key, grp in groups.items()
    }


def best_within(rows, tolerance=0.01):
    """Per (dataset, scaler, hidden, kind, penalty): the alpha with the best
    mean certified accuracy (raw units, then model units) among those whose
    mean test accuracy is at most ``tolerance`` below the unpenalised one."""
    means = _group_means(rows)
    out = []
    for (ds, sc, hd, kind, pen, alpha), m in sorted(means.items()):
        if pen == "none":
            continue
        base = means[(ds, sc, hd, "sklip", "none", 0.0)]
        if m["acc"] < base["acc"] - tolerance:
            continue
        out.append((ds, sc, hd, kind, pen, alpha, m, base))
    table = {}
    for ds, sc, hd, kind, pen, alpha, m, base in out:
        key = (ds, sc, hd, kind, pen)
        entry = table.setdefault(key, {"base": base, "raw": None, "model": None})
        for units in ("raw", "model"):
            best = entry[units]
            if best is None or m[f"cert_{units}"] > best[1][f"cert_{units}"]:
                entry[units] = (alpha, m)
    return table


def print_table(rows, datasets):
    eps = {}
    for r in rows:
        eps[(r["dataset"], r["scaler"])] = (r["eps_raw"], r["eps_model"])
    print("\neps per data set (L2):")
    for (ds, sc), (e_raw, e_model) in sorted(eps.items()):
        print(
            f"  {ds:20s} {sc:9s} eps_raw = {e_raw:g} {UNITS[ds]}; "
            f"eps_model = {e_model:.4g} {sc}-scaled units"
        )
    table = best_within(rows)
    print(
        "\nBest certified accuracy within 1 accuracy point of the unpenalised "
        "model (means over seeds).\n  raw: at eps_raw through the whole "
        "pipeline; model: at eps_model on the scaled inputs; acc/pgd/L_raw "
        "at the alpha best in raw units; '-': no alpha within 1 point; '*': "
        "the best alpha is the largest tried."
    )
    header = (
        f"  {'dataset':20s} {'scaler':8s} {'hidden':6s} {'pipeline':8s} "
        f"{'penalty':9s} {'base acc':>8s} {'base cert':>9s} | {'alpha':>6s} "
        f"{'acc':>6s} {'cert raw':>8s} {'pgd raw':>7s} {'L_raw':>8s} | "
        f"{'alpha':>6s} {'cert model':>10s}"
    )
    print(header)
    print("  " + "-" * (len(header) - 2))
    keys = sorted(
        {(r["dataset"], r["scaler"], r["hidden"]) for r in rows},
        key=lambda k: (datasets.index(k[0]), k[1], k[2]),
    )
    means = _group_means(rows)
    for ds, sc, hd in keys:
        base = means[(ds, sc, hd, "sklip", "none", 0.0)]
        for kind in KINDS:
            for pen in ALPHAS:
                entry = table.get((ds, sc, hd, kind, pen))
                start = (
                    f"  {ds:20s} {sc:8s} {hd:6s} {kind:8s} {pen:9s} "
                    f"{base['acc']:8.3f} {base['cert_raw']:9.3f} | "
                )
                if entry is None:
                    if any(k[:5] == (ds, sc, hd, kind, pen) for k in means):
                        print(start + f"{'-':>6s}")
                    continue
                a_raw, m_raw = entry["raw"]
                a_mod, m_mod = entry["model"]
                top = max(k[5] for k in means if k[:5] == (ds, sc, hd, kind, pen))
                edge = "*" if a_raw == top else " "
                print(
                    start + f"{a_raw:5g}{edge} {m_raw['acc']:6.3f} "
                    f"{m_raw['cert_raw']:8.3f} "
                    f"{m_raw['pgd_raw']:7.3f} {m_raw['L_raw']:8.3g} | "
                    f"{a_mod:6g} {m_mod['cert_model']:10.3f}"
                )
    return table


def print_acceptance(table):
    """Issue 7's criterion: digits, MinMaxScaler, sklip pipeline, eps 2.7 raw."""
    print(
        "\nAcceptance (digits, MinMaxScaler, sklip pipeline, eps 2.7 raw pixel "
        "units): spectral best / frobenius best >= 0.95"
    )
    for hd in HIDDEN:
        spec = table.get(("digits", "minmax", hd, "sklip", "spectral"))
        frob = table.get(("digits", "minmax", hd, "sklip", "frobenius"))
        if spec is None or frob is None:
            continue
        s, f = spec["raw"][1]["cert_raw"], frob["raw"][1]["cert_raw"]
        ratio = s / f if f > 0 else np.inf
        verdict = "PASS" if ratio >= 0.95 else "FAIL"
        print(
            f"  hidden {hd:6s}: spectral {s:.3f} (alpha {spec['raw'][0]:g}), "
            f"frobenius {f:.3f} (alpha {frob['raw'][0]:g}), ratio {ratio:.3f} "
            f"{verdict}"
        )


def read_csv(path):
    """Rows of a CSV written by this script (numbers parsed back)."""
    with open(path) as f:
        columns = f.readline().strip().split(",")
        rows = []
        for line in f:
            row = {}
            for c, v in zip(columns, line.strip().split(",")):
                if c in ("seed", "n_iter"):
                    row[c] = int(v)
                elif c in ("dataset", "scaler", "hidden", "kind", "penalty"):
                    row[c] = v
                else:
                    row[c] = float(v)
            rows.append(row)
    return rows


def plot_pareto(rows, out_dir, datasets):
    """One figure per data set: test accuracy vs certified accuracy at eps_raw."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("\nmatplotlib not importable: no Pareto plot.")
        return []
    means = _group_means(rows)
    paths = []
    colors = {"frobenius": "tab:blue", "spectral": "tab:red"}
    styles = {"sklearn": ("o", "--"), "sklip": ("s", "-")}
    for ds in datasets:
        cells = sorted({(k[1], k[2]) for k in means if k[0] == ds})
        if not cells:
            continue
        fig, axes = plt.subplots(
            1, len(cells), figsize=(4 * len(cells), 3.6), squeeze=False
        )
        eps = next(r["eps_raw"] for r in rows if r["dataset"] == ds)
        for ax, (sc, hd) in zip(axes[0], cells):
            base = means[(ds, sc, hd, "sklip", "none", 0.0)]
            for kind, (marker, line) in styles.items():
                for pen, color in colors.items():
                    pts = sorted(
                        (k[5], m)
                        for k, m in means.items()
                        if k[:5] == (ds, sc, hd, kind, pen)
                    )
                    if not pts:
                        continue
                    ax.plot(
                        [m["acc"] for _, m in pts],
                        [m["cert_raw"] for _, m in pts],
                        marker=marker,
                        linestyle=line,
                        color=color,
                        label=f"{pen}, {kind} pipeline",
                    )
            ax.plot(base["acc"], base["cert_raw"], "k*", ms=10, label="no penalty")
            ax.axvline(base["acc"] - 0.01, color="grey", lw=0.8, ls=":")
            # Collapsed models (chance accuracy) would squash the trade-off.
            ax.set_xlim(base["acc"] - 0.08, min(1.0, base["acc"] + 0.01) + 0.005)
            ax.set_title(f"{sc}, hidden {hd}", fontsize=9)
            ax.set_xlabel("test accuracy")
        axes[0][0].set_ylabel(f"certified accuracy, eps {eps:g} ({UNITS[ds]})")
        axes[0][-1].legend(fontsize=7)
        fig.suptitle(
            f"{ds}: penalty trade-off (means over seeds; dotted: 1 point below "
            "the unpenalised accuracy)"
        )
        fig.tight_layout()
        path = os.path.join(out_dir, f"penalties_pareto_{ds}.png")
        fig.savefig(path, dpi=110)
        plt.close(fig)
        paths.append(path)
    return paths


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help="wine, MinMaxScaler, hidden (64,), 1 seed, 1 alpha per penalty, n_jobs 1",
    )
    parser.add_argument("--datasets", nargs="+", choices=DATASETS, default=None)
    parser.add_argument("--hidden", nargs="+", choices=list(HIDDEN), default=None)
    parser.add_argument("--scalers", nargs="+", choices=list(SCALERS), default=None)
    parser.add_argument("--seeds", type=int, default=None)
    parser.add_argument("--n-jobs", type=int, default=None, help="default 2")
    parser.add_argument("--out", default="bench_penalties_out")
    for penalty in ALPHAS:
        parser.add_argument(
            f"--{penalty}-alphas",
            type=float,
            nargs="*",
            default=None,
            help=f"override the {penalty} alpha grid (none: skip {penalty})",
        )
    parser.add_argument("--kinds", nargs="+", choices=list(KINDS), default=None)
    parser.add_argument(
        "--no-baseline",
        action="store_true",
        help="skip the unpenalised fits (when extending the grid of a run)",
    )
    parser.add_argument(
        "--from-csv",
        nargs="+",
        help="rebuild the table and plots from CSVs of this script (e.g. a run "
        "and a run extending its alpha grids)",
    )
    args = parser.parse_args(argv)
    if args.from_csv:
        rows = [r for path in args.from_csv for r in read_csv(path)]
        datasets = [d for d in DATASETS if any(r["dataset"] == d for r in rows)]
        report(rows, datasets, os.path.dirname(args.from_csv[0]) or ".")
        return
    quick = args.quick
    if args.n_jobs is None:
        args.n_jobs = 1 if quick else 2
    datasets = args.datasets or (["wine"] if quick else list(DATASETS))
    scalers = args.scalers or (["minmax"] if quick else list(SCALERS))
    hiddens = args.hidden or (["64"] if quick else list(HIDDEN))
    seeds = range(args.seeds or (1 if quick else 3))
    alphas = dict(QUICK_ALPHAS if quick else ALPHAS)
    for penalty in ALPHAS:
        grid = getattr(args, f"{penalty}_alphas")
        if grid is not None:
            alphas[penalty] = tuple(grid)
    kinds = args.kinds or list(KINDS)
    all_tasks = sorted(
        tasks(datasets, scalers, hiddens, seeds, alphas, kinds, not args.no_baseline),
        key=_cost,
    )
    all_tasks.reverse()
    print(
        f"{len(all_tasks)} fits ({'quick' if quick else 'full'} mode), "
        f"n_jobs={args.n_jobs}, max_iter={MAX_ITER}"
    )
    os.makedirs(args.out, exist_ok=True)
    csv = os.path.join(args.out, "bench_penalties.csv")
    start = time.perf_counter()
    rows = []
    results = Parallel(n_jobs=args.n_jobs, return_as="generator_unordered")(
        delayed(run_one)(*t) for t in all_tasks
    )
    # Rows are written as they arrive, so an interrupted run keeps its results
    # (--from-csv rebuilds the table from them).
    with open(csv, "w") as f:
        for row in results:
            if not rows:
                f.write(",".join(row) + "\n")
            rows.append(row)
            f.write(",".join(str(v) for v in row.values()) + "\n")
            f.flush()
            if len(rows) % 50 == 0:
                elapsed = time.perf_counter() - start
                print(
                    f"  {len(rows)}/{len(all_tasks)} fits, {elapsed:.0f} s", flush=True
                )
    elapsed = time.perf_counter() - start
    report(rows, datasets, args.out)
    print(f"CSV: {csv}\nwall time {elapsed:.0f} s")


def report(rows, datasets, out_dir):
    # The table compares with the unpenalised model of each cell: cells run
    # with --no-baseline are reported together with the run that has it.
    cells = {(r["dataset"], r["scaler"], r["hidden"]) for r in rows}
    based = {
        (r["dataset"], r["scaler"], r["hidden"]) for r in rows if r["penalty"] == "none"
    }
    if cells - based:
        print(
            f"\n{len(cells - based)} cells have no unpenalised baseline in these "
            "rows; rebuild the table with --from-csv and the run that has them."
        )
        rows = [r for r in rows if (r["dataset"], r["scaler"], r["hidden"]) in based]
        if not rows:
            return
    table = print_table(rows, list(DATASETS))
    print_acceptance(table)
    for path in plot_pareto(rows, out_dir, datasets):
        print(f"Pareto plot: {path}")


if __name__ == "__main__":
    main()
