"""Tables on stdout and the report directory (CSV and PNG figures)."""

import csv
import pathlib

import numpy as np

from ._args import CLIError
from ._model import METRICS, View

_SHORT = {
    "accuracy": "acc",
    "r2": "R^2",
    "lipschitz_bound": "L bound",
    "robust_accuracy": "robust",
    "robust_r2": "robust R^2",
    "certified_accuracy": "certified",
}


def print_tables(result, out):
    task, main = result["task"], result["main"]
    metrics = METRICS[task]
    unit = result["units"].label
    out.write(
        f"eps = {result['eps']:.4g} ({unit}); L bound: certified Lipschitz "
        f"bound in the same units\n\n"
    )
    out.write(f"cross-validation, ranked by {main}:\n")
    head = (
        f"{'rank':>4s} {'penalty':10s} {'alpha':>7s} {'margin':>7s} "
        + " ".join(f"{_SHORT[m]:>10s}" for m in metrics)
        + f" {'fit s':>6s}"
    )
    out.write(head + "\n" + "-" * len(head) + "\n")
    for row in result["rows"]:
        cells = " ".join(_cell(m, row[f"mean_{m}"]) for m in metrics)
        out.write(
            f"{row['rank']:4d} {row['penalty']:10s} {row['alpha']:7g} "
            f"{row['lipschitz_margin']:7.3g} {cells} "
            f"{row['mean_fit_time_s']:6.2f}\n"
        )
    out.write("\nheld-out test set, best candidate of each penalty:\n")
    head = f"{'penalty':10s} {'alpha':>7s} {'margin':>7s} " + " ".join(
        f"{_SHORT[m]:>10s}" for m in metrics
    )
    out.write(head + "\n" + "-" * len(head) + "\n")
    for entry in result["best"]:
        cells = " ".join(_cell(m, entry["test"][m]) for m in metrics)
        out.write(
            f"{entry['penalty']:10s} {entry['alpha']:7g} "
            f"{entry['lipschitz_margin']:7.3g} {cells}\n"
        )


def _cell(metric, value):
    if metric == "lipschitz_bound":
        return f"{value:10.4g}"
    return f"{value:10.3f}"


def write_report(result, directory, X_test, y_test, *, random_state, n_numeric=None):
    """cv_results.csv, accuracy_vs_lipschitz.png, robustness_curves.png."""
    directory = pathlib.Path(directory)
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CLIError(
            f"--output: cannot create {str(directory)!r}: {exc.strerror}"
        ) from None
    metrics = METRICS[result["task"]]
    fields = ["rank", "penalty", "alpha", "lipschitz_margin"]
    for m in metrics:
        fields += [f"mean_{m}", f"std_{m}"]
    fields += ["mean_fit_time_s", "eps", "eps_units"]
    with open(directory / "cv_results.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        for row in result["rows"]:
            writer.writerow(
                {
                    **{k: row[k] for k in fields[:-2]},
                    "eps": result["eps"],
                    "eps_units": result["units"].kind,
                }
            )
    _plot_tradeoff(result, directory / "accuracy_vs_lipschitz.png")
    _plot_curves(
        result,
        directory / "robustness_curves.png",
        X_test,
        y_test,
        random_state,
        n_numeric,
    )
    return directory


def _pyplot():
    try:
        import matplotlib
    except ImportError:
        raise CLIError(
            "the report's figures need matplotlib: pip install 'sklip[cli]' "
            "(or --output '' for no report)"
        ) from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _plot_tradeoff(result, path):
    plt = _pyplot()
    main = result["main"]
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    colors = {}
    groups = dict.fromkeys(
        (r["penalty"], r["lipschitz_margin"]) for r in result["rows"]
    )
    for penalty, margin in groups:
        rows = sorted(
            (
                r
                for r in result["rows"]
                if (r["penalty"], r["lipschitz_margin"]) == (penalty, margin)
            ),
            key=lambda r: r["alpha"],
        )
        x = [r["mean_lipschitz_bound"] for r in rows]
        y = [r[f"mean_{main}"] for r in rows]
        # One colour per penalty; certified training (a margin) dashed.
        (line,) = ax.plot(
            x,
            y,
            "o--" if margin else "o-",
            color=colors.get(penalty),
            label=f"{penalty}, margin {margin:.3g}" if margin else penalty,
        )
        colors[penalty] = line.get_color()
        for r, xi, yi in zip(rows, x, y):
            if penalty != "none":
                ax.annotate(
                    f"{r['alpha']:g}",
                    (xi, yi),
                    textcoords="offset points",
                    xytext=(3, 3),
                    fontsize=7,
                )
    ax.set_xscale("log")
    # Minor-tick labels of a short log axis overlap; the major ones suffice.
    from matplotlib.ticker import NullFormatter

    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel(f"certified Lipschitz bound ({result['units'].label})")
    ax.set_ylabel(f"cross-validated {main}")
    ax.set_title("accuracy against certified Lipschitz bound (labels: alpha)")
    ax.legend(title="penalty")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _plot_curves(result, path, X_test, y_test, random_state, n_numeric):
    plt = _pyplot()
    from ..robustness import RobustnessCurveDisplay

    classifier = result["task"] == "classification"
    attacks = ("noise", "pgd", "certified") if classifier else ("noise", "pgd")
    grid = np.linspace(0.0, 2.0 * result["eps"], 9)
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    for entry in result["best"]:
        view = View(entry["model"], result["units"], n_numeric)
        RobustnessCurveDisplay.from_estimator(
            view.network,
            view.inputs(X_test),
            np.asarray(y_test),
            eps=grid,
            attacks=attacks,
            random_state=random_state,
            ax=ax,
            name=f"{entry['penalty']} (alpha={entry['alpha']:g}"
            + (
                f", margin={entry['lipschitz_margin']:.3g})"
                if entry["lipschitz_margin"]
                else ")"
            ),
        )
    ax.axvline(result["eps"], color="0.6", linewidth=0.8)
    ax.set_xlabel(f"eps ({result['units'].label})")
    ax.set_title("held-out test set: attack (upper) and certified (lower) curves")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
