"""The campaign driver: ``tinyfuzz fuzz``'s one writer.

It submits batches to an executor until the budget is spent, records each batch with its findings
and documented differences in one transaction, writes each new bucket to ``crashes/`` at once, and
has it shrunk. A finding is in the database and in ``crashes/`` as soon as its batch comes back
confirmed, before it is shrunk; a finding whose shrinking was cut short is shrunk again on resume.
A killed campaign loses at most its batches in flight: they were not recorded, so they run again.

Data flow, with one writer::

    driver ──(config, index)──▶ executor process: generate → run reference and targets → compare
                                   → re-run each new bucket's smallest program (confirm)
           ◀── batch result ───
    driver: record batch + findings in one transaction ─▶ crashes/<target>/<signature>.py
           ──(finding)──▶ executor process: shrink (same signature) ──▶ driver: record, rewrite file
"""

from __future__ import annotations

import concurrent.futures as cf
import itertools
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from tinyfuzz.campaign.config import Budget, CampaignConfig
from tinyfuzz.campaign.runner import SHRINK_TESTS, BatchRunner, close_runners, run_batch, shrink_finding
from tinyfuzz.corpus.store import BatchResult, FindingRow, Store, outcome_from
from tinyfuzz.engine.guides import choice_alternatives
from tinyfuzz.engine.sampler import Sampler
from tinyfuzz.errors import InvalidArgument, TinyfuzzError
from tinyfuzz.execution.findings import read_finding, save_finding
from tinyfuzz.execution.pair import Shrunk
from tinyfuzz.execution.targets import load_target

SHRINK_GRACE = (60.0, 0.05)  # shrinking goes on after the budget for max(60 s, 5% of the time spent)


def _kept_first(bucket: FindingRow) -> tuple:
    """Of two buckets of one cause, the one kept: the smaller program, then the text and the
    signature (so the same one is kept whichever shrink finishes first)."""
    return len(bucket.source), bucket.source, bucket.signature


@dataclass
class Bucket:
    target: str
    kind: str
    signature: str
    hits: int
    size: int  # lines of the smallest program so far
    shrunk: bool
    path: Path | None = None


@dataclass
class CampaignStatus:
    """What the live display and the summary show; updated by the driver as events come in."""

    campaign_id: int
    config: CampaignConfig
    budget: Budget
    workers: int
    resumed_batches: int = 0
    programs: int = 0  # over all sessions
    session_programs: int = 0
    batches: int = 0
    active_base: float = 0.0  # active time of the sessions before this one
    session_started: float = field(default_factory=time.monotonic)
    in_flight: int = 0
    shrinking: int = 0
    outcomes: dict = field(default_factory=dict)  # target name -> Counter of statuses
    buckets: dict = field(default_factory=dict)  # (target, signature) -> Bucket
    merged: dict = field(default_factory=dict)  # (target, signature) -> the signature it joined
    known: Counter = field(default_factory=Counter)  # (target, known ids) -> programs
    flaky: int = 0
    mutated: int = 0  # programs made from the corpus (--corpus, --mutate)
    alternatives: frozenset = frozenset()  # every (rule, alternative) the campaign can choose
    covered: set = field(default_factory=set)  # those its batches have used
    shrink_errors: list = field(default_factory=list)  # "signature: error" of failed shrinks
    stopped: str = ""  # why it ended: budget, interrupted
    recent: deque = field(default_factory=lambda: deque(maxlen=50))  # (monotonic, session programs)

    @property
    def active_seconds(self) -> float:
        """Time spent on the campaign over all sessions: what a time budget counts."""
        return self.active_base + time.monotonic() - self.session_started

    @property
    def rate(self) -> float:
        """Programs per second over the last few batches (over the session until then)."""
        if len(self.recent) >= 2:
            (t0, p0), (t1, p1) = self.recent[0], self.recent[-1]
            if t1 > t0:
                return (p1 - p0) / (t1 - t0)
        elapsed = time.monotonic() - self.session_started
        return self.session_programs / elapsed if elapsed > 0 else 0.0

    @property
    def session_rate(self) -> float:
        elapsed = time.monotonic() - self.session_started
        return self.session_programs / elapsed if elapsed > 0 else 0.0


