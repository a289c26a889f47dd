"""The command line, run as a user runs it: a subprocess per command."""

import numpy as np
import pytest

from ._run import (
    check_png,
    eps_of,
    evaluated,
    one_line_error,
    robust_score,
    sklip,
    sklip_in_process,
)

pd = pytest.importorskip("pandas", reason="the CLI reads CSV with pandas (extra 'cli')")
pytest.importorskip("matplotlib", reason="the CLI report plots (extra 'cli')")

FAST = ["--quick", "--n-jobs", "1", "--alphas", "1", "--max-iter", "40"]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """A classification CSV (string target in a middle column, a categorical
    column, missing cells) and a ';'-separated regression CSV."""
    path = tmp_path_factory.mktemp("cli")
    rng = np.random.default_rng(0)
    n = 90
    a = rng.normal(size=n)
    b = rng.normal(scale=100.0, size=n)
    color = rng.choice(["red", "green", "blue"], size=n)
    label = np.where(a + b / 100 + (color == "red") > 0.3, "yes", "no")
    frame = pd.DataFrame({"a": a, "species": label, "color": color, "b": b})
    frame.loc[3, "a"] = np.nan
    frame.loc[5, "color"] = None
    frame.loc[7, "b"] = np.nan
    frame.to_csv(path / "cls.csv", index=False)
    x1, x2 = rng.normal(size=(2, n))
    reg = pd.DataFrame({"x1": x1, "y": 2 * x1 - x2, "x2": x2})
    reg.to_csv(path / "reg.csv", sep=";", index=False)
    return path


def test_search_classification_csv_report_and_saved_model(files):
    run = sklip(
        "search",
        "--data",
        "cls.csv",
        "--target",
        "species",
        *FAST,
        "--output",
        "report",
        "--save-model",
        "model.skops",
        cwd=files,
    )
    assert run.returncode == 0, run.stderr
    assert "Traceback" not in run.stderr
    out = run.stdout
    assert "2 numeric, 1 categorical" in out and "classification" in out
    assert "in training standard deviations" in out  # eps printed with its unit
    assert "perturbed: 2 numeric (a, b); held fixed: color" in out
    # Progress on stderr: a line per penalty, a dot per scored fit.
    assert "penalty=spectral: 1 alpha(s) x 2 folds = 2 fits .. done in" in run.stderr
    report = pd.read_csv(files / "report" / "cv_results.csv")
    baselines = report[report["candidate"].str.startswith("baseline: ")]
    assert list(baselines["candidate"]) == [
        "baseline: majority class",
        "baseline: LogisticRegression",
    ]
    report = report.drop(baselines.index)
    for column in [
        "rank",
        "penalty",
        "alpha",
        "lipschitz_margin",
        "mean_accuracy",
        "std_accuracy",
        "mean_lipschitz_bound",
        "mean_robust_accuracy",
        "mean_certified_accuracy",
        "mean_fit_time_s",
        "eps",
        "eps_units",
    ]:
        assert column in report.columns
    assert sorted(report["penalty"]) == ["frobenius", "none", "spectral"]
    assert list(report["rank"]) == [1, 2, 3]
    assert np.all(np.diff(report["mean_accuracy"]) <= 0)  # ranked
    assert np.all(report["mean_lipschitz_bound"] > 0)
    # Certified <= robust <= clean, fold by fold hence on average.
    assert np.all(
        report["mean_certified_accuracy"] <= report["mean_robust_accuracy"] + 1e-12
    )
    assert np.all(report["mean_robust_accuracy"] <= report["mean_accuracy"] + 1e-12)
    for png in ("accuracy_vs_lipschitz.png", "robustness_curves.png"):
        check_png(files / "report" / png)

    from sklip.persistence import load

    bundle = load(files / "model.skops")
    assert bundle["units"]["numeric"] == ["a", "b"]
    assert bundle["units"]["categorical"] == ["color"]
    assert bundle["target"] == "species" and bundle["task"] == "classification"
    model = bundle["model"]
    frame = pd.read_csv(files / "cls.csv")
    assert set(model.predict(frame.drop(columns="species"))) <= {"yes", "no"}

    run = sklip(
        "evaluate",
        "--model",
        "model.skops",
        "--data",
        "cls.csv",
        cwd=files,
    )
    assert run.returncode == 0, run.stderr
    values = evaluated(run.stdout)
    assert values["accuracy"] == pytest.approx(
        model.score(frame.drop(columns="species"), frame["species"]), abs=1e-4
    )
    bound = values["Lipschitz bound, auto"]
    assert values["Lipschitz bound, frobenius"] >= values["Lipschitz bound, spectral"]
    assert values["Lipschitz bound, spectral"] >= bound * (1 - 1e-3)
    # The categorical column is held fixed; the attained slope over the
    # numeric ones is below the certified bound over them.
    assert "perturbed: a, b; held fixed: color" in run.stdout
    assert 0 < values["Lipschitz lower bound"] <= bound * (1 + 1e-3)
    assert values["certified accuracy"] <= robust_score(values) <= values["accuracy"]

    # At eps=0 nothing moves: robust accuracy is the accuracy.
    run = sklip(
        "evaluate",
        "--model",
        "model.skops",
        "--data",
        "cls.csv",
        "--target",
        "species",
        "--eps",
        "0",
        "--eps-units",
        "raw",
        cwd=files,
    )
    assert run.returncode == 0, run.stderr
    assert "eps = 0 (L2 over the numeric features, in the CSV's own units" in run.stdout
    assert robust_score(evaluated(run.stdout)) == pytest.approx(
        values["accuracy"], abs=1e-4
    )


