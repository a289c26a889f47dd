"""Bad files and options: one line on stderr naming the problem, exit status 2.

Model files are skops files (sklip.save): a file with a type sklip does not
trust (an object injected to run code on load) is refused before anything
is built.
"""

import pathlib

import numpy as np
import pytest

from ._run import evaluated, one_line_error, sklip, sklip_in_process

pd = pytest.importorskip("pandas", reason="the CLI reads CSV with pandas (extra 'cli')")
pytest.importorskip("skops", reason="model files are skops files (extra 'cli')")

MARKER = "sklip-evil-ran.txt"


class Evil:
    """Would write a marker file when rebuilt by a loader that trusts it."""

    def __init__(self, path):
        self.path = path

    def __setstate__(self, state):
        pathlib.Path(state["path"]).write_text("ran")
        self.__dict__.update(state)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """A small table, a model file saved as ``sklip search`` saves it, and
    broken variants of both."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline, make_pipeline
    from sklearn.preprocessing import StandardScaler

    from sklip.cli._data import make_encoder
    from sklip.cli._modelfile import save_model
    from sklip.cli._units import Units
    from sklip.persistence import save

    path = tmp_path_factory.mktemp("files")
    rng = np.random.default_rng(0)
    n = 80
    frame = pd.DataFrame(
        {
            "a": rng.normal(size=n),
            "b": rng.normal(scale=10, size=n),
            "c": rng.choice(["x", "y"], size=n),
        }
    )
    frame["t"] = np.where(frame["a"] + frame["b"] / 10 > 0, "p", "q")
    frame.to_csv(path / "table.csv", index=False)
    X = frame[["a", "b", "c"]]
    model = Pipeline(
        [
            ("encode", make_encoder(X, ["a", "b"], ["c"])),
            ("net", make_pipeline(StandardScaler(), LogisticRegression())),
        ]
    ).fit(X, frame["t"])
    units = Units.fit("std", X, ["a", "b"], ["c"])
    common = dict(task="classification", target="t", units=units, eps=0.3)
    save_model(path / "model.skops", model, candidate="test", **common)
    data = (path / "model.skops").read_bytes()
    (path / "truncated.skops").write_bytes(data[: len(data) // 2])
    bundle = {
        "format": "sklip-cli-model",
        "format_version": 999,
        "sklip_version": "9.9",
        "model": model,
    }
    save(bundle, path / "future.skops")
    save({"weights": [1.0, 2.0]}, path / "other.skops")
    save(StandardScaler().fit(X[["a"]]), path / "scaler.skops")
    save({"model": model, "payload": Evil(str(path / MARKER))}, path / "evil.skops")
    (path / "ragged.csv").write_text("a,b,t\n1,2,p\n3,4,q\n5,q\n6,7,p\n")
    frame.drop(columns="b").to_csv(path / "no_b.csv", index=False)
    frame.assign(b=frame["b"].astype(str) + "x").to_csv(
        path / "text_b.csv", index=False
    )
    return path


def _evaluate(model, data="table.csv"):
    return ["evaluate", "--model", model, "--data", data]


CASES = {
    "ragged row": (
        ["search", "--data", "ragged.csv", "--target", "t"],
        "line 4 of",
        "has 2 field(s), the header has 3",
    ),
    "empty separator": (
        ["search", "--data", "table.csv", "--target", "t", "--sep", ""],
        "argument --sep: must be a single character",
        "got ''",
    ),
    "two-character separator": (
        ["search", "--data", "table.csv", "--target", "t", "--sep", ";;"],
        "argument --sep: must be a single character",
        "got ';;'",
    ),
    "not a model": (_evaluate("table.csv"), "is not a sklip model file", "skops"),
    "truncated model": (_evaluate("truncated.skops"), "truncated", "--model"),
    "incompatible version": (
        _evaluate("future.skops"),
        "saved by sklip 9.9 in model-file format 999",
        "refit it",
    ),
    "skops file of another kind": (
        _evaluate("other.skops"),
        "not a sklip model file",
        "no 'format' entry",
    ),
    "not an estimator": (
        _evaluate("scaler.skops"),
        "holds StandardScaler",
        "not a fitted classifier or regressor",
    ),
    "injected object": (
        _evaluate("evil.skops"),
        "does not trust",
        "test_modelfile.Evil",
    ),
    "missing column": (
        _evaluate("model.skops", "no_b.csv"),
        "lacks the model's column(s) b",
        "the model reads a, b, c",
    ),
    "numeric column turned text": (
        _evaluate("model.skops", "text_b.csv"),
        "column(s) b of 'text_b.csv' are not numeric",
        "trained on them as numeric features",
    ),
}


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_bad_file_is_one_line_and_exit_2(files, case):
    """In process (each run stops at the file, before any fit);
    test_good_model_file_evaluates runs the real command line."""
    args, first, second = CASES[case]
    line = one_line_error(sklip_in_process(*args, cwd=files))
    assert first in line and second in line, line
    assert not (files / MARKER).exists()  # nothing in a refused file ran


def test_good_model_file_evaluates(files):
    from sklip.persistence import load

    run = sklip(*_evaluate("model.skops"), cwd=files)
    assert run.returncode == 0, run.stderr
    assert "eps = 0.3 (" in run.stdout and "held fixed: c" in run.stdout
    # The printed accuracy is the saved model's own on the table.
    model = load(files / "model.skops")["model"]
    frame = pd.read_csv(files / "table.csv")
    accuracy = model.score(frame[["a", "b", "c"]], frame["t"])
    assert evaluated(run.stdout)["accuracy"] == pytest.approx(accuracy, abs=6e-5)


def test_library_load_refuses_untrusted_types(files):
    from sklip.persistence import UntrustedTypeError, load, untrusted_types

    assert untrusted_types(files / "model.skops") == []
    assert untrusted_types(files / "evil.skops") == ["tests.cli.test_modelfile.Evil"]
    with pytest.raises(UntrustedTypeError, match="tests.cli.test_modelfile.Evil"):
        load(files / "evil.skops")
    assert not (files / MARKER).exists()
    # Trusting it on purpose is the caller's choice (and runs its code).
    loaded = load(files / "evil.skops", trusted=["tests.cli.test_modelfile.Evil"])
    assert isinstance(loaded["payload"], Evil)
    (files / MARKER).unlink(missing_ok=True)
    with pytest.raises(ValueError, match="not a model file written by sklip.save"):
        load(files / "table.csv")


def test_a_function_is_not_trusted_as_a_class(tmp_path):
    """A function spelled like a trusted path (e.g. an injected
    ``sklearn...`` callable) is not a class: refused."""
    from sklearn.preprocessing import FunctionTransformer

    from sklip.persistence import UntrustedTypeError, load, save

    save(FunctionTransformer(func=np.log1p), tmp_path / "f.skops")
    save(FunctionTransformer(func=pathlib.Path.write_text), tmp_path / "g.skops")
    assert load(tmp_path / "f.skops").func is np.log1p  # numpy ufunc: skops trusts it
    with pytest.raises(UntrustedTypeError, match="write_text"):
        load(tmp_path / "g.skops")
