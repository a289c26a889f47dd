"""Grid searches on a dask.distributed cluster through joblib."""

import pickle
import socket

import joblib
import numpy as np
import pytest
from sklearn.datasets import make_classification
from sklearn.model_selection import GridSearchCV

import sklip
from sklip import LipschitzMLPClassifier, limit_blas_threads

distributed = pytest.importorskip(
    "distributed", reason="the 'distributed' extra (part of 'test') is not installed"
)
cloudpickle = pytest.importorskip("cloudpickle")

from sklip.distributed import connect, local_cluster  # noqa: E402

# The scheduler's HTTP server (no dashboard) falls back to a free port when
# another cluster on the machine holds 8787; nothing to act on.
pytestmark = pytest.mark.filterwarnings("ignore:Port 8787 is already in use")

X, Y = make_classification(
    n_samples=80, n_features=4, n_informative=3, n_redundant=0, random_state=0
)
GRID = {"penalty": ["none", "frobenius", "spectral"], "alpha": [1e-4, 1.0]}


def _scoring():
    return {
        "accuracy": "accuracy",
        "lipschitz": sklip.make_lipschitz_scorer(),
        "robust": sklip.make_robustness_scorer(eps=0.3, n_iter=5, random_state=0),
    }


def _search():
    est = LipschitzMLPClassifier(
        hidden_layer_sizes=(8,), max_iter=15, random_state=0, learning_rate_init=0.01
    )
    return GridSearchCV(est, GRID, scoring=_scoring(), refit="accuracy", cv=2)


@pytest.fixture(scope="module")
def cluster_client():
    """Two worker processes with one thread each, loopback only; closed even
    when a test using it fails."""
    with local_cluster(2, threads_per_worker=1) as client:
        yield client


def _comparable(cv_results):
    return {k: v for k, v in cv_results.items() if "time" not in k}


@pytest.mark.slow
def test_grid_search_on_local_cluster_equals_sequential(cluster_client):
    # Same arithmetic on both sides: the workers run BLAS with one thread.
    with limit_blas_threads(1):
        sequential = _search().fit(X, Y)
    with joblib.parallel_config(backend="dask"):
        remote = _search().fit(X, Y)
    ran_on = set(cluster_client.run(lambda: True))
    assert len(ran_on) == 2

    expected, got = _comparable(sequential.cv_results_), _comparable(remote.cv_results_)
    assert expected.keys() == got.keys()
    assert {"mean_test_lipschitz", "mean_test_robust"} <= got.keys()
    for key in expected:
        if key == "params":
            assert got[key] == expected[key]
        elif np.ma.isMaskedArray(expected[key]) or expected[key].dtype == object:
            assert list(got[key]) == list(expected[key]), key
        else:
            np.testing.assert_array_equal(got[key], expected[key], err_msg=key)
    # The scores differ between candidates: the comparison is not vacuous.
    assert np.unique(expected["mean_test_lipschitz"]).size > 1
    np.testing.assert_array_equal(
        remote.best_estimator_.coefs_[0], sequential.best_estimator_.coefs_[0]
    )


@pytest.mark.slow
def test_fits_and_scorers_are_capped_on_workers(cluster_client):
    from sklip._threads import in_parallel_worker

    def probe():
        from threadpoolctl import threadpool_info

        from sklip._threads import _worker_limit_context

        with _worker_limit_context():
            threads = [i["num_threads"] for i in threadpool_info()]
        return in_parallel_worker(), threads

    workers = list(cluster_client.scheduler_info()["workers"])
    assert len(workers) == 2
    for worker in workers:
        inside, threads = cluster_client.submit(
            probe, workers=[worker], pure=False
        ).result()
        assert inside
        assert set(threads) <= {1}
    assert not in_parallel_worker()


def test_estimators_scorers_and_fitted_models_pickle():
    est = LipschitzMLPClassifier(
        hidden_layer_sizes=(5,), penalty="spectral", max_iter=5, random_state=0
    ).fit(X, Y)
    scoring = _scoring()
    for dumps, loads in (
        (pickle.dumps, pickle.loads),
        (cloudpickle.dumps, pickle.loads),
    ):
        restored = loads(dumps(est))
        np.testing.assert_array_equal(restored.predict_proba(X), est.predict_proba(X))
        assert restored.get_params() == est.get_params()
        for name in ("lipschitz", "robust"):
            scorer = loads(dumps(scoring[name]))
            assert scorer(restored, X, Y) == scoring[name](est, X, Y)


def _unused_loopback_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unreachable_scheduler_is_a_clear_error():
    address = f"tcp://127.0.0.1:{_unused_loopback_port()}"
    with pytest.raises(ConnectionError, match="No dask scheduler answered at") as info:
        connect(address, timeout=1)
    assert address in str(info.value)
    assert "dask scheduler" in str(info.value)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"address": "not an address::::"}, "not a valid dask scheduler address"),
        ({"address": ""}, "address must be"),
        (
            {"address": None},
            "'address' parameter of connect must be an instance of 'str'",
        ),
        (
            {"address": "tcp://127.0.0.1:1", "timeout": 0},
            r"'timeout' parameter of connect must be a float in the range \(0.0, inf\)",
        ),
        (
            {"address": "tcp://127.0.0.1:1", "timeout": "5"},
            r"'timeout' parameter of connect must be a float in the range \(0.0, inf\)",
        ),
        (
            {"address": "tcp://127.0.0.1:1", "timeout": float("inf")},
            r"'timeout' parameter of connect must be a float in the range \(0.0, inf\)"
            r"\. Got inf",
        ),
    ],
)
def test_connect_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        connect(**kwargs)


@pytest.mark.slow
def test_connect_and_local_cluster_close_everything():
    with local_cluster(1) as client:
        address = client.scheduler.address
        assert address.startswith("tcp://127.0.0.1:")
        with connect(address, timeout=5) as other:
            assert other.submit(lambda: 41 + 1).result() == 42
        cluster = client.cluster
    assert client.status == "closed"
    assert cluster.status.name == "closed"


def test_local_cluster_is_closed_after_an_error(monkeypatch):
    closed = []

    class FakeCluster:
        def __init__(self, **kwargs):
            self.kwargs = kwargs

        def close(self):
            closed.append("cluster")

    class FakeClient:
        def __init__(self, cluster, set_as_default):
            pass

        def close(self):
            closed.append("client")

    monkeypatch.setattr(distributed, "LocalCluster", FakeCluster)
    monkeypatch.setattr(distributed, "Client", FakeClient)
    with pytest.raises(RuntimeError, match="boom"):
        with local_cluster(2):
            raise RuntimeError("boom")
    assert closed == ["client", "cluster"]
