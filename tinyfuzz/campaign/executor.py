"""Where a campaign's batches run: local worker processes, or a Dask cluster.

Both executors take a module-level function and its (picklable) arguments and hand back a
``concurrent.futures.Future``, so the campaign driver waits on one kind of future whatever runs it.
Each executor process keeps its warm target pools between batches (``campaign.runner``) and
closes them when the process ends: ``multiprocessing.util.Finalize`` runs in processes started by
``multiprocessing`` (local workers and Dask's nanny-started workers), ``atexit`` in any other, and
a local worker stopped by SIGTERM or orphaned by a killed driver calls the ``on_leave`` hook it
was given (``runner.close_runners``) before it exits; this module knows nothing of campaigns.
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os
import signal
import threading
import time
from typing import Callable

from tinyfuzz.errors import InvalidArgument

DASK_PREFIX = "dask://"


def _local_worker_init(on_leave: Callable[[], None] | None) -> None:
    # Ctrl-C reaches the whole process group: the driver handles it and stops the workers itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # SIGTERM (the driver stopping a worker mid-batch) ends it with its target processes reaped.
    signal.signal(signal.SIGTERM, lambda signum, frame: _leave(on_leave, 128 + signum))
    threading.Thread(target=_exit_with_parent, args=(os.getppid(), on_leave), daemon=True).start()


def _exit_with_parent(parent: int, on_leave) -> None:
    """A driver killed with SIGKILL cannot stop its workers: each notices on its own and goes."""
    while os.getppid() == parent:
        time.sleep(0.5)
    _leave(on_leave, 1)


def _leave(on_leave, code: int) -> None:
    if on_leave is not None:  # what the work running here keeps open (warm target pools)
        on_leave()
    os._exit(code)


class LocalExecutor:
    """``workers`` processes on this machine, each running one batch at a time."""

    def __init__(self, workers: int, on_leave: Callable[[], None] | None = None):
        """``on_leave`` (a module-level function: it is pickled) runs in a worker process that is
        leaving because it was stopped or its driver died, to close what its tasks keep open."""
        self.slots = workers
        # spawn, not fork: the driver has threads (the live display), which fork does not copy safely
        self.pool = cf.ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                                           initializer=_local_worker_init, initargs=(on_leave,))

    def submit(self, fn: Callable, *args) -> cf.Future:
        return self.pool.submit(fn, *args)

    def close(self, interrupt: bool = False) -> None:
        if interrupt:  # stop running batches now: SIGTERM, on which a worker reaps its pools and exits
            processes = list((self.pool._processes or {}).values())
            self.pool.shutdown(wait=False, cancel_futures=True)
            for process in processes:
                if process.is_alive():
                    os.kill(process.pid, signal.SIGTERM)
            for process in processes:
                process.join(10)
                if process.is_alive():
                    process.kill()
        else:
            self.pool.shutdown(wait=True, cancel_futures=True)


class DaskExecutor:
    """Batches run as tasks on a Dask cluster (``dask://HOST:PORT``, the scheduler's address)."""

    def __init__(self, address: str):
        try:
            from distributed import Client
        except ImportError:
            raise InvalidArgument(f"--executor {address}: Dask is not installed: "
                                  "pip install 'tinyfuzz[dask]'") from None
        scheduler = "tcp://" + address[len(DASK_PREFIX):]
        try:
            self.client = Client(scheduler, timeout="10s")
        except OSError as error:
            raise InvalidArgument(f"--executor {address}: cannot reach the Dask scheduler at "
                                  f"{scheduler}: {error}; start one with `dask scheduler` and "
                                  "workers with `dask worker " + scheduler + "`") from None
        threads = sum(self.client.nthreads().values())
        self.slots = max(threads, 1)

    def submit(self, fn: Callable, *args) -> cf.Future:
        future: cf.Future = cf.Future()
        task = self.client.submit(fn, *args, pure=False)
        future._dask_task = task  # keep it alive: Dask forgets a task whose future is dropped

        def settle(done) -> None:
            try:
                future.set_result(done.result())
            except BaseException as error:  # noqa: BLE001 - handed to whoever waits on it
                future.set_exception(error)
        task.add_done_callback(settle)
        return future

    def close(self, interrupt: bool = False) -> None:
        self.client.close()


def make_executor(spec: str, workers: int,
                  on_leave: Callable[[], None] | None = None) -> LocalExecutor | DaskExecutor:
    """``local`` (``workers`` processes here) or ``dask://HOST:PORT``."""
    if spec == "local":
        return LocalExecutor(workers, on_leave)
    if spec.startswith(DASK_PREFIX) and ":" in spec[len(DASK_PREFIX):]:
        return DaskExecutor(spec)
    raise InvalidArgument(f"--executor {spec!r}: use local or dask://HOST:PORT")
