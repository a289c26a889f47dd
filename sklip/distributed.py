"""Grid searches and cross-validation on a dask cluster, through joblib.

scikit-learn's ``GridSearchCV`` / ``cross_validate`` run their fits through
joblib; with ``joblib.parallel_config(backend="dask")`` and a connected
:class:`distributed.Client` they run on the cluster's workers. sklip's
estimators, scorers and fitted models are plain picklable objects, so nothing
else is needed; this module adds a connection with a clear, quick failure and
a local cluster that is always closed. Needs the ``distributed`` extra:
``pip install "sklip[distributed]"``. See ``docs/scaling.md``.

Inside the workers, fits and sklip's scorers cap BLAS to
``sklip.get_worker_blas_threads()`` threads (1 by default), so worker threads
do not oversubscribe the machine.
"""

import numbers
from contextlib import contextmanager

from ._validation import count, public, real

__all__ = ["connect", "local_cluster"]

_INSTALL_HINT = (
    "sklip.distributed needs dask.distributed: pip install 'sklip[distributed]'."
)


def _import_distributed():
    try:
        import distributed
    except ImportError as exc:
        raise ImportError(_INSTALL_HINT) from exc
    return distributed


def _check_timeout(timeout):
    if (
        isinstance(timeout, bool)
        or not isinstance(timeout, numbers.Real)
        or not 0 < timeout < float("inf")
    ):
        raise ValueError(
            f"timeout must be a finite positive number of seconds; got {timeout!r}."
        )
    return float(timeout)


@public({"address": [str], "timeout": [real(0.0, closed="neither")]})
def connect(address, *, timeout=10):
    """Connect to a running dask scheduler, or fail clearly within ``timeout``.

    The returned client becomes dask's default, so that
    ``joblib.parallel_config(backend="dask")`` sends work to that cluster.

    Parameters
    ----------
    address : str
        Scheduler address as printed by ``dask scheduler``, e.g.
        ``"tcp://10.0.0.5:8786"`` (``"10.0.0.5:8786"`` also works).
    timeout : float, default=10
        Seconds to wait for the scheduler before giving up.

    Returns
    -------
    client : distributed.Client
        Close it (``client.close()`` or a ``with`` block) when done.

    Raises
    ------
    ImportError
        If dask.distributed is not installed.
    ValueError
        If ``address`` is not a valid address or ``timeout`` is not positive.
    ConnectionError
        If no scheduler answers at ``address`` within ``timeout`` seconds.

    Examples
    --------
    >>> from sklip.distributed import connect
    >>> connect("tcp://127.0.0.1:1", timeout=0.5)  # doctest: +SKIP
    Traceback (most recent call last):
    ...
    ConnectionError: No dask scheduler answered at 'tcp://127.0.0.1:1' ...
    """
    distributed = _import_distributed()
    timeout = _check_timeout(timeout)
    if not isinstance(address, str) or not address.strip():
        raise ValueError(
            "address must be a scheduler address such as 'tcp://host:8786'; "
            f"got {address!r}."
        )
    try:
        return distributed.Client(address, timeout=timeout, set_as_default=True)
    except ValueError as exc:
        raise ValueError(
            f"address {address!r} is not a valid dask scheduler address "
            f"(expected e.g. 'tcp://host:8786'): {exc}"
        ) from exc
    except (OSError, TimeoutError) as exc:
        raise ConnectionError(
            f"No dask scheduler answered at {address!r} within {timeout:g} s "
            f"({exc}). Start one with `dask scheduler` and workers with "
            f"`dask worker {address}`, or check the address and the firewall."
        ) from exc


@public({"n_workers": [count(0)], "threads_per_worker": [count(1)]})
@contextmanager
def local_cluster(n_workers=2, *, threads_per_worker=1, **cluster_kwargs):
    """A dask cluster on this machine, closed on exit even after an error.

    Worker processes listen on the loopback interface only and no dashboard
    is started unless asked for (``dashboard_address=":8787"``).

    Parameters
    ----------
    n_workers : int, default=2
        Number of worker processes (0: a scheduler alone, workers joining later).
    threads_per_worker : int, default=1
        Threads per worker process.
    **cluster_kwargs : dict
        Passed to :class:`distributed.LocalCluster`.

    Yields
    ------
    client : distributed.Client
        The default client while the block runs.

    Examples
    --------
    >>> import joblib
    >>> from sklearn.datasets import make_classification
    >>> from sklearn.model_selection import cross_val_score
    >>> from sklip import LipschitzMLPClassifier
    >>> from sklip.distributed import local_cluster
    >>> X, y = make_classification(n_samples=60, random_state=0)
    >>> with local_cluster(2) as client:  # doctest: +SKIP
    ...     with joblib.parallel_config(backend="dask"):
    ...         scores = cross_val_score(LipschitzMLPClassifier(), X, y, cv=2)
    """
    distributed = _import_distributed()
    options = {
        "n_workers": n_workers,
        "threads_per_worker": threads_per_worker,
        "processes": True,
        "host": "127.0.0.1",
        "dashboard_address": None,
        **cluster_kwargs,
    }
    try:
        cluster = distributed.LocalCluster(**options)
    except AssertionError:
        # distributed's loop runner gives its IO-loop thread 10 s to start and
        # then fails an assertion; on a busy machine that happens (seen once
        # in three test runs on a loaded 2-core machine). One retry, then the
        # error surfaces.
        cluster = distributed.LocalCluster(**options)
    try:
        client = distributed.Client(cluster, set_as_default=True)
        try:
            yield client
        finally:
            client.close()
    finally:
        cluster.close()