def test_search_regression_semicolon_csv(files):
    run = sklip(
        "search",
        "--data",
        "reg.csv",
        "--sep",
        ";",
        "--target",
        "y",
        "--task",
        "regression",
        *FAST,
        "--output",
        "reg-report",
        "--quiet",
        "--save-model",
        "reg.skops",
        cwd=files,
    )
    assert run.returncode == 0, run.stderr
    assert run.stderr == ""  # --quiet
    assert "regression" in run.stdout and "R^2" in run.stdout
    report = pd.read_csv(files / "reg-report" / "cv_results.csv")
    assert "baseline: RidgeCV" in set(report["candidate"])
    assert {"mean_r2", "mean_robust_r2", "mean_lipschitz_bound"} <= set(report.columns)
    assert np.all(report["mean_robust_r2"] <= report["mean_r2"] + 1e-12)
    check_png(files / "reg-report" / "robustness_curves.png")

    run = sklip(
        "evaluate",
        "--model",
        "reg.skops",
        "--data",
        "reg.csv",
        "--sep",
        ";",
        "--target",
        "y",
        cwd=files,
    )
    assert run.returncode == 0, run.stderr
    values = evaluated(run.stdout)
    assert robust_score(values) <= values["R^2"]
    assert "(y units)" in run.stdout
    assert values["certified max output deviation"] == pytest.approx(
        values["Lipschitz bound, auto"] * eps_of(run.stdout), rel=1e-3
    )


def test_demo_quick_and_bare_sklip(tmp_path):
    run = sklip(
        "--quick",
        "--n-jobs",
        "1",
        "--data",
        "iris",
        "--penalties",
        "spectral",
        "spectral",
        "none",
        "--margin",
        cwd=tmp_path,
    )
    assert run.returncode == 0, run.stderr
    assert "data: iris" in run.stdout
    report = pd.read_csv(tmp_path / "sklip-report" / "cv_results.csv")
    report = report[~report["candidate"].str.startswith("baseline: ")]
    # Duplicate penalties are searched once: none 1 alpha, spectral alphas 1
    # and 10, each without and with certified training at the report's eps.
    assert sorted(report["penalty"]) == ["none"] * 2 + ["spectral"] * 4
    eps = report["eps"].iloc[0]
    assert sorted(set(report["lipschitz_margin"])) == [0.0, pytest.approx(eps)]
    assert eps == pytest.approx(0.2 * np.sqrt(4))  # iris: 4 features, std units
    check_png(tmp_path / "sklip-report" / "accuracy_vs_lipschitz.png")


