"""Progress of fits: verbose lines and scikit-learn's callback API."""

import re
import textwrap
import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import make_classification, make_regression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklip import LipschitzMLPClassifier, LipschitzMLPRegressor
from sklip.neural_network import _monitor

X, Y = make_classification(
    n_samples=90, n_features=5, n_informative=3, n_classes=3, random_state=0
)
XR, YR = make_regression(n_samples=60, n_features=4, noise=0.1, random_state=0)
YR = YR / YR.std()

_LINE = re.compile(
    r"Iteration (\d+), loss = (\S+) \(data (\S+) \+ penalty (\S+)\)"
    r"(?:, validation score = (\S+))?"
)


def _lines(capsys):
    out = capsys.readouterr().out
    return [tuple(m.groups()) for m in _LINE.finditer(out)]


@pytest.mark.parametrize("solver", ["sgd", "adam"])
@pytest.mark.parametrize("penalty", ["none", "frobenius", "spectral"])
def test_verbose_epochs_report_loss_penalty_and_validation(capsys, solver, penalty):
    est = LipschitzMLPClassifier(
        hidden_layer_sizes=(6,),
        solver=solver,
        penalty=penalty,
        alpha=0.5,
        max_iter=4,
        early_stopping=True,
        validation_fraction=0.3,
        n_iter_no_change=100,
        verbose=True,
        random_state=0,
    ).fit(X, Y)
    lines = _lines(capsys)
    assert [int(line[0]) for line in lines] == [1, 2, 3, 4]
    np.testing.assert_allclose([float(x[1]) for x in lines], est.loss_curve_, 1e-7)
    np.testing.assert_allclose(
        [float(x[4]) for x in lines], est.validation_scores_, atol=1e-6
    )
    for _, loss, data, pen, _ in lines:
        assert float(data) + float(pen) == pytest.approx(float(loss), abs=2e-8)
        assert (float(pen) == 0) == (penalty == "none")


@pytest.mark.parametrize("penalty", ["frobenius", "spectral"])
def test_verbose_lbfgs_reports_every_iteration_with_the_exact_penalty(capsys, penalty):
    alpha = 2.0
    est = LipschitzMLPRegressor(
        hidden_layer_sizes=(5,),
        solver="lbfgs",
        penalty=penalty,
        alpha=alpha,
        max_iter=6,
        verbose=True,
        random_state=0,
    ).fit(XR, YR)
    lines = _lines(capsys)
    assert len(lines) == est.n_iter_ == len(est.loss_curve_)
    np.testing.assert_allclose([float(x[1]) for x in lines], est.loss_curve_, 1e-7)
    # The last iterate is the fitted model: its penalty from the closed form.
    if penalty == "frobenius":
        r = sum(float((W**2).sum()) for W in est.coefs_)
    else:
        r = sum(np.linalg.norm(W, 2) ** 2 for W in est.coefs_)
    assert float(lines[-1][3]) == pytest.approx(0.5 * alpha * r / len(XR), rel=1e-6)
    assert all(line[4] is None for line in lines)  # lbfgs has no validation set


def test_quiet_by_default(capsys):
    LipschitzMLPClassifier(hidden_layer_sizes=(4,), max_iter=2).fit(X, Y)
    LipschitzMLPClassifier(hidden_layer_sizes=(4,), solver="lbfgs", max_iter=2).fit(
        X, Y
    )
    assert capsys.readouterr().out == ""


# ---------------------------------------------------------------------------
# scikit-learn's callback API
needs_callbacks = pytest.mark.skipif(
    not _monitor.CALLBACKS_AVAILABLE,
    reason="sklearn.callback needs scikit-learn >= 1.9",
)


class _Recorder:
    """An auto-propagated callback that records the tasks it sees."""

    max_propagation_depth = None

    def __init__(self, stop_after=None):
        self.events = []
        self.stop_after = stop_after

    def setup(self, estimator, context):
        self.events.append(("setup", type(estimator).__name__, None))

    def teardown(self, estimator, context):
        self.events.append(("teardown", type(estimator).__name__, None))

    def on_fit_task_begin(self, estimator, context):
        self.events.append(("begin", type(estimator).__name__, context.task_name))

    def on_fit_task_end(self, estimator, context, *, fitted_estimator=None):
        self.events.append(("end", type(estimator).__name__, context.task_name))
        if context.task_name in ("epoch", "iteration") and fitted_estimator:
            self.events.append(("model", fitted_estimator.coefs_[0].copy(), None))
        n_steps = sum(e[0] == "end" and e[2] == "epoch" for e in self.events)
        return self.stop_after is not None and n_steps >= self.stop_after


@needs_callbacks
def test_scoring_monitor_sees_every_epoch_and_the_final_model():
    from sklearn.callback import ScoringMonitor

    monitor = ScoringMonitor(scoring="accuracy")
    est = LipschitzMLPClassifier(
        hidden_layer_sizes=(6,), max_iter=5, random_state=0, shuffle=False
    ).set_callbacks(monitor)
    est.fit(X, Y)
    rows = [r for r in monitor.get_logs().data if r["task_name"] == "epoch"]
    assert len(rows) == est.n_iter_ == 5
    assert rows[-1]["accuracy"] == pytest.approx(est.score(X, Y))
    # The epochs' models differ: the scores are not a constant.
    assert len({r["accuracy"] for r in rows}) > 1


