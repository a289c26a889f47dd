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


def test_quickstart_runs(capsys):
    (code,) = _blocks("python")
    assert len(code.strip().splitlines()) <= 15
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
    assert "lipschitzmlpclassifier__alpha" in capsys.readouterr().out
