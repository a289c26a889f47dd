"""The report's figures, drawn with the table's units, features and attack.

Every curve is computed by the same :class:`~._model.View` as the table
(numeric features perturbed, categorical ones held fixed, the same eps
units and attack), so at the table's eps a curve reads the table's number.
One colour per penalty in every figure; baselines in grey.
"""

import numpy as np

from ._labels import METRIC_NAMES, candidate_name, pyplot
from ._model import View

COLORS = {"none": "#1f77b4", "frobenius": "#ff7f0e", "spectral": "#2ca02c"}
BASELINE_COLOR = "0.45"
# robust_accuracy's default attack, spelled out for the legends.
ATTACK_NAME = "attack 'auto' (APGD-CE, APGD-T, Square; exact on linear models)"


def _log_axis(axis, values):
    """Readable ticks on a log axis: plain numbers, and 2-5 minor labels when
    the data span less than two decades."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    values = np.asarray([v for v in values if v > 0])
    fmt = FuncFormatter(lambda v, _: f"{v:g}")
    axis.set_major_formatter(fmt)
    if values.size and values.max() / values.min() < 100:
        axis.set_minor_locator(LogLocator(subs=(2.0, 5.0)))
        axis.set_minor_formatter(fmt)
    else:
        axis.set_minor_formatter(NullFormatter())


def plot_tradeoff(result, path):
    """Cross-validated score against certified L bound, per penalty."""
    plt = pyplot()
    task, main = result["task"], result["main"]
    metric = METRIC_NAMES[main]
    fig, ax = plt.subplots(figsize=(7.2, 4.8))
    rows = result["rows"]
    # Grid order (none, frobenius, spectral), not rank order: the legend
    # reads the same in every report.
    order = {p: i for i, p in enumerate(COLORS)}
    groups = sorted(
        dict.fromkeys((r["penalty"], r["lipschitz_margin"]) for r in rows),
        key=lambda g: (order.get(g[0], len(order)), g[1]),
    )
    xs = []
    for g, (penalty, margin) in enumerate(groups):
        mine = sorted(
            (
                r
                for r in rows
                if (r["penalty"], r["lipschitz_margin"]) == (penalty, margin)
            ),
            key=lambda r: r["alpha"],
        )
        x = [r["mean_lipschitz_bound"] for r in mine]
        y = [r[f"mean_{main}"] for r in mine]
        xs += x
        color = COLORS.get(penalty, "k")
        label = penalty + (f", margin {margin:.3g}" if margin else "")
        ax.plot(x, y, "--" if margin else "-", color=color, label=label, zorder=2)
        for r, xi, yi, k in zip(mine, x, y, range(len(mine))):
            hollow = r["collapsed"]
            ax.plot(
                xi,
                yi,
                "o",
                color=color,
                markerfacecolor="white" if hollow else color,
                zorder=3,
            )
            if penalty != "none":
                # Alternate above/below, one height per penalty, so labels of
                # neighbouring points (same alpha, other penalty) do not collide.
                dy = 6 + 9 * g
                ax.annotate(
                    f"{r['alpha']:g}",
                    (xi, yi),
                    textcoords="offset points",
                    xytext=(4, dy if k % 2 == 0 else -dy - 5),
                    fontsize=7,
                    color=color,
                )
    selected = result["selected"]
    if selected is not None:
        row = selected["row"]
        ax.plot(
            row["mean_lipschitz_bound"],
            row[f"mean_{main}"],
            "o",
            markersize=14,
            markerfacecolor="none",
            markeredgecolor="k",
            label="selected",
            zorder=4,
        )
    constant, linear = result["baselines"]
    ax.axhline(
        constant["cv"][main],
        color=BASELINE_COLOR,
        linestyle=":",
        label=f"baseline: {constant['name']} (L = 0)",
    )
    ax.plot(
        linear["cv"]["lipschitz_bound"],
        linear["cv"][main],
        "*",
        markersize=12,
        color=BASELINE_COLOR,
        label=f"baseline: {linear['name']}",
        zorder=3,
    )
    xs.append(linear["cv"]["lipschitz_bound"])
    ax.set_xscale("log")
    _log_axis(ax.xaxis, xs)
    ax.margins(x=0.08, y=0.12)  # room for the alpha labels inside the axes
    out_unit = "logits" if task == "classification" else "target units"
    ax.set_xlabel(
        f"certified Lipschitz bound ({out_unit} per {result['units'].axis_label}, "
        "log scale)"
    )
    ax.set_ylabel(f"cross-validated {metric}")
    ax.set_title(
        f"{metric} against certified Lipschitz bound "
        "(labels: alpha; hollow: collapsed)",
        fontsize=9,
    )
    ax.legend(fontsize=7, loc="best")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _curve(task, model, units, X, y, grid, random_state):
    """``(L bound, attack curve, certified curve or None)`` of one model."""
    view = View(model, units)
    attack = view.robust(X, y, grid, random_state)
    certified = view.certified(X, y, grid) if task == "classification" else None
    return view.lipschitz_bound(), attack, certified


def plot_curves(result, path, X_test, y_test, random_state, n_jobs=1):
    """Held-out robust score against eps (and, for regression, the certified
    output deviation), per penalty's pick and the linear baseline.

    Returns the plotted numbers, one dict per model and radius (``model``,
    ``eps``, ``eps_units``, the robust score, the certified score or
    deviation), so they can be written beside the figure and read against
    the table.
    """
    plt = pyplot()
    task, main = result["task"], result["main"]
    units, eps = result["units"], result["eps"]
    # Five radii, the table's eps in the middle (each costs a full attack).
    grid = np.linspace(0.0, 2.0 * eps, 5)
    regression = task == "regression"
    fig, axes = plt.subplots(
        1, 2 if regression else 1, figsize=(11.0 if regression else 7.2, 4.8)
    )
    ax = axes[0] if regression else axes
    entries = [
        (candidate_name(e), e["model"], COLORS.get(e["penalty"], "k"))
        for e in result["best"]
    ]
    linear = result["baselines"][1]
    entries.append((f"baseline: {linear['name']}", linear["model"], BASELINE_COLOR))
    from joblib import Parallel, delayed

    curves = Parallel(n_jobs=min(n_jobs, len(entries)))(
        delayed(_curve)(task, model, units, X_test, y_test, grid, random_state)
        for _, model, _ in entries
    )
    robust = f"robust_{main}"
    second = "certified_max_output_deviation" if regression else "certified_accuracy"
    points = []
    for (name, _, color), (bound, attack, certified) in zip(entries, curves):
        lower = bound * grid if regression else certified
        points += [
            {"model": name, "eps": r, "eps_units": units.kind, robust: a, second: c}
            for r, a, c in zip(grid, attack, lower)
        ]
        ax.plot(grid, attack, "-", marker=".", color=color, label=name)
        if certified is not None:
            ax.plot(grid, certified, "--", marker=".", color=color)
        if regression:
            axes[1].plot(grid, bound * grid, "-", color=color, label=name)
    constant = result["baselines"][0]
    ax.axhline(
        constant["test"][main],
        color=BASELINE_COLOR,
        linestyle=":",
        label=f"baseline: {constant['name']}",
    )
    ax.axvline(eps, color="0.6", linewidth=0.8)
    ax.annotate(
        f"table's eps = {eps:.3g}",
        (eps, 0.98),
        xycoords=("data", "axes fraction"),
        textcoords="offset points",
        xytext=(3, 0),
        va="top",
        fontsize=7,
        color="0.4",
    )
    from matplotlib.lines import Line2D

    handles, _ = ax.get_legend_handles_labels()
    handles.append(Line2D([], [], color="k", linestyle="-", label=ATTACK_NAME))
    if not regression:
        handles.append(
            Line2D([], [], color="k", linestyle="--", label="certified (lower bound)")
        )
    ax.legend(handles=handles, fontsize=7, loc="best")
    ax.set_xlabel(f"eps (L2 radius, {units.axis_label})")
    metric = METRIC_NAMES[main]
    ax.set_ylabel(f"robust {metric} on the held-out rows")
    if not regression:
        ax.set_ylim(-0.02, 1.02)
    ax.set_title(f"robust {metric}: attack (upper) and certified (lower)", fontsize=9)
    if regression:
        target = result.get("target") or "target"
        axes[1].set_xlabel(f"eps (L2 radius, {units.axis_label})")
        axes[1].set_ylabel(f"certified max output deviation ({target} units)")
        axes[1].set_title(
            "certified bound on |f(x + d) - f(x)|, ||d|| <= eps", fontsize=9
        )
        axes[1].axvline(eps, color="0.6", linewidth=0.8)
        axes[1].legend(fontsize=7, loc="best")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return points
