"""The main job on real-looking tables (tests/data, made by make_tables.py).

Each table is searched once (quick grid, the default model) and the saved
model evaluated on the held-out rows the search wrote: the numbers must be the
table's. Oracles: the library's own functions on the same rows, and
scikit-learn's RidgeCV on the same split.
"""

import re

import numpy as np
import pytest

from ._run import (
    check_png,
    evaluated,
    held_out_row,
    robust_score,
    selected_candidate,
    sklip,
)

pd = pytest.importorskip("pandas", reason="the CLI reads CSV with pandas (extra 'cli')")
pytest.importorskip("matplotlib", reason="the CLI report plots (extra 'cli')")
pytest.importorskip("skops", reason="model files are skops files (extra 'cli')")

# The default model (64 hidden units, 200 epochs) on a small grid.
GRID = ["--quick", "--n-jobs", "1", "--hidden", "64", "--max-iter", "200"]
TABLES = {
    "penguins": ["--data", "penguins.csv", "--target", "species"],
    "cars": ["--data", "cars.csv", "--target", "mpg"],
    # Raw units, a radius of 2 (years of age, points on the 1-5 answers,
    # dollars of income): the library's own units, for the oracle below.
    "survey": [
        "--data",
        "survey.csv",
        "--target",
        "satisfied",
        "--eps-units",
        "raw",
        "--eps",
        "2",
    ],
    "panel": [
        "--data",
        "panel.csv",
        "--sep",
        ";",
        "--decimal",
        ",",
        "--target",
        "consumption",
    ],
}
READ = {"panel": {"sep": ";", "decimal": ","}}


@pytest.fixture(scope="module")
def searched(tables):
    """``{table: (search run, evaluate run)}``, each search saving its
    selected model and held-out rows, each evaluate reading those."""
    runs = {}
    for name, args in TABLES.items():
        output = ["--output", f"{name}-report"] if name == "penguins" else []
        search = sklip(
            "search",
            *args,
            *GRID,
            *(output or ["--output", ""]),
            "--save-model",
            f"{name}.skops",
            "--save-test",
            f"{name}-test.csv",
            cwd=tables,
        )
        assert search.returncode == 0, (name, search.stderr)
        data = [a for a in args if a not in ("--eps-units", "raw", "--eps", "2")]
        data[data.index("--data") + 1] = f"{name}-test.csv"
        evaluate = sklip("evaluate", "--model", f"{name}.skops", *data, cwd=tables)
        assert evaluate.returncode == 0, (name, evaluate.stderr)
        runs[name] = (search, evaluate)
    return runs


@pytest.mark.parametrize("name", list(TABLES))
def test_evaluate_reproduces_the_search_table(searched, name):
    search, evaluate = searched[name]
    out = search.stdout
    assert "baseline: majority class" in out or "baseline: mean predictor" in out
    assert "baseline: LogisticRegression" in out or "baseline: RidgeCV" in out
    assert "selection: among candidates not collapsed" in out
    chosen = selected_candidate(out)
    row = held_out_row(out, chosen + " *")
    values = evaluated(evaluate.stdout)
    regression = name in ("cars", "panel")
    score = values["R^2" if regression else "accuracy"]
    robust = robust_score(values)
    assert score == pytest.approx(row[0], abs=6e-4)
    assert values["Lipschitz bound, auto"] == pytest.approx(row[1], rel=1e-3)
    assert robust == pytest.approx(row[2], abs=6e-4)
    if not regression:
        assert values["certified accuracy"] == pytest.approx(row[3], abs=6e-4)
    # The eps of the search, not one recomputed on the 60 held-out rows.
    eps = search.stdout.split("eps = ")[1].split()[0]
    assert f"eps = {eps} (" in evaluate.stdout
    assert "the eps the model was selected at" in evaluate.stdout


def test_no_collapsed_candidate_is_selected(searched, tables):
    report = pd.read_csv(tables / "penguins-report" / "cv_results.csv")
    candidates = report[~report["candidate"].str.startswith("baseline: ")]
    assert candidates["selected"].sum() == 1
    assert not candidates.loc[candidates["selected"], "collapsed"].any()
    majority = report.loc[
        report["candidate"] == "baseline: majority class", "mean_accuracy"
    ].item()
    counts = pd.read_csv(tables / "penguins.csv")["species"].value_counts()
    assert majority == pytest.approx(counts.max() / counts.sum(), abs=0.03)
    flagged = candidates["mean_accuracy"] <= majority + 0.01
    assert list(candidates["collapsed"]) == list(flagged)


def test_a_collapsed_grid_selects_nothing(tables):
    # A huge frobenius penalty flattens every candidate to the majority class.
    run = sklip(
        "search",
        *TABLES["penguins"],
        *GRID,
        "--penalties",
        "frobenius",
        "--alphas",
        "1e6",
        "--output",
        "",
        cwd=tables,
    )
    assert run.returncode == 0, run.stderr
    assert "collapsed" in run.stdout
    assert "selected: none; every candidate collapsed" in run.stdout


def test_table_equals_the_library_on_the_same_rows(searched, tables):
    """Survey, raw units: the evaluated robust accuracy is the library's
    robust_accuracy(..., features=<numeric columns>) on the held-out rows."""
    from sklip.persistence import load
    from sklip.robustness import certified_accuracy, robust_accuracy

    bundle = load(tables / "survey.skops")
    units = bundle["units"]
    assert units["kind"] == "raw"
    numeric, categorical = units["numeric"], units["categorical"]
    assert "respondent_id" not in numeric + categorical  # dropped as an id
    test = pd.read_csv(tables / "survey-test.csv")
    X = test[numeric + categorical]
    y = test["satisfied"].to_numpy()
    model, eps = bundle["model"], bundle["eps"]
    robust = robust_accuracy(model, X, y, eps=eps, features=numeric, random_state=0)
    certified = certified_accuracy(model, X, y, eps=eps, features=numeric)
    values = evaluated(searched["survey"][1].stdout)
    assert 0 < robust < values["accuracy"]  # the radius moves some predictions
    assert values["robust accuracy (attack auto)"] == pytest.approx(robust, abs=6e-5)
    assert values["certified accuracy"] == pytest.approx(certified, abs=6e-5)
    # Held fixed: the region is never perturbed.
    assert categorical == ["region"]