@needs_callbacks
def test_scoring_monitor_under_lbfgs_scores_each_iteration():
    from sklearn.callback import ScoringMonitor

    monitor = ScoringMonitor(scoring="r2")
    est = LipschitzMLPRegressor(
        hidden_layer_sizes=(5,), solver="lbfgs", max_iter=8, random_state=0
    ).set_callbacks(monitor)
    est.fit(XR, YR)
    rows = [r for r in monitor.get_logs().data if "r2" in r]
    iterations = [r for r in rows if r["task_name"] == "iteration"]
    assert len(iterations) == est.n_iter_
    assert iterations[-1]["r2"] == pytest.approx(est.score(XR, YR))


@needs_callbacks
def test_a_callback_can_stop_training():
    recorder = _Recorder(stop_after=2)
    est = LipschitzMLPClassifier(hidden_layer_sizes=(4,), max_iter=10, random_state=0)
    est.set_callbacks(recorder).fit(X, Y)
    assert est.n_iter_ == 2
    models = [e[1] for e in recorder.events if e[0] == "model"]
    np.testing.assert_array_equal(models[-1], est.coefs_[0])


@needs_callbacks
def test_callbacks_propagate_from_grid_search_and_pipeline():
    recorder = _Recorder()
    pipe = make_pipeline(
        StandardScaler(),
        LipschitzMLPClassifier(hidden_layer_sizes=(4,), max_iter=3, random_state=0),
    )
    search = GridSearchCV(
        pipe, {"lipschitzmlpclassifier__alpha": [1e-4, 1.0]}, cv=2
    ).set_callbacks(recorder)
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*does not support callbacks")
        search.fit(X, Y)
    epochs = [e for e in recorder.events if e[0] == "end" and e[2] == "epoch"]
    # 2 candidates x 2 folds + the refit, 3 epochs each, all by our estimator.
    assert len(epochs) == 5 * 3
    assert {e[1] for e in epochs} == {"LipschitzMLPClassifier"}
    assert [e[0] for e in recorder.events].count("setup") == 1  # on the search


@needs_callbacks
def test_progress_bar_on_a_grid_search():
    pytest.importorskip("rich")
    from sklearn.callback import ProgressBar

    search = GridSearchCV(
        LipschitzMLPClassifier(hidden_layer_sizes=(4,), max_iter=2, random_state=0),
        {"alpha": [1e-4, 1.0]},
        cv=2,
    )
    plain = clone(search).fit(X, Y)
    search.set_callbacks(ProgressBar(max_propagation_depth=None))
    search.fit(X, Y)
    assert search.best_estimator_.n_iter_ == 2
    # The progress bar only watches: the same scores as without it.
    np.testing.assert_array_equal(
        search.cv_results_["mean_test_score"], plain.cv_results_["mean_test_score"]
    )


@needs_callbacks
def test_callbacks_do_not_change_the_fit():
    kwargs = dict(hidden_layer_sizes=(5,), max_iter=4, random_state=0)
    plain = LipschitzMLPClassifier(solver="lbfgs", **kwargs).fit(X, Y)
    watched = (
        LipschitzMLPClassifier(solver="lbfgs", **kwargs)
        .set_callbacks(_Recorder())
        .fit(X, Y)
    )
    np.testing.assert_array_equal(plain.coefs_[0], watched.coefs_[0])


def test_without_sklearn_callbacks_set_callbacks_is_a_clear_error(capsys):
    class OldStyle(_monitor._CallbacksUnavailable):
        pass

    with pytest.raises(RuntimeError, match=r"need scikit-learn >= 1.9.*verbose=True"):
        OldStyle().set_callbacks(object())


def test_verbose_works_without_sklearn_callbacks(capsys, monkeypatch):
    monkeypatch.setattr(_monitor, "CALLBACKS_AVAILABLE", False)
    est = LipschitzMLPClassifier(
        hidden_layer_sizes=(4,), max_iter=3, verbose=True, random_state=0
    ).fit(X, Y)
    lines = _lines(capsys)
    assert [int(line[0]) for line in lines] == [1, 2, 3] and est.n_iter_ == 3
    np.testing.assert_allclose([float(x[1]) for x in lines], est.loss_curve_, 1e-7)


@needs_callbacks
@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:Port 8787 is already in use")
def test_docs_page_snippets_run():
    """The python blocks of docs/scaling.md run, in order, as one script (the
    multi-machine ``connect`` block, fenced as ``py``, needs a running
    scheduler and is covered by tests/test_distributed.py)."""
    pytest.importorskip("distributed")
    pytest.importorskip("rich")
    import pathlib

    page = pathlib.Path(__file__).parents[2] / "docs" / "scaling.md"
    text = page.read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert len(blocks) == 3
    namespace = {}
    code = "\n".join(textwrap.dedent(b) for b in blocks)
    exec(compile(code, str(page), "exec"), namespace)  # noqa: S102
    assert 0 <= namespace["acc"] <= 1
    search = namespace["search"]
    assert {"mean_test_lipschitz", "mean_test_robust"} <= search.cv_results_.keys()
    epochs = namespace["epochs"]
    assert (epochs["task_name"] == "epoch").sum() == namespace["est"].n_iter_
