"""Warm worker processes that run generated programs, with limits, and a pool that keeps them busy.

A generated program never runs in the harness process. A ``Worker`` is a child process (by default
``python -s tinyfuzz/execution/_runner.py``; any command speaking the same JSON-lines protocol) that runs
batches of programs, each in a fresh namespace with a soft time limit; the harness adds a hard
deadline, a memory limit (RLIMIT_AS) and an output cap. A worker that dies or hangs is killed with
its whole process tree (psutil) and replaced, and the program that did it is named: at once when
the worker reported which program it was running, else by re-running the batch a program at a time.
"""

from __future__ import annotations

import json
import os
import selectors
import subprocess
import sys
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator, NamedTuple, Sequence

import psutil

from tinyfuzz.errors import TargetError

RUNNER = str(Path(__file__).with_name("_runner.py"))


class Outcome(NamedTuple):
    """What running one program did. ``status``: ok, exception, oom, timeout, output-limit, crash.

    A NamedTuple rather than a dataclass: one is made per program, and this is the cheap immutable kind.
    """

    status: str
    stdout: str = ""
    exc_type: str = ""
    exc_message: str = ""
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status == "ok"


@dataclass(frozen=True)
class Limits:
    timeout: float = 1.0  # seconds per program (soft, inside the worker)
    memory_mb: int = 1024  # address-space limit of the worker process (0: none)
    output_limit: int = 1 << 20  # characters of stdout per program
    batch_slack: float = 5.0  # seconds added to the hard deadline of a batch
    startup: float = 5.0  # seconds a new worker may take before its first answer


def memory_limiter(megabytes: int):
    """A preexec function setting the address-space limit (None for 0: node needs none)."""
    if not megabytes:
        return None

    def apply() -> None:
        import resource

        limit = megabytes * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    return apply


def reap(pid: int) -> None:
    """Kill a process and every descendant, and wait for them: nothing is left behind."""
    try:
        root = psutil.Process(pid)
        family = root.children(recursive=True) + [root]
    except psutil.NoSuchProcess:
        return
    for proc in family:
        try:
            proc.kill()
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(family, timeout=5)


class WorkerDied(Exception):
    pass