def test_help_documents_every_option_and_version(tmp_path):
    import argparse

    from sklip import __version__
    from sklip.cli import build_parser
    from sklip.cli._args import Formatter

    run = sklip("--version", cwd=tmp_path)
    assert run.returncode == 0 and run.stdout.strip() == f"sklip {__version__}"
    subparsers = next(
        a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)
    )
    assert set(subparsers.choices) == {"demo", "search", "evaluate"}
    for command, parser in subparsers.choices.items():
        run = sklip_in_process(command, "--help", cwd=tmp_path)
        assert run.returncode == 0
        formatter = Formatter(prog="sklip")
        for action in parser._actions:
            if isinstance(action, argparse._HelpAction):
                continue
            for option in action.option_strings:
                assert option in run.stdout
            text = formatter._get_help_string(action)
            assert "default" in text or "(required)" in text, (command, action.dest)


BAD = {
    "missing file": (["search", "--data", "nope.csv", "--target", "t"], "no such file"),
    "unknown column": (
        ["search", "--data", "cls.csv", "--target", "nope"],
        "no column 'nope'",
    ),
    "malformed numbers": (
        ["search", "--data", "malformed.csv", "--target", "t"],
        "'oops'",
    ),
    "single class": (
        ["search", "--data", "single.csv", "--target", "t"],
        "single class",
    ),
    "headerless": (
        ["search", "--data", "headerless.csv", "--target", "0"],
        "no header",
    ),
    "wrong separator": (["search", "--data", "reg.csv", "--target", "y"], "--sep"),
    "text target for regression": (
        ["search", "--data", "cls.csv", "--target", "species", "--task", "regression"],
        "not numeric",
    ),
    "negative alpha": (["--alpha", "-1"], "--alpha"),
    "margin for regression": (
        [
            "search",
            "--data",
            "reg.csv",
            "--sep",
            ";",
            "--target",
            "y",
            "--task",
            "regression",
            "--margin",
        ],
        "--margin",
    ),
    "save-model directory missing": (
        [
            "search",
            "--data",
            "cls.csv",
            "--target",
            "species",
            "--save-model",
            "no/such/dir/m.joblib",
        ],
        "--save-model",
    ),
    "zero max-iter": (["demo", "--max-iter", "0"], "--max-iter"),
    "zero hidden": (["demo", "--hidden", "0"], "--hidden"),
    "one fold": (["demo", "--cv", "1"], "--cv"),
    "non-number eps": (["demo", "--eps", "abc"], "--eps"),
    "unknown data set": (["demo", "--data", "mnist"], "--data"),
    "missing model": (
        [
            "evaluate",
            "--model",
            "nope.joblib",
            "--data",
            "cls.csv",
            "--target",
            "species",
        ],
        "no such file",
    ),
    "not a model": (
        ["evaluate", "--model", "cls.csv", "--data", "cls.csv", "--target", "species"],
        "is not a sklip model file",
    ),
}


@pytest.mark.parametrize("case", BAD, ids=list(BAD))
def test_bad_input_is_one_line_and_exit_2(files, case):
    """In process (each run stops at the input, before any fit); the real
    command line is run by the test below."""
    (files / "headerless.csv").write_text("5.1,3.5,0\n4.9,3.0,1\n4.7,3.2,0\n")
    (files / "malformed.csv").write_text("a,b,t\n1,2,x\n3,oops,y\n4,5,x\n6,7,y\n")
    (files / "single.csv").write_text("a,b,t\n1,2,x\n3,4,x\n4,5,x\n")
    args, expected = BAD[case]
    assert expected in one_line_error(sklip_in_process(*args, cwd=files))


@pytest.mark.parametrize("case", ["unknown column", "zero max-iter"])
def test_bad_input_from_the_command_line(files, case):
    """``python -m sklip``'s exit status and stderr are main()'s: a data
    error and an argument error, run as a user runs them."""
    args, expected = BAD[case]
    run = sklip(*args, cwd=files)
    assert expected in one_line_error(run)
    assert run.stdout == sklip_in_process(*args, cwd=files).stdout


