"""BLAS thread control: a cap for any block of code, applied by default in
nested parallelism.

sklip's hot loops are matrix products at mini-batch size, which gain little
from a second BLAS thread. When several of them run at once (a grid search
with ``n_jobs > 1``, a dask cluster, other processes on the machine), every
BLAS pool starting as many threads as there are cores oversubscribes the
machine: measured 5-15x slower than one thread each. joblib's loky workers
are started with capped pools; threads of joblib's threading backend and dask
workers started without a nanny are not.

- :func:`limit_blas_threads` caps the BLAS threads of the whole process while
  a block runs (fit, attacks, bounds, anything).
- Estimator fits and sklip's scorers call :func:`limited_in_workers` to cap
  themselves to :func:`get_worker_blas_threads` threads whenever they run
  inside a joblib worker (any backend) or a dask worker; in the main process
  they use the default pools.

The cap in workers is ``1`` unless the environment variable
``SKLIP_WORKER_BLAS_THREADS`` (read at import, so it also reaches worker
processes started with that environment) or :func:`set_worker_blas_threads`
says otherwise; ``0`` disables the automatic cap.
"""

import functools
import numbers
import os
import sys
import threading
from contextlib import contextmanager

from sklearn.utils._param_validation import Interval
from threadpoolctl import threadpool_info, threadpool_limits

from ._validation import public

_ENV_VAR = "SKLIP_WORKER_BLAS_THREADS"


def _threads(minimum):
    # The shared vocabulary (sklip._validation.count) lives on this floor
    # too; scikit-learn's Interval is the same constraint, and the checks
    # below still refuse bools.
    return Interval(numbers.Integral, minimum, None, closed="left")


def _check_limit(n, name):
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 0:
        raise ValueError(f"{name} must be a non-negative int; got {n!r}.")
    return int(n)


def _read_env():
    value = os.environ.get(_ENV_VAR, "1").strip()
    try:
        return _check_limit(int(value), _ENV_VAR)
    except ValueError:
        raise ValueError(
            f"The environment variable {_ENV_VAR} must be a non-negative int "
            f"(0 disables the cap); got {value!r}."
        ) from None


_worker_limit = _read_env()


@public({"n": [_threads(0)]})
def set_worker_blas_threads(n):
    """Set the BLAS thread cap applied inside parallel workers.

    Estimator fits and sklip's scorers running inside a joblib worker (any
    backend) or a dask worker cap BLAS to ``n`` threads. Affects this process
    only: for worker processes, set the environment variable
    ``SKLIP_WORKER_BLAS_THREADS`` before they start.

    Parameters
    ----------
    n : int
        Threads per worker; ``0`` disables the automatic cap.

    Returns
    -------
    previous : int
        The cap that was in force.

    Examples
    --------
    >>> import sklip
    >>> previous = sklip.set_worker_blas_threads(2)
    >>> sklip.get_worker_blas_threads()
    2
    >>> _ = sklip.set_worker_blas_threads(previous)
    """
    global _worker_limit
    previous = _worker_limit
    _worker_limit = _check_limit(n, "n")
    return previous


def get_worker_blas_threads():
    """The BLAS thread cap applied inside parallel workers (0: none).

    Returns
    -------
    n : int
        BLAS threads per worker, or 0 when workers are not capped.

    Examples
    --------
    >>> import sklip
    >>> sklip.get_worker_blas_threads()
    1
    """
    return _worker_limit


# BLAS thread counts are process-wide (OpenBLAS with pthreads), while limits
# may be entered from several threads at once (joblib's threading backend). A
# per-call threadpool_limits would let a thread restore the "original" it read
# while another thread's cap was in force, leaving the process capped for
# good. So one reference-counted limit per process: the first entry saves the
# original counts, later entries may only lower the cap, the last exit
# restores. threadpoolctl (>= 3.6) also lets only one "controlling" thread set
# OpenBLAS limits, silently ignoring the others: a pool thread that set the
# cap would then stay the only one able to lift it. Our lock serialises every
# change, so each change takes control and releases it at once.
_lock = threading.Lock()
_depth = 0
_original = None
_current = None


def _release_openblas_control():
    try:
        from threadpoolctl import OpenBLASController
    except ImportError:  # pragma: no cover - threadpoolctl < 3.6 has no guard
        return
    clear = getattr(OpenBLASController, "clear_controlling_thread", None)
    if clear is not None:
        clear(force=True)


def _set_blas_limit(n):
    """Set the BLAS limit to ``n``; return the limiter holding the previous
    counts."""
    _release_openblas_control()
    try:
        return threadpool_limits(limits=n, user_api="blas")
    finally:
        _release_openblas_control()


def _blas_threads_now():
    counts = [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]
    return min(counts) if counts else None


@public({"n": [_threads(1)]})
@contextmanager
def limit_blas_threads(n=1):
    """Cap the BLAS threads of this process while the block runs.

    Use it around any sklip call (fit, attacks, bounds, scorers) that runs
    next to other CPU-bound work. The cap is process-wide and safe to enter
    from several threads at once: an inner or concurrent block may lower the
    cap, and the threads are restored when the last block exits.

    Parameters
    ----------
    n : int, default=1
        Maximum number of BLAS threads; must be positive.

    Yields
    ------
    None

    Examples
    --------
    >>> import numpy as np
    >>> from sklip import limit_blas_threads
    >>> with limit_blas_threads(1):
    ...     float(np.ones((50, 50)) @ np.ones(50) @ np.ones(50))
    2500.0
    """
    global _depth, _original, _current
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1:
        raise ValueError(f"n must be a positive int; got {n!r}.")
    n = int(n)
    with _lock:
        if _depth == 0:
            # A cap never raises the thread count (loky workers start capped).
            _current = _blas_threads_now()
            if _current is not None and n < _current:
                _original = _set_blas_limit(n)
                _current = n
        elif _current is not None and n < _current:
            limiter = _set_blas_limit(n)
            if _original is None:  # nothing was changed before: this is it
                _original = limiter
            _current = n
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                if _original is not None:
                    _release_openblas_control()
                    _original.restore_original_limits()
                    _release_openblas_control()
                _original = _current = None


def in_parallel_worker():
    """Whether the caller runs inside a joblib worker or a dask worker.

    joblib marks the configuration active inside its workers with a nesting
    level of at least 1 (loky, threading, multiprocessing backends); dask
    tasks are recognised by ``distributed.get_worker()``.

    Returns
    -------
    bool

    Examples
    --------
    >>> from joblib import Parallel, delayed
    >>> from sklip._threads import in_parallel_worker
    >>> in_parallel_worker()
    False
    >>> Parallel(n_jobs=2, backend="threading")(
    ...     delayed(in_parallel_worker)() for _ in range(2))
    [True, True]
    """
    from joblib.parallel import get_active_backend

    backend, _ = get_active_backend()
    if (getattr(backend, "nesting_level", 0) or 0) >= 1:
        return True
    distributed = sys.modules.get("distributed")
    if distributed is not None:
        try:
            distributed.get_worker()
        except ValueError:
            return False
        return True
    return False


@contextmanager
def _worker_limit_context():
    n = _worker_limit
    if n and in_parallel_worker():
        with limit_blas_threads(n):
            yield
    else:
        yield


def limited_in_workers(func):
    """Decorate ``func`` to run with the worker BLAS cap inside workers."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        with _worker_limit_context():
            return func(*args, **kwargs)

    return wrapper
