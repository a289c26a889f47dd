"""The README's commands and quickstart are the ones that work."""

import pathlib
import re

ROOT = pathlib.Path(__file__).parents[1]
README = (ROOT / "README.md").read_text()


def _blocks(language):
    return re.findall(rf"```{language}\n(.*?)```", README, flags=re.S)


def test_ci_runs_the_readme_test_command_first():
    install_and_run, test_command = _blocks("bash")[0].strip().splitlines()
    assert "[cli]" in install_and_run and "python -m sklip" in install_and_run
    ci = (ROOT / ".ci" / "run").read_text()
    first = next(
        line.strip()
        for line in ci.splitlines()
        if line.strip()
        and not line.lstrip().startswith(("#", "set ", "cd ", "export "))
    )
    assert first.startswith(test_command)


def test_quickstart_runs(capsys, monkeypatch):
    """The block runs as written, on every third row of digits: the same
    code path and checks at a third of the cost (the full run, 12 fits and
    their robust scoring, is the slowest test of the suite). The numbers it
    prints are the README's illustration, not asserted."""
    import sklearn.datasets

    (code,) = _blocks("python")
    assert len(code.strip().splitlines()) <= 15
    assert "load_digits(return_X_y=True)" in code
    full = sklearn.datasets.load_digits

    def every_third_row(**kwargs):
        X, y = full(**kwargs)
        return X[::3], y[::3]

    monkeypatch.setattr(sklearn.datasets, "load_digits", every_third_row)
    namespace = {}
    exec(compile(code, "README.md", "exec"), namespace)
    search = namespace["search"]
    assert set(search.best_params_) == {
        "lipschitzmlpclassifier__alpha",
        "lipschitzmlpclassifier__penalty",
    }
    results = search.cv_results_
    assert all(results["mean_test_lipschitz"] < 0)  # negated certified bounds
    assert all(results["mean_test_robust"] <= results["mean_test_accuracy"] + 1e-12)
    assert len(namespace["X"]) == 599  # the subsample was used
    assert "lipschitzmlpclassifier__alpha" in capsys.readouterr().out