@pytest.mark.parametrize("name", ["cars", "panel"])
def test_regression_trains_as_well_as_ridge(searched, tables, name):
    """Held-out R^2 of the selected MLP within 0.05 of scikit-learn's
    RidgeCV fitted on the same rows (the search's training rows)."""
    from sklearn.linear_model import RidgeCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from sklip.cli._data import make_encoder
    from sklip.persistence import load

    bundle = load(tables / f"{name}.skops")
    units = bundle["units"]
    columns = units["numeric"] + units["categorical"]
    frame = pd.read_csv(tables / f"{name}.csv", **READ.get(name, {}))
    test = pd.read_csv(tables / f"{name}-test.csv", **READ.get(name, {}))
    target = bundle["target"]
    # The search's split: train_test_split of the table's rows, seed 0.
    from sklearn.model_selection import train_test_split

    train, held_out = train_test_split(frame, test_size=0.25, random_state=0)
    pd.testing.assert_frame_equal(held_out.reset_index(drop=True), test)
    ridge = make_pipeline(
        make_encoder(frame, units["numeric"], units["categorical"]),
        StandardScaler(),
        RidgeCV(alphas=np.logspace(-3, 3, 13)),
    ).fit(train[columns], train[target])
    ridge_r2 = ridge.score(test[columns], test[target])
    r2 = bundle["model"].score(test[columns], test[target])
    assert r2 >= ridge_r2 - 0.05, (r2, ridge_r2)
    # The report's own baseline row is that RidgeCV.
    row = held_out_row(searched[name][0].stdout, "baseline: RidgeCV")
    assert row[0] == pytest.approx(ridge_r2, abs=6e-4)


def test_column_hygiene_names_what_it_drops(searched):
    cars_stderr = searched["cars"][0].stderr
    assert "dropped column(s) that are not features: free text" in cars_stderr
    assert "name" in cars_stderr
    survey = searched["survey"][0].stderr
    assert "id-like (a distinct value on every row): respondent_id;" in survey
    assert "free text (too many distinct values to be a category): comment" in survey
    panel = searched["panel"][0].stderr
    assert "date-like: date" in panel
    assert "held fixed: country" in searched["panel"][0].stdout


def test_decimal_commas_without_decimal_option(tables):
    run = sklip(
        "search",
        "--data",
        "panel.csv",
        "--sep",
        ";",
        "--target",
        "consumption",
        "--quick",
        cwd=tables,
    )
    assert run.returncode == 2
    lines = run.stderr.strip().splitlines()
    assert (
        "numbers with a decimal comma (pass --decimal , to read them): gdp"
        in (lines[0])
    )
    assert lines[-1].startswith("sklip search: error: --target: column 'consumption'")
    assert "--decimal ," in lines[-1]


def test_categorical_override_and_missing_cells(searched, tables):
    # penguins has missing numeric cells: evaluated all the same (a missing
    # cell is held fixed, the row perturbed over its observed columns).
    frame = pd.read_csv(tables / "penguins.csv")
    assert frame.select_dtypes("number").isna().any().any()
    run = sklip(
        "evaluate",
        "--model",
        "penguins.skops",
        "--data",
        "penguins.csv",
        cwd=tables,
    )
    assert run.returncode == 0, run.stderr
    values = evaluated(run.stdout)
    robust = values["robust accuracy (attack auto)"]
    assert 0 < values["certified accuracy"] <= robust <= values["accuracy"]
    run = sklip(
        "search",
        *TABLES["survey"],
        *GRID,
        "--alphas",
        "1",
        "--penalties",
        "spectral",
        "--categorical",
        "q1",
        "--output",
        "",
        cwd=tables,
    )
    assert run.returncode == 0, run.stderr
    assert "held fixed: q1, region" in run.stdout


def test_report_figures(searched, tables):
    for png in ("accuracy_vs_lipschitz.png", "robustness_curves.png"):
        check_png(tables / "penguins-report" / png)


def test_curves_agree_with_the_table(searched, tables):
    """robustness_curves.csv (the numbers the figure draws) reads, at the
    table's eps, the held-out table's robust and certified accuracy for
    every model drawn: the same units, columns and attack."""
    search, _ = searched["penguins"]
    curves = pd.read_csv(tables / "penguins-report" / "robustness_curves.csv")
    log = search.stdout + search.stderr
    eps = float(re.search(r"eps = ([\d.e+-]+) \(", log).group(1))
    at_eps = curves[np.isclose(curves["eps"], eps, rtol=1e-3)]
    assert set(curves["eps_units"]) == {"std"}
    # Each penalty's pick and the linear baseline, one row each at eps.
    assert len(at_eps) == len(set(curves["model"])) >= 2
    for _, point in at_eps.iterrows():
        label = point["model"]
        acc, _, robust, certified = held_out_row(search.stdout, label)
        assert point["robust_accuracy"] == pytest.approx(robust, abs=5e-4), label
        assert point["certified_accuracy"] == pytest.approx(certified, abs=5e-4)
        # And the curve starts at the clean accuracy.
        clean = curves[(curves["model"] == point["model"]) & (curves["eps"] == 0)]
        assert float(clean["robust_accuracy"].iloc[0]) == pytest.approx(acc, abs=5e-4)
