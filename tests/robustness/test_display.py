"""RobustnessCurveDisplay: scikit-learn's Display API, optional matplotlib."""

import sys

import numpy as np
import pytest

from sklip.robustness import (
    RobustnessCurveDisplay,
    certified_accuracy,
    robust_accuracy,
    robust_r2,
)

from .._robustness_models import blobs, digits, logreg, mlp_digits, regression, ridge


@pytest.fixture
def pyplot():
    matplotlib = pytest.importorskip(
        "matplotlib", reason="matplotlib is the optional [plot] extra"
    )
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    yield plt
    plt.close("all")


def test_from_estimator_computes_and_plots(pyplot):
    X, y = digits()
    model = mlp_digits()
    eps = [0.0, 1.0, 2.0, 4.0]
    display = RobustnessCurveDisplay.from_estimator(model, X, y, eps=eps)
    assert list(display.scores) == ["noise", "auto", "certified"]
    np.testing.assert_array_equal(
        display.scores["auto"], robust_accuracy(model, X, y, eps=eps, random_state=0)
    )
    np.testing.assert_array_equal(
        display.scores["certified"], certified_accuracy(model, X, y, eps=eps)
    )
    assert len(display.lines_) == 3
    np.testing.assert_array_equal(display.lines_[1].get_xdata(), eps)
    np.testing.assert_array_equal(display.lines_[1].get_ydata(), display.scores["auto"])
    assert display.ax_.figure is display.figure_
    assert "raw input units" in display.ax_.get_xlabel()
    assert display.lines_[0].get_label() == "MLPClassifier (noise)"
    # Certified <= PGD <= noise on every radius.
    assert np.all(display.scores["certified"] <= display.scores["auto"])
    assert np.all(display.scores["auto"] <= display.scores["noise"])


def test_several_models_share_an_axis(pyplot):
    X, y = blobs(2)
    _, ax = pyplot.subplots()
    a = RobustnessCurveDisplay.from_estimator(
        logreg(), X, y, eps=[0, 0.5], attacks=("auto",), ax=ax, name="A"
    )
    b = RobustnessCurveDisplay.from_estimator(
        logreg(), X, y, eps=[0, 0.5], attacks=("fgsm", "auto"), ax=ax, name="B"
    )
    assert a.ax_ is b.ax_ is ax
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "A (auto)",
        "B (fgsm)",
        "B (auto)",
    ]
    # One colour per model, one line style per attack.
    assert b.lines_[0].get_color() == b.lines_[1].get_color()
    assert a.lines_[0].get_color() != b.lines_[0].get_color()


def test_plot_from_stored_data_and_default_eps(pyplot):
    display = RobustnessCurveDisplay(
        eps=np.array([0.0, 1.0]),
        scores={"auto": np.array([0.9, 0.5])},
        norm=np.inf,
    )
    assert display.plot(name="net") is display
    assert display.lines_[0].get_label() == "net (auto)"
    assert "Linf" in display.ax_.get_xlabel()
    X, y = blobs(2)
    d = RobustnessCurveDisplay.from_estimator(logreg(), X, y, attacks=("noise",))
    assert d.eps.shape == (11,) and d.eps[0] == 0 and d.eps[-1] > 0


def test_regressor_curve(pyplot):
    X, y = regression()
    d = RobustnessCurveDisplay.from_estimator(
        ridge(), X, y, eps=[0, 0.5], attacks=("auto",)
    )
    assert d.score_name == "R2"
    np.testing.assert_array_equal(
        d.scores["auto"], robust_r2(ridge(), X, y, eps=[0, 0.5], random_state=0)
    )
    with pytest.raises(ValueError, match="attacks"):
        RobustnessCurveDisplay.from_estimator(ridge(), X, y, eps=[0, 0.5])


@pytest.mark.parametrize("attacks", [("auto", "magic"), "auto", ()])
def test_bad_attacks(pyplot, attacks):
    X, y = blobs(2)
    with pytest.raises(ValueError, match="attack"):
        RobustnessCurveDisplay.from_estimator(
            logreg(), X, y, eps=[0, 1], attacks=attacks
        )


def test_without_matplotlib_a_clear_import_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    X, y = blobs(2)
    with pytest.raises(ImportError, match=r"pip install sklip\[plot\]"):
        RobustnessCurveDisplay.from_estimator(logreg(), X, y, eps=[0, 1])
    display = RobustnessCurveDisplay(eps=np.array([0.0]), scores={"auto": [1.0]})
    with pytest.raises(ImportError, match=r"pip install sklip\[plot\]"):
        display.plot()
