"""Tables on stdout and the report directory (CSV and PNG figures)."""

import csv
import pathlib

from ._args import CLIError
from ._labels import METRIC_NAMES, candidate_name
from ._model import METRICS
from ._search import TOLERANCE

_SHORT = {
    "accuracy": "acc",
    "r2": "R^2",
    "lipschitz_bound": "L bound",
    "robust_accuracy": "robust",
    "robust_r2": "robust R^2",
    "certified_accuracy": "certified",
}


def _list(names, limit=6):
    names = list(names)
    shown = ", ".join(names[:limit])
    return shown + (f", ... ({len(names)} in all)" if len(names) > limit else "")


def print_tables(result, out):
    """The ranked CV table, baselines, selection and the held-out table."""
    task, main = result["task"], result["main"]
    metrics = METRICS[task]
    units = result["units"]
    out.write(f"eps = {result['eps']:.4g} ({units.label})\n")
    out.write(f"perturbed: {len(units.numeric)} numeric ({_list(units.numeric)})")
    if units.categorical:
        out.write(f"; held fixed: {_list(units.categorical)}")
    out.write(
        "\nL bound: certified Lipschitz bound over the perturbed features, same "
        "units (output: "
        + ("logits" if task == "classification" else "target units")
        + ")\n\n"
    )
    out.write(f"cross-validation, ranked by {METRIC_NAMES[main]}:\n")
    head = (
        f"{'rank':>4s} {'candidate':28s} "
        + " ".join(f"{_SHORT[m]:>10s}" for m in metrics)
        + f" {'fit s':>6s}  note"
    )
    out.write(head + "\n" + "-" * len(head) + "\n")
    selected = result["selected"]
    for row in result["rows"]:
        cells = " ".join(_cell(m, row[f"mean_{m}"]) for m in metrics)
        note = "collapsed" if row["collapsed"] else ""
        if selected is not None and _same(row, selected["row"]):
            note = "selected"
        out.write(
            f"{row['rank']:4d} {candidate_name(row):28s} {cells} "
            f"{row['mean_fit_time_s']:6.2f}  {note}\n".rstrip()
            + "\n"
        )
    for base in result["baselines"]:
        cells = " ".join(_cell(m, base["cv"][m]) for m in metrics)
        out.write(f"{'-':>4s} {'baseline: ' + base['name']:28s} {cells}\n")
    out.write("\n" + result["rule"] + "\n")
    if selected is None:
        out.write(
            f"selected: none; every candidate collapsed to the "
            f"{result['baselines'][0]['name']} baseline (cv {METRIC_NAMES[main]} "
            f"within {TOLERANCE:g} of it): try smaller --alphas\n"
        )
    else:
        out.write(f"selected: {candidate_name(selected)}\n")
        note = linear_note(result)
        if note:
            out.write(note + "\n")
    out.write("\nheld-out test set: each penalty's pick and the baselines:\n")
    head = f"{'candidate':33s} " + " ".join(f"{_SHORT[m]:>10s}" for m in metrics)
    out.write(head + "\n" + "-" * len(head) + "\n")
    for entry in result["best"]:
        cells = " ".join(_cell(m, entry["test"][m]) for m in metrics)
        mark = " *" if entry is selected else ""
        out.write(f"{candidate_name(entry) + mark:33s} {cells}\n")
    for base in result["baselines"]:
        cells = " ".join(_cell(m, base["test"][m]) for m in metrics)
        out.write(f"{'baseline: ' + base['name']:33s} {cells}\n")
    if selected is not None:
        out.write("(* selected)\n")


def linear_note(result):
    """A sentence when the linear baseline is as good as the selected model
    in cross-validation (score within the tolerance, at least as robust)."""
    task, selected = result["task"], result["selected"]
    main, robust = METRICS[task][0], METRICS[task][2]
    linear = result["baselines"][1]
    row = selected["row"]
    if (
        linear["cv"][main] >= row[f"mean_{main}"] - TOLERANCE
        and linear["cv"][robust] >= row[f"mean_{robust}"] - TOLERANCE
    ):
        return (
            f"note: the linear baseline ({linear['name']}) is as good as the "
            f"selected candidate: cv {METRIC_NAMES[main]} "
            f"{linear['cv'][main]:.3f} vs {row[f'mean_{main}']:.3f}, cv "
            f"{_SHORT[robust]} {linear['cv'][robust]:.3f} vs "
            f"{row[f'mean_{robust}']:.3f}; an MLP buys nothing on this table"
        )
    if linear["cv"][main] > row[f"mean_{main}"] + TOLERANCE:
        return (
            f"note: the linear baseline ({linear['name']}) has the higher cv "
            f"{METRIC_NAMES[main]} ({linear['cv'][main]:.3f} vs "
            f"{row[f'mean_{main}']:.3f}; cv {_SHORT[robust]} "
            f"{linear['cv'][robust]:.3f} vs {row[f'mean_{robust}']:.3f})"
        )
    return None


def _same(row, other):
    return all(row[k] == other[k] for k in ("penalty", "alpha", "lipschitz_margin"))


def _cell(metric, value):
    if metric == "lipschitz_bound":
        return f"{value:10.4g}"
    return f"{value:10.3f}"


def write_report(result, directory, X_test, y_test, *, random_state, n_jobs=1):
    """cv_results.csv, accuracy_vs_lipschitz.png, robustness_curves.png and
    the curves' numbers, robustness_curves.csv."""
    from ._plots import plot_curves, plot_tradeoff

    directory = pathlib.Path(directory)
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CLIError(
            f"--output: cannot create {str(directory)!r}: {exc.strerror}"
        ) from None
    metrics = METRICS[result["task"]]
    fields = ["rank", "candidate", "penalty", "alpha", "lipschitz_margin"]
    for m in metrics:
        fields += [f"mean_{m}", f"std_{m}"]
    fields += ["mean_fit_time_s", "collapsed", "selected", "eps", "eps_units"]
    selected = result["selected"]
    with open(directory / "cv_results.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        for row in result["rows"]:
            writer.writerow(
                {
                    **{k: row[k] for k in fields if k in row},
                    "candidate": candidate_name(row),
                    "selected": selected is not None and _same(row, selected["row"]),
                    "eps": result["eps"],
                    "eps_units": result["units"].kind,
                }
            )
        for base in result["baselines"]:
            writer.writerow(
                {
                    "rank": "",
                    "candidate": f"baseline: {base['name']}",
                    "penalty": "",
                    **{f"mean_{m}": base["cv"][m] for m in metrics},
                    "collapsed": "",
                    "selected": False,
                    "eps": result["eps"],
                    "eps_units": result["units"].kind,
                }
            )
    plot_tradeoff(result, directory / "accuracy_vs_lipschitz.png")
    points = plot_curves(
        result,
        directory / "robustness_curves.png",
        X_test,
        y_test,
        random_state,
        n_jobs=n_jobs,
    )
    with open(directory / "robustness_curves.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(points[0]))
        writer.writeheader()
        writer.writerows(points)
    return directory