class Worker:
    """One warm worker process speaking the JSON-lines protocol of ``_runner.py``."""

    def __init__(self, argv: Sequence[str] | None = None, limits: Limits = Limits(),
                 env: dict | None = None):
        # -s: no user site-packages. Not -I, which would also drop PYTHONHASHSEED from ``env``.
        self.argv = list(argv or [sys.executable, "-s", RUNNER])
        self.limits = limits
        self.env = env
        self._start()

    def _start(self) -> None:
        limits, env = self.limits, self.env
        try:
            self.proc = subprocess.Popen(
                self.argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                start_new_session=True, preexec_fn=memory_limiter(limits.memory_mb),
                env={**os.environ, **env} if env else None)
        except FileNotFoundError:
            raise TargetError(f"cannot start worker: {self.argv[0]} not found") from None
        self.busy_since: float | None = None
        self.batch: list[str] = []
        self.warm = False  # has it answered once (its start-up is over)?
        # Workers that cannot stop a program themselves (WebAssembly) report each program as it
        # starts: then the hard deadline is per program and the culprit of a hang is known.
        self.progress: int | None = None
        self.progress_at = 0.0
        self.pending_bytes = b""  # what the worker wrote after the last complete line

    def send(self, programs: list[str]) -> None:
        data = json.dumps({"programs": programs, "timeout": self.limits.timeout,
                           "output_limit": self.limits.output_limit}).encode()
        try:
            self.proc.stdin.write(data + b"\n")
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError) as exc:
            raise WorkerDied(str(exc)) from None
        self.busy_since = time.monotonic()
        self.batch = programs
        self.progress = None

    def receive(self) -> list[Outcome] | None:
        """Read what the worker has written (call when its stdout is readable: this never blocks).
        The batch's outcomes, or None while it is still running (a progress line, part of a line)."""
        chunk = os.read(self.proc.stdout.fileno(), 1 << 20)
        if not chunk:
            raise WorkerDied(f"worker exited with {self.proc.wait()}")
        self.pending_bytes += chunk
        while b"\n" in self.pending_bytes:
            line, _, self.pending_bytes = self.pending_bytes.partition(b"\n")
            message = json.loads(line)
            self.warm = True
            if "started" in message:
                self.progress, self.progress_at = message["started"], time.monotonic()
                continue
            self.busy_since = None
            self.reap_strays()
            return [Outcome._make(r) for r in message["results"]]
        return None

    def reap_strays(self) -> None:
        """Kill any process a program left behind (a forked child): the worker itself has none."""
        try:
            strays = psutil.Process(self.proc.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            return
        for stray in strays:
            reap(stray.pid)

    def receive_or_restart(self) -> None:
        """Drain the answer to an abandoned batch (cheaper than a new process), or restart if hung."""
        try:
            self.wait()
        except WorkerDied:
            self.restart()

    def deadline(self) -> float:
        limits = self.limits
        if self.progress is not None:
            return self.progress_at + limits.timeout + limits.batch_slack
        start = self.busy_since or time.monotonic()
        return (start + limits.timeout * max(len(self.batch), 1) + limits.batch_slack
                + (0 if self.warm else limits.startup))

    def wait(self) -> list[Outcome]:
        """Wait for the answer to the batch sent, within the hard deadline."""
        with selectors.DefaultSelector() as sel:
            sel.register(self.proc.stdout, selectors.EVENT_READ)
            while True:
                if not sel.select(max(self.deadline() - time.monotonic(), 0)):
                    raise WorkerDied("hung")
                outcomes = self.receive()
                if outcomes is not None:
                    return outcomes

    def run(self, programs: list[str]) -> list[Outcome]:
        """Run a batch and wait for it (hard deadline); on death or hang, isolate the culprit."""
        try:
            self.send(programs)
            return self.wait()
        except WorkerDied:
            return self.recover()

    def recover(self) -> list[Outcome]:
        """The worker died or hung on ``self.batch``: restart it, name the culprit, rerun the rest.

        A worker that reported which program it was running names the culprit at once; otherwise
        each program runs alone until one does it again."""
        batch, culprit = self.batch, self.progress
        verdict = self.restart()
        if len(batch) == 1:
            return [verdict]
        if culprit is not None:
            before = self.run(batch[:culprit]) if culprit else []
            after = self.run(batch[culprit + 1:]) if culprit + 1 < len(batch) else []
            return before + [verdict] + after
        return [outcome for program in batch for outcome in self.run([program])]

    def restart(self) -> Outcome:
        """Replace the process; the outcome of the program that was running: hung or crashed."""
        returncode = self.proc.poll()
        verdict = (Outcome("timeout", exc_message="killed after the hard deadline")
                   if returncode is None else
                   Outcome("crash", exc_message=f"worker exited with code {returncode}"))
        self.close()
        self._start()
        return verdict

    def close(self) -> None:
        reap(self.proc.pid)
        for stream in (self.proc.stdin, self.proc.stdout):
            try:
                stream.close()
            except OSError:
                pass
        self.proc.wait()


class WorkerPool:
    """N warm workers; ``map`` runs batches in parallel and yields their outcomes in input order."""

    def __init__(self, size: int | None = None, argv: Sequence[str] | None = None,
                 limits: Limits = Limits(), env: dict | None = None):
        self.size = size or os.cpu_count() or 1
        self.workers = [Worker(argv, limits, env) for _ in range(self.size)]

    def map(self, batches: Iterable[list[str]]) -> Iterator[list[Outcome]]:
        batches = iter(batches)
        pending: dict[int, list[Outcome]] = {}
        assigned: dict[Worker, int] = {}
        try:
            yield from self._map(batches, pending, assigned)
        finally:
            for worker in list(assigned):  # abandoned mid-batch: don't leave a stale reply behind
                worker.receive_or_restart()

    def _map(self, batches, pending, assigned) -> Iterator[list[Outcome]]:
        ready: deque = deque()  # batches made but not sent yet: making them overlaps running them
        next_in = next_out = 0
        exhausted = False
        with selectors.DefaultSelector() as sel:
            while True:
                for worker in self.workers:  # every idle worker gets a batch
                    if worker in assigned:
                        continue
                    if not ready and not exhausted:
                        batch = next(batches, None)
                        if batch is None:
                            exhausted = True
                        else:
                            ready.append(batch)
                    if not ready:
                        break
                    batch = ready.popleft()
                    try:
                        worker.send(batch)
                    except WorkerDied:
                        worker.batch = batch
                        pending[next_in] = worker.recover()
                    else:
                        assigned[worker] = next_in
                        sel.register(worker.proc.stdout, selectors.EVENT_READ, worker)
                    next_in += 1
                while next_out in pending:
                    yield pending.pop(next_out)
                    next_out += 1
                if not assigned:
                    if exhausted and not ready:
                        return
                    continue
                if not exhausted and len(ready) < self.size:
                    events = sel.select(0)
                    if not events:  # all workers busy: make the next batch meanwhile
                        batch = next(batches, None)
                        if batch is None:
                            exhausted = True
                        else:
                            ready.append(batch)
                        continue
                else:
                    events = sel.select(max(min(w.deadline() for w in assigned) - time.monotonic(), 0))
                answered = {key.data for key, _ in events}
                now = time.monotonic()
                for worker in [w for w in assigned if w in answered or w.deadline() <= now]:
                    stream = worker.proc.stdout  # recover() replaces the process and its pipes
                    try:
                        if worker not in answered:
                            raise WorkerDied("hung")
                        outcomes = worker.receive()
                        if outcomes is None:  # a progress line: still running
                            continue
                        sel.unregister(stream)
                    except WorkerDied:
                        sel.unregister(stream)
                        outcomes = worker.recover()
                    pending[assigned.pop(worker)] = outcomes

    def run(self, programs: Sequence[str]) -> list[Outcome]:
        """One batch's outcomes, in order: for a caller with a handful of programs at a time."""
        return next(self.map(iter([list(programs)])))

    def close(self) -> None:
        for worker in self.workers:
            worker.close()

    def __enter__(self) -> "WorkerPool":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