def test_evaluate_a_scikit_learn_model(tmp_path):
    """On a linear model every certified bound is exact: the lower bound the
    attack-free ascent attains equals the 'auto' bound, in std units too."""
    import joblib
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = load_iris(return_X_y=True, as_frame=True)
    X.assign(target=y).to_csv(tmp_path / "iris.csv", index=False)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    joblib.dump(model.fit(X, y), tmp_path / "lr.joblib")
    common = ["--model", "lr.joblib", "--data", "iris.csv", "--target", "target"]
    # A pickle runs code when loaded: refused unless the user trusts it.
    run = sklip("evaluate", *common, cwd=tmp_path)
    assert run.returncode == 2 and "--trust-pickle" in run.stderr
    run = sklip("evaluate", *common, "--trust-pickle", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert run.stderr == ""  # no feature-name warnings
    assert "std units of the evaluated file" in run.stdout
    values = evaluated(run.stdout)
    assert values["Lipschitz lower bound"] == pytest.approx(
        values["Lipschitz bound, auto"], rel=1e-3
    )
    assert values["accuracy"] == pytest.approx(model.score(X, y), abs=1e-4)


SCHEDULER_ERRORS = {
    "unreachable": (
        ["--scheduler", "tcp://127.0.0.1:1", "--scheduler-timeout", "1"],
        "No dask scheduler answered at 'tcp://127.0.0.1:1'",
    ),
    "malformed": (["--scheduler", "not an address::"], "not a valid dask scheduler"),
    "n-jobs": (["--scheduler", "tcp://127.0.0.1:1", "--n-jobs", "2"], "--n-jobs"),
    "zero timeout": (
        ["--scheduler", "tcp://127.0.0.1:1", "--scheduler-timeout", "0"],
        "--scheduler-timeout",
    ),
}


@pytest.mark.parametrize("case", SCHEDULER_ERRORS, ids=list(SCHEDULER_ERRORS))
def test_bad_scheduler_is_one_line_and_exit_2(files, case):
    # Checked before any fit: the connection comes first (the unreachable
    # case waits its one-second timeout, then stops).
    pytest.importorskip("distributed", reason="--scheduler needs sklip[distributed]")
    options, expected = SCHEDULER_ERRORS[case]
    run = sklip(
        "search",
        "--data",
        "cls.csv",
        "--target",
        "species",
        "--quick",
        *options,
        cwd=files,
    )
    assert expected in one_line_error(run)


def test_scheduler_without_distributed_says_how_to_install(files, tmp_path):
    shim = tmp_path / "shim"
    shim.mkdir()
    (shim / "distributed.py").write_text(
        "raise ImportError(\"No module named 'distributed'\")\n"
    )
    run = sklip(
        *["demo", "--data", "iris", "--quick"],
        *["--scheduler", "tcp://127.0.0.1:8786"],
        cwd=files,
        pythonpath=[shim],
    )
    line = one_line_error(run)
    assert "--scheduler: " in line
    assert "pip install 'sklip[distributed]'" in line


@pytest.mark.slow
def test_search_on_a_local_cluster_equals_the_local_run(files, tmp_path):
    pytest.importorskip("distributed", reason="--scheduler needs sklip[distributed]")
    from sklip.distributed import local_cluster

    # No --n-jobs: 2 here, every worker on the cluster.
    common = ["search", "--data", "cls.csv", "--target", "species", "--quick"]
    common += ["--alphas", "1", "--max-iter", "40"]
    local = sklip(*common, "--output", tmp_path / "local", cwd=files)
    assert local.returncode == 0, local.stderr
    with local_cluster(2, threads_per_worker=1) as client:
        address = client.scheduler.address
        remote = sklip(
            *common, "--scheduler", address, "--output", tmp_path / "remote", cwd=files
        )
    assert remote.returncode == 0, remote.stderr
    assert f"fits run on the dask cluster at {address}: 2 worker(s)" in remote.stderr
    a = pd.read_csv(tmp_path / "local" / "cv_results.csv")
    b = pd.read_csv(tmp_path / "remote" / "cv_results.csv")
    timing = [c for c in a.columns if "time" in c]
    pd.testing.assert_frame_equal(a.drop(columns=timing), b.drop(columns=timing))
    # A scheduler without workers: a clear error after the timeout, no hang.
    with local_cluster(0) as client:
        run = sklip(
            *common,
            "--scheduler",
            client.scheduler.address,
            "--scheduler-timeout",
            "1",
            cwd=files,
        )
    assert run.returncode == 2, run.stderr
    assert "no worker joined the scheduler" in run.stderr.strip().splitlines()[-1]
