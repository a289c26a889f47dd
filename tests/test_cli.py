"""The command line main job."""

import json

import pytest

from sklip.__main__ import main


def test_main_job_reports_every_penalty(capsys):
    code = main(
        [
            "--data",
            "iris",
            "--alpha",
            "1",
            "--hidden",
            "8",
            "--max-iter",
            "30",
            "--json",
        ]
    )
    assert code == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["penalty"] for r in rows] == ["none", "frobenius", "spectral"]
    for r in rows:
        assert 0 <= r["certified_accuracy"] <= r["robust_accuracy"] + 1e-12
        assert r["robust_accuracy"] <= r["test_accuracy"] + 1e-12
        # A certified upper bound is never below an attained lower bound.
        assert r["lipschitz_upper"] >= r["lipschitz_lower"]


def test_main_job_table_output(capsys):
    main(
        [
            "--data",
            "wine",
            "--penalties",
            "spectral",
            "--alpha",
            "10",
            "--hidden",
            "8",
            "--max-iter",
            "20",
        ]
    )
    out = capsys.readouterr().out
    assert "spectral" in out and "L upper" in out


def test_main_job_reads_a_csv(tmp_path, capsys):
    from sklearn.datasets import load_iris

    X, y = load_iris(return_X_y=True)
    path = tmp_path / "data.csv"
    rows = ["a,b,c,d,label"] + [",".join(map(str, [*x, t])) for x, t in zip(X, y)]
    path.write_text("\n".join(rows))
    main(
        [
            "--data",
            str(path),
            "--penalties",
            "none",
            "--solver",
            "lbfgs",
            "--hidden",
            "4",
            "--json",
        ]
    )
    assert json.loads(capsys.readouterr().out)["test_accuracy"] > 0.5


def test_main_job_bad_data_is_a_clear_error():
    with pytest.raises(SystemExit, match="--data"):
        main(["--data", "no-such-file.csv"])
