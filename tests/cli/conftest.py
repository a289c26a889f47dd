"""Fixtures shared by the CLI tests (plain helpers are in ``_run.py``)."""

import shutil

import pytest

from ._run import DATA


@pytest.fixture(scope="module")
def tables(tmp_path_factory):
    """A scratch directory holding a copy of the tables in tests/data (the
    runs write their reports and model files next to them)."""
    path = tmp_path_factory.mktemp("tables")
    for csv in DATA.glob("*.csv"):
        shutil.copy(csv, path / csv.name)
    return path
