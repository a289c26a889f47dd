"""Every example in examples/ runs to completion (non-interactive backend)."""

import pathlib
import runpy

import pytest

matplotlib = pytest.importorskip(
    "matplotlib", reason="examples plot; matplotlib is in the test extras"
)

EXAMPLES = sorted((pathlib.Path(__file__).parents[1] / "examples").glob("*.py"))


@pytest.mark.slow
@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_runs(path, monkeypatch):
    """Smoke test, deliberately: an example is documentation, its output a
    figure for the gallery; what each one shows is asserted by the tests of
    the functions it calls. Here it must run to completion."""
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    monkeypatch.setattr(plt, "show", lambda *a, **k: None)
    runpy.run_path(str(path), run_name="__main__")
    plt.close("all")


def test_there_are_examples():
    assert len(EXAMPLES) >= 2
