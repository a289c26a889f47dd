"""Every benchmark script runs: ``python benchmarks/bench_X.py --quick``.

The benchmarks measure; nothing else runs them, so an API change would leave
them broken until someone needs a number. Each ``benchmarks/bench_*.py`` must
offer ``--quick`` (tiny data, one repeat: its numbers are not the
benchmark's) and is run once here, in a scratch directory (some write plots
and CSVs). Optional peers (torch, ART, auto_LiRPA, numba, cvxpy...) are the
scripts' business: each skips a missing one with a message.
"""

import ast
import os
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).parents[1]
SCRIPTS = sorted((ROOT / "benchmarks").glob("bench_*.py"))

# Quick runs that take more than about 10 s on an idle 2-core machine: worker
# processes and dask clusters to start (threads), torch to import and attack
# with (robustness, when the peers are installed).
SLOW = {"bench_threads.py", "bench_robustness.py", "bench_complete.py"}
# Options added to ``--quick`` here: time budgets are wall-clock seconds, which
# a loaded test machine would spend in full (bench_complete: 2 s per sample
# and 10 s per MILP, 120 verifications and 60 MILPs). Smaller budgets leave
# more samples undecided; every decided one is still checked against the MILP.
EXTRA = {"bench_complete.py": ["--budget", "0.3", "--milp-limit", "1"]}


def _offers_quick(path):
    """Whether the script's source holds the option string ``"--quick"``."""
    tree = ast.parse(path.read_text())
    return any(
        isinstance(node, ast.Constant) and node.value == "--quick"
        for node in ast.walk(tree)
    )


def test_scripts_are_found():
    # Guards the glob: an empty list would make the tests below vacuous.
    names = {path.name for path in SCRIPTS}
    assert {"bench_fit.py", "bench_lipschitz.py", "bench_robustness.py"} <= names
    assert SLOW <= names, "SLOW names a script that no longer exists"
    assert set(EXTRA) <= names, "EXTRA names a script that no longer exists"


@pytest.mark.parametrize("path", SCRIPTS, ids=lambda p: p.name)
def test_offers_quick(path):
    assert _offers_quick(path), (
        f"{path.name} has no --quick mode: add one (tiny data, one repeat) so "
        "that tests/test_benchmarks.py can run it"
    )


def _params():
    for path in SCRIPTS:
        marks = [pytest.mark.slow] if path.name in SLOW else []
        yield pytest.param(path, id=path.name, marks=marks)


@pytest.mark.parametrize("path", list(_params()))
def test_quick_run(path, tmp_path):
    """Smoke test, deliberately: a quick run's numbers come from tiny data and
    one repeat, so they are not checked; the script must run and print (and
    bench_complete's verdicts must agree with the exact MILP's)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT), *filter(None, [env.get("PYTHONPATH")])]
    )
    env["MPLBACKEND"] = "Agg"
    # A hang guard, not a speed check: quick runs take seconds.
    result = subprocess.run(
        [sys.executable, str(path), "--quick", *EXTRA.get(path.name, [])],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, (
        f"{path.name} --quick exited with {result.returncode}:\n"
        f"{result.stdout[-2000:]}\n{result.stderr[-4000:]}"
    )
    assert result.stdout.strip(), f"{path.name} --quick printed nothing"
    # bench_complete marks a verdict that contradicts the exact MILP.
    assert " WRONG" not in result.stdout, result.stdout