class Campaign:
    """Runs one campaign to its budget: submit batches, record what comes back, shrink findings."""

    def __init__(self, config: CampaignConfig, *, db: str | Path, budget: Budget,
                 executor=None, workers: int = 1, crashes: str | Path = "crashes",
                 shrink_tests: int = SHRINK_TESTS,
                 on_update: Callable[[CampaignStatus], None] | None = None):
        if not config.targets:
            raise InvalidArgument("fuzz: give at least one --target")
        self.config = config
        self.targets = {spec: load_target(spec) for spec in config.targets}
        self.reference = load_target(config.reference)
        for target in [self.reference, *self.targets.values()]:
            target.argv()  # usable now, not in a worker an hour from now
        sampler = Sampler(config.grammar, level=config.level, max_size=config.max_size,
                          python_version=BatchRunner.python_version_of(self.targets, self.reference))
        # (a bad grammar fails here, not in a worker); what grammar coverage is counted against
        alternatives = choice_alternatives(sampler.compiled)
        self.db = db
        self.store = Store(db)
        self.row = self.store.open_campaign(config.as_dict())
        self.budget = budget
        self.executor = executor
        self.workers = workers
        self.crashes = Path(crashes)
        self.shrink_tests = shrink_tests
        self.on_update = on_update or (lambda status: None)
        self.status = CampaignStatus(self.row.id, config, budget, workers,
                                     alternatives=alternatives)

    # -- events --

    def _record_batch(self, result: BatchResult) -> list:
        status = self.status
        new = self.store.record_batch(self.row.id, result, status.active_seconds)
        batch = result.batch
        status.batches += 1
        status.programs += batch.programs
        status.session_programs += batch.programs
        status.recent.append((time.monotonic(), status.session_programs))
        status.flaky += batch.flaky
        status.mutated += batch.mutated
        status.covered.update(batch.covered)
        for name, counts in batch.outcomes.items():
            status.outcomes.setdefault(name, Counter()).update(counts)
        for known in result.known:
            status.known[(known.target, known.known)] += known.hits
        for finding in result.findings:
            signature = status.merged.get((finding.target, finding.signature), finding.signature)
            bucket = status.buckets.get((finding.target, signature))
            if bucket is not None:
                bucket.hits += finding.hits
        for row in new:
            self._save(row)
        return new

    def _save(self, row: FindingRow) -> None:
        """Write a finding's crash file (kept if a smaller one is there) and show its bucket."""
        path = save_finding(self.crashes, row.finding())
        key = (row.target, row.signature)
        bucket = self.status.buckets.get(key)
        if bucket is None:
            bucket = self.status.buckets[key] = Bucket(row.target, row.kind, row.signature,
                                                       row.hits, 0, row.shrunk)
        bucket.size = len(row.source.strip().splitlines())
        bucket.path = path

    def _submit_shrinks(self, pending: dict, budget_spent: bool) -> None:
        """Start queued shrinks: on half the executor's slots while batches run (shrinking must
        not starve fuzzing: a hang costs a timeout per test), on all of them once the budget is
        spent."""
        limit = self.executor.slots if budget_spent else max(1, self.executor.slots // 2)
        running = sum(kind == "shrink" for kind, _ in pending.values())
        while self.to_shrink and running < limit:
            row = self.to_shrink.popleft()
            future = self.executor.submit(shrink_finding, self.config.as_dict(), row.target_spec,
                                          row.source, row.signature, self.shrink_tests)
            pending[future] = ("shrink", row)
            running += 1

    def _shrink_result(self, row, future) -> Shrunk | None:
        """A shrink's result; a reducer that fails leaves the finding as found, and says so,
        rather than end a night's campaign."""
        try:
            return future.result()
        except Exception as error:  # noqa: BLE001 - shown in the summary, the finding is kept
            self.status.shrink_errors.append(f"{row.target} {row.signature}: "
                                             f"{type(error).__name__}: {error}")
            return None

    def _record_shrunk(self, row: FindingRow, result: Shrunk | None) -> None:
        self.status.shrinking -= 1
        if result is None:  # no longer reproduces on its own: keep it as found
            self.store.record_shrunk(row.id, row.source, outcome_from(row.expected),
                                     outcome_from(row.observed))
        else:
            row = self.store.record_shrunk(row.id, result.source, result.expected, result.observed,
                                           result.cause)
            self._save(row)
        self.status.buckets[(row.target, row.signature)].shrunk = True
        self._merge_if_one_cause(row)

    def _merge_if_one_cause(self, row: FindingRow) -> None:
        """A bucket just shrunk and a bucket of the same target and kind with the same cause
        (``DifferentialPair.cause``: the shape of its program reduced to the outline of its
        difference) become one: one cause, one bucket, hits added, the smaller program kept. The
        other's crash file goes, unless a person has marked it."""
        if not row.cause:
            return
        into = next((other for other in self.store.findings(self.row.id)
                     if other.id != row.id and other.cause == row.cause
                     and other.target == row.target and other.kind == row.kind), None)
        if into is None:
            return
        if _kept_first(row) < _kept_first(into):
            row, into = into, row
        into = self.store.merge(row.id, into.id)
        status = self.status
        merged = status.buckets.pop((row.target, row.signature))
        status.buckets[(into.target, into.signature)].hits = into.hits
        status.merged[(row.target, row.signature)] = into.signature
        for key, signature in status.merged.items():  # those that joined it follow it
            if signature == row.signature:
                status.merged[key] = into.signature
        path = merged.path
        if path is not None and path.exists() and not read_finding(path).expected_difference:
            path.unlink()

    # -- the loop --

    def _resume(self) -> dict:
        """What is already done; crash files of recorded findings rewritten (a kill may have come
        between the database and the file), unfinished shrinks queued again."""
        done = self.store.done_batches(self.row.id)
        status = self.status
        status.resumed_batches = status.batches = len(done)
        status.programs = sum(done.values())
        for batch in self.store.batches(self.row.id):
            for name, counts in batch.outcomes.items():
                status.outcomes.setdefault(name, Counter()).update(counts)
            status.flaky += batch.flaky
            status.mutated += batch.mutated or 0
            status.covered.update(map(tuple, batch.covered or ()))
        for row in self.store.known(self.row.id):
            status.known[(row.target, row.known)] += row.hits
        for row in self.store.findings(self.row.id, merged=True):
            status.merged[(row.target, row.signature)] = row.merged_into
        for row in self.store.findings(self.row.id):
            self._save(row)
            if not row.shrunk:
                self.to_shrink.append(row)
                status.shrinking += 1
        return done

    def _budget_left(self, programs_submitted: int) -> int:
        """Programs that may still be submitted (0: the budget is spent)."""
        if self.budget.programs is not None:
            return max(self.budget.programs - programs_submitted, 0)
        return self.config.batch_size if self.status.active_seconds < self.budget.seconds else 0

    def _lock_store(self):
        """One campaign at a time on a SQLite store: a second ``tinyfuzz fuzz`` on the same file
        would record the same batches (an IntegrityError, 107 lines). The lock goes with the
        process, so a killed campaign resumes at once. (A PostgreSQL store is not locked.)"""
        if "://" in str(self.db):
            return None
        import fcntl

        handle = open(f"{Path(self.db).resolve()}.lock", "w")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            raise TinyfuzzError(f"store {self.db} is in use by another tinyfuzz fuzz: wait for it "
                                "to end (the same command then resumes it), or give another --db") \
                from None
        return handle

    def run(self) -> CampaignStatus:
        lock = self._lock_store()
        try:
            return self._run()
        finally:
            if lock is not None:
                lock.close()

    def _run(self) -> CampaignStatus:
        from tinyfuzz.campaign.executor import LocalExecutor

        own_executor = self.executor is None
        if own_executor:
            self.executor = LocalExecutor(self.workers, on_leave=close_runners)
        status = self.status
        status.active_base = self.row.active_seconds
        pending: dict = {}  # future -> ("batch", (index, count)) | ("shrink", finding row)
        self.to_shrink: deque = deque()  # new buckets waiting for a slot to be shrunk
        interrupted = False
        try:
            done = self._resume()
            indices = (i for i in itertools.count() if i not in done)
            submitted = status.programs
            slots = self.executor.slots * 2  # one running and one queued per slot
            grace_ends = None  # when the budget is spent: how long shrinks may still run
            while True:
                while status.in_flight < slots:
                    count = min(self._budget_left(submitted), self.config.batch_size)
                    if count == 0:
                        break
                    index = next(indices)
                    future = self.executor.submit(run_batch, self.config.as_dict(), index, count,
                                                  status.alternatives - status.covered)
                    pending[future] = ("batch", (index, count))
                    status.in_flight += 1
                    submitted += count
                spent = self._budget_left(submitted) == 0
                if spent and grace_ends is None:
                    grace_ends = time.monotonic() + max(SHRINK_GRACE[0],
                                                        SHRINK_GRACE[1] * status.active_seconds)
                self._submit_shrinks(pending, budget_spent=spent)
                if not pending:
                    break
                if not status.in_flight and spent and time.monotonic() > grace_ends:
                    break  # what is not shrunk yet stays as found, and is shrunk on resume
                finished, _ = cf.wait(pending, timeout=0.5, return_when=cf.FIRST_COMPLETED)
                for future in finished:
                    kind, item = pending.pop(future)
                    if kind == "batch":
                        status.in_flight -= 1
                        for row in self._record_batch(future.result()):
                            self.to_shrink.append(row)
                            status.shrinking += 1
                    else:
                        self._record_shrunk(item, self._shrink_result(item, future))
                self.on_update(status)
            status.stopped = "budget"
        except KeyboardInterrupt:
            interrupted = True
            status.stopped = "interrupted"
        except cf.process.BrokenProcessPool as error:
            raise TinyfuzzError(f"a campaign worker process died ({error}); run the same command "
                                "again to resume") from None
        finally:
            if own_executor:
                self.executor.close(interrupt=interrupted or status.stopped != "budget"
                                    or status.shrinking > 0)
            self.store.close()
        if self.config.corpus:  # findings feed the corpus they came from, labelled incorrect
            from tinyfuzz.corpus.corpus import Corpus

            corpus = Corpus(self.config.corpus)
            corpus.add_findings(self.db)
            corpus.close()
        status.in_flight = 0
        self.on_update(status)
        return status
