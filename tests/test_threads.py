"""BLAS thread control: the process-wide cap and its default use in workers."""

import threading

import numpy as np
import pytest
from joblib import Parallel, delayed, parallel_config
from sklearn.datasets import make_classification
from sklearn.model_selection import cross_validate
from threadpoolctl import threadpool_info, threadpool_limits

import sklip
from sklip import LipschitzMLPClassifier, _threads, limit_blas_threads
from sklip._scorer import BaseScorer
from sklip._threads import in_parallel_worker
from sklip.neural_network import _solvers


def _blas_threads():
    return [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]


@pytest.fixture
def two_blas_threads():
    """Start every test from 2 BLAS threads, whatever the machine's default."""
    with threadpool_limits(limits=2, user_api="blas"):
        if not _blas_threads() or min(_blas_threads()) < 2:
            pytest.skip("the BLAS library would not run 2 threads here")
        yield


def test_limit_caps_and_restores(two_blas_threads):
    with limit_blas_threads(1):
        assert _blas_threads() == [1] * len(_blas_threads())
    assert min(_blas_threads()) == 2


def test_limit_never_raises_the_count(two_blas_threads):
    with threadpool_limits(limits=1, user_api="blas"):
        with limit_blas_threads(2):
            assert max(_blas_threads()) == 1
        assert max(_blas_threads()) == 1


def test_nested_limit_lowers_and_outer_exit_restores(two_blas_threads):
    with threadpool_limits(limits=3, user_api="blas"):
        with limit_blas_threads(2):
            assert max(_blas_threads()) == 2
            with limit_blas_threads(1):
                assert max(_blas_threads()) == 1
        assert min(_blas_threads()) == 3


def test_interleaved_threads_restore_the_original(two_blas_threads):
    """A enters, B enters, A exits, B exits: a per-call limit would leave the
    process capped at 1 (B saved A's cap as its 'original')."""
    a_in, b_in, a_out = threading.Event(), threading.Event(), threading.Event()
    seen = {}

    def thread_a():
        with limit_blas_threads(1):
            a_in.set()
            b_in.wait(5)
        a_out.set()

    def thread_b():
        a_in.wait(5)
        with limit_blas_threads(1):
            b_in.set()
            a_out.wait(5)
            seen["b_after_a_left"] = max(_blas_threads())

    threads = [threading.Thread(target=thread_a), threading.Thread(target=thread_b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert seen["b_after_a_left"] == 1  # still capped while B runs
    assert min(_blas_threads()) == 2  # restored after both


@pytest.mark.parametrize("n", [0, -1, 1.5, True, "1"])
def test_limit_rejects_bad_counts(n):
    # True passes the Interval (a bool is an Integral) and is refused by the
    # function's own check.
    match = (
        r"'n' parameter of limit_blas_threads must be an int in the range \[1"
        "|n must be a positive int"
    )
    with pytest.raises(ValueError, match=match):
        with limit_blas_threads(n):
            pass  # pragma: no cover


def test_worker_cap_setting_round_trips_and_validates():
    previous = sklip.set_worker_blas_threads(3)
    try:
        assert sklip.get_worker_blas_threads() == 3
        with pytest.raises(
            ValueError,
            match=r"'n' parameter of set_worker_blas_threads must be an int in",
        ):
            sklip.set_worker_blas_threads(-1)
        assert sklip.get_worker_blas_threads() == 3
    finally:
        sklip.set_worker_blas_threads(previous)


def test_environment_variable_sets_the_worker_cap(monkeypatch):
    monkeypatch.setenv("SKLIP_WORKER_BLAS_THREADS", "0")
    assert _threads._read_env() == 0
    monkeypatch.setenv("SKLIP_WORKER_BLAS_THREADS", "two")
    with pytest.raises(ValueError, match="SKLIP_WORKER_BLAS_THREADS"):
        _threads._read_env()
    monkeypatch.delenv("SKLIP_WORKER_BLAS_THREADS")
    assert _threads._read_env() == 1


def test_parallel_worker_detection():
    assert not in_parallel_worker()
    assert Parallel(n_jobs=1)(delayed(in_parallel_worker)() for _ in range(2)) == [
        False,
        False,
    ]
    for backend in ("threading", "loky"):
        with parallel_config(backend=backend, n_jobs=2):
            flags = Parallel()(delayed(in_parallel_worker)() for _ in range(2))
        assert flags == [True, True], backend


class _ThreadRecordingScorer(BaseScorer):
    """Records the BLAS thread count its calls (and the fits) ran with."""

    def __init__(self, log):
        self.log = log

    def _score(self, estimator, X, y=None, **kwargs):
        self.log.append(("score", max(_blas_threads())))
        return 0.0


@pytest.mark.parametrize("backend, n_jobs", [("threading", 2), ("sequential", 1)])
def test_fits_and_scorers_are_capped_inside_workers_only(
    two_blas_threads, monkeypatch, backend, n_jobs
):
    log = []
    original = _solvers.SOLVERS["adam"]

    def recording_fit(*args, **kwargs):
        log.append(("fit", max(_blas_threads())))
        return original(*args, **kwargs)

    monkeypatch.setitem(_solvers.SOLVERS, "adam", recording_fit)
    X, y = make_classification(n_samples=60, n_features=5, random_state=0)
    est = LipschitzMLPClassifier(hidden_layer_sizes=(4,), max_iter=2)
    with parallel_config(backend=backend, n_jobs=n_jobs):
        cross_validate(est, X, y, cv=2, scoring=_ThreadRecordingScorer(log))
    assert {what for what, _ in log} == {"fit", "score"}
    expected = 1 if n_jobs > 1 else 2
    assert {threads for _, threads in log} == {expected}
    assert min(_blas_threads()) == 2  # the search left the process as it was


def test_worker_cap_zero_disables_the_cap(two_blas_threads, monkeypatch):
    monkeypatch.setattr(_threads, "_worker_limit", 0)
    log = []
    X = np.zeros((4, 2))
    with parallel_config(backend="threading", n_jobs=2):
        Parallel()(delayed(_ThreadRecordingScorer(log))(None, X) for _ in range(2))
    assert [threads for _, threads in log] == [2, 2]
