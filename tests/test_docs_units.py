"""docs/units.md: its code blocks run, in order, and say what the page claims."""

import pathlib
import re

import numpy as np
import pytest

from sklip import certified_accuracy, lipschitz_bound
from sklip.lipschitz import as_network

PAGE = pathlib.Path(__file__).parents[1] / "docs" / "units.md"


@pytest.fixture(scope="module")
def page_namespace():
    blocks = re.findall(r"```python\n(.*?)```", PAGE.read_text(), flags=re.S)
    assert len(blocks) == 3
    namespace = {}
    exec(compile("\n".join(blocks), str(PAGE), "exec"), namespace)  # noqa: S102
    return namespace


@pytest.mark.slow
def test_penalty_in_raw_units_certifies_in_raw_units(page_namespace):
    ns = page_namespace
    model_units, raw_units = ns["model_units"], ns["raw_units"]
    X_test, y_test = ns["X_test"], ns["y_test"]
    assert model_units[-1].input_map_ is None
    assert raw_units[-1].input_map_ is not None
    # Same alpha, about the same accuracy...
    accuracy = [pipe.score(X_test, y_test) for pipe in (raw_units, model_units)]
    assert abs(accuracy[0] - accuracy[1]) < 0.05
    # ...but only the raw-unit penalty controls the raw-unit constant.
    assert lipschitz_bound(raw_units) < 0.6 * lipschitz_bound(model_units)
    cert = {
        name: certified_accuracy(pipe, X_test, y_test, eps=2.7)
        for name, pipe in [("model", model_units), ("raw", raw_units)]
    }
    assert cert["raw"] > cert["model"] + 0.3


@pytest.mark.slow
def test_dead_input_rows(page_namespace):
    ns = page_namespace
    dead = ns["dead"]
    assert dead.any()
    norms = {}
    for name in ("model_units", "raw_units"):
        pipe = ns[name]
        # The page's raw-unit first layer is the one the certificates use.
        W1 = pipe[0].scale_[:, None] * pipe[-1].coefs_[0]
        np.testing.assert_allclose(W1, as_network(pipe).coefs[0], rtol=1e-12)
        norms[name] = np.linalg.norm(W1, axis=1)
    # Penalised in model units, dead inputs keep large raw-unit weights...
    assert norms["model_units"][dead].mean() > 3 * norms["model_units"][~dead].mean()
    # ...penalised in raw units, they shrink.
    assert norms["raw_units"][dead].mean() < 0.6 * norms["model_units"][dead].mean()


@pytest.mark.slow
def test_model_unit_certificate(page_namespace):
    ns = page_namespace
    # Penalised in model units, the model is certified in model units (the
    # dead pixels are no shortcut there) far better than in raw units.
    raw = certified_accuracy(ns["model_units"], ns["X_test"], ns["y_test"], eps=2.7)
    assert ns["scaled"] > raw + 0.3


def test_page_has_no_placeholder():
    assert "RESULTS_TABLE" not in PAGE.read_text()
