"""Fuzz campaigns: ``tinyfuzz fuzz`` — batches of programs on every target, until a budget is spent.

A campaign is its configuration (targets, reference, grammar, level, seed, batch size, swarm): the
same command on the same database is the same campaign, and running it again resumes it. Batch
``i`` is fully determined by the configuration and ``i`` (its seed, its swarm subset of grammar
features), so a campaign is the set of batch indices already recorded and nothing else needs saving.

Data flow, with one writer::

    driver ──(config, index)──▶ executor process: generate → run reference and targets → compare
                                   → re-run each new bucket's smallest program (confirm)
           ◀── batch result ───
    driver: record batch + findings in one transaction ─▶ crashes/<target>/<signature>.py
           ──(finding)──▶ executor process: shrink (same signature) ──▶ driver: record, rewrite file

A finding is in the database and in ``crashes/`` as soon as its batch comes back confirmed, before
it is shrunk; a finding whose shrinking was cut short is shrunk again on resume. A killed campaign
loses at most its batches in flight: they were not recorded, so they run again.
"""

from __future__ import annotations

import atexit
import concurrent.futures as cf
import hashlib
import itertools
import multiprocessing.util
import random
import re
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from tinyfuzz.coverage import choice_alternatives
from tinyfuzz.errors import InvalidArgument, TinyfuzzError
from tinyfuzz.findings import Finding, save_finding
from tinyfuzz.oracle import Difference, compare
from tinyfuzz.sampler import DEFAULT_MAX_SIZE, Sampler
from tinyfuzz.store import Store, outcome_from
from tinyfuzz.targets import Target, load_target
from tinyfuzz.worker import Outcome

SWARM_SUBSETS = 64  # swarm subsets per campaign: each process compiles each subset's grammar once
SHRINK_TESTS = 400  # interestingness tests per finding at most
SHRINK_SECONDS = 120.0  # and this long: a hang costs a timeout per test
SHRINK_GRACE = (60.0, 0.05)  # shrinking goes on after the budget for max(60 s, 5% of the time spent)


@dataclass(frozen=True)
class CampaignConfig:
    """What makes a campaign: the same values, the same campaign (and the same programs)."""

    targets: tuple  # target specs: bundled names or .toml paths
    reference: str = "cpython"
    grammar: str = "python"
    level: str | None = None
    seed: int = 0
    batch_size: int = 200
    swarm: bool = True
    max_size: int = DEFAULT_MAX_SIZE
    coverage_guided: bool = False  # prefer alternatives the campaign has not used yet
    corpus: str | None = None  # a corpus store: its programs are mutated, the findings added
    mutate: float = 0.0  # the share of each batch made that way (mutate.py), the rest generated

    def __post_init__(self):
        if not 0.0 <= self.mutate <= 1.0:
            raise InvalidArgument(f"--mutate {self.mutate}: a share of each batch, from 0 to 1")
        if self.mutate and not self.corpus:
            raise InvalidArgument(f"--mutate {self.mutate}: needs --corpus DB, the programs to mutate")

    def as_dict(self) -> dict:
        config = {"targets": list(self.targets), "reference": self.reference,
                  "grammar": self.grammar, "level": self.level, "seed": self.seed,
                  "batch_size": self.batch_size, "swarm": self.swarm, "max_size": self.max_size,
                  "coverage_guided": self.coverage_guided}
        if self.mutate:  # only then: campaigns recorded before these keys keep their identity
            config.update(corpus=self.corpus, mutate=self.mutate)
        return config


@dataclass(frozen=True)
class Budget:
    seconds: float | None = None
    programs: int | None = None

    def __str__(self) -> str:
        return f"{self.programs} programs" if self.programs is not None else f"{self.seconds:g} s"


_TIME_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_budget(text: str) -> Budget:
    """``8h``, ``90m``, ``30s``, ``2d``: active time; ``50000`` or ``50k``: programs."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhdk]?)\s*", text)
    if not match or (match.group(2) in ("", "k") and "." in match.group(1)):
        raise InvalidArgument(f"--budget {text!r}: use a time (30s, 90m, 8h, 2d) or a number of "
                              "programs (50000, 50k)")
    number, unit = match.groups()
    if unit in _TIME_UNITS:
        return Budget(seconds=float(number) * _TIME_UNITS[unit])
    return Budget(programs=int(number) * (1000 if unit == "k" else 1))


# ---- inside an executor process ------------------------------------------------------------------


def batch_seed(seed: int, index: int) -> int:
    """63 bits: a signed 64-bit column holds it on every database."""
    digest = hashlib.blake2b(f"{seed}:{index}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") >> 1


class BatchRunner:
    """Lives in an executor process: warm target pools and compiled grammars kept across batches."""

    def __init__(self, config: dict):
        self.config = config
        self.reference = load_target(config["reference"])
        self.targets = {spec: load_target(spec) for spec in config["targets"]}
        self.python_version = self.python_version_of(self.targets, self.reference)
        self.pools: dict = {}
        self.samplers: dict = {}
        self._parents = None

    @staticmethod
    def python_version_of(targets: dict, reference: Target) -> tuple | None:
        """The oldest Python version among the targets: programs must be valid on every one."""
        versions = [t.python_version for t in [reference, *targets.values()] if t.python_version]
        return min(versions) if versions else None

    def run(self, target: Target, sources: list[str]) -> list[Outcome]:
        pool = self.pools.get(target.path)
        if pool is None:
            pool = self.pools[target.path] = target.pool(1)
        return next(pool.map(iter([sources])))

    def difference(self, target: Target, source: str) -> Difference | None:
        expected, observed = self.run(self.reference, [source])[0], self.run(target, [source])[0]
        return compare(expected, observed, target)

    def sampler(self, excluded: tuple) -> Sampler:
        sampler = self.samplers.get(excluded)
        if sampler is None:
            sampler = self.samplers[excluded] = Sampler(
                self.config["grammar"], level=self.config["level"], exclude_features=excluded,
                max_size=self.config["max_size"], python_version=self.python_version, guided=True)
        return sampler

    def parents(self):
        """The corpus's programs as parents for mutation and crossover (``Corpus.parents``)."""
        if self._parents is None:
            from tinyfuzz.corpus import Corpus
            from tinyfuzz.mutate import DEFAULT_MAX_SIZE as MUTATION_SIZE, MAX_PARENTS, Mutator, Parents

            mutator = Mutator(self.config["grammar"], level=self.config["level"],
                              max_size=max(MUTATION_SIZE, self.config["max_size"]),
                              python_version=self.python_version)
            corpus = Corpus(self.config["corpus"], existing=True)
            try:
                self._parents = Parents(mutator, *corpus.parents(
                    mutator.grammar.name, limit=MAX_PARENTS, seed=self.config["seed"]))
            finally:
                corpus.close()
        return self._parents

    def offspring(self, seed: int, count: int) -> list:
        """Up to ``count`` programs mutated or crossed over from the corpus (fewer when it has
        few programs the grammar derives)."""
        parents = self.parents()
        parents.mutator.random.seed(seed)
        mutants = (parents.offspring() for _ in range(count))
        return [mutant.program for mutant in mutants if mutant is not None]

    def swarm_subset(self, index: int) -> tuple:
        """The features batch ``index`` leaves out: each out with probability 1/2 (swarm testing),
        from one of SWARM_SUBSETS subsets; none when swarm is off or the subset cannot derive."""
        if not self.config["swarm"]:
            return ()
        features = self.sampler(()).compiled.semantics.feature_names()
        choice = random.Random(f"{self.config['seed']}:swarm:{index % SWARM_SUBSETS}")
        excluded = tuple(f for f in features if choice.random() < 0.5)
        try:
            self.sampler(excluded)
        except InvalidArgument:  # e.g. every way to a statement excluded
            return ()
        return excluded

    def batch(self, index: int, count: int, unused: frozenset = frozenset()) -> dict:
        """Batch ``index``: ``unused`` are the (rule, alternative) pairs the campaign has not used
        yet (the batch reports which it used; coverage-guided, it prefers them)."""
        started = time.perf_counter()
        excluded = self.swarm_subset(index)
        seed = batch_seed(self.config["seed"], index)
        sampler = self.sampler(excluded)
        sampler.reseed(seed)
        if self.config.get("coverage_guided") and unused:
            sampler.guide = prefer_unused(sampler.compiled, unused, sampler.random)
        mutants = self.offspring(seed, round(count * self.config["mutate"])) \
            if self.config.get("mutate") else []
        mutated = len(mutants)  # the rest of the batch is generated
        programs = [sampler.draw() for _ in range(count - mutated)] + mutants
        sources = [program.source for program in programs]
        expected = self.run(self.reference, sources)
        outcomes = {self.reference.name: Counter(o.status for o in expected)}
        buckets: dict = {}  # (spec, signature) -> [Difference, source, hits]
        known: dict = {}  # (target name, known ids) -> [Difference, source, hits]
        known_programs = set()
        for spec, target in self.targets.items():
            observed = self.run(target, sources)
            outcomes[target.name] = Counter(o.status for o in observed)
            for source, exp, obs in zip(sources, expected, observed):
                difference = compare(exp, obs, target)
                if difference is None:
                    continue
                key, table = ((spec, difference.signature), buckets) if difference.is_bug \
                    else ((target.name, difference.known), known)
                if not difference.is_bug:
                    known_programs.add(source)
                entry = table.get(key)
                if entry is None:
                    table[key] = [difference, source, 1]
                else:
                    entry[2] += 1
                    if len(source) < len(entry[1]):
                        entry[0], entry[1] = difference, source
        findings, flaky = [], 0
        for (spec, signature), (difference, source, hits) in buckets.items():
            again = self.difference(self.targets[spec], source)  # confirm: a second run agrees
            if again is None or again.signature != signature:
                flaky += hits
                continue
            findings.append({"target": difference.target, "target_spec": spec,
                             "reference": self.reference.name, "kind": difference.kind,
                             "signature": signature, "source": source,
                             "expected": difference.expected, "observed": difference.observed,
                             "hits": hits})
        features = Counter(f for program in programs for f in program.features)
        used = frozenset().union(*(program.coverage for program in programs))
        return {
            "batch": {"index": index, "seed": seed, "excluded": list(excluded), "programs": count,
                      "seconds": time.perf_counter() - started,
                      "outcomes": {name: dict(c) for name, c in outcomes.items()},
                      "features": dict(features), "bugs": sum(f["hits"] for f in findings),
                      "covered": sorted(map(list, unused & used)),
                      "known": len(known_programs), "flaky": flaky, "mutated": mutated},
            "findings": findings,
            "known": [{"target": name, "known": ids, "kind": d.kind, "source": source,
                       "expected": d.expected, "observed": d.observed, "hits": hits}
                      for (name, ids), (d, source, hits) in known.items()],
        }

    def shrink(self, spec: str, source: str, signature: str, max_tests: int) -> dict | None:
        """The smallest program with the same signature (None: it no longer reproduces)."""
        from tinyfuzz.shrink import reduce

        target = self.targets[spec]
        deadline = time.monotonic() + SHRINK_SECONDS

        def same_signature(candidate: str) -> bool:
            if time.monotonic() > deadline:  # out of time: the reducer ends with its best so far
                return False
            difference = self.difference(target, candidate)
            return difference is not None and difference.signature == signature

        try:
            result = reduce(source, same_signature, max_tests=max_tests)
        except InvalidArgument:
            return None
        expected = self.run(self.reference, [result.source])[0]
        return {"source": result.source, "expected": expected,
                "observed": self.run(target, [result.source])[0], "tests": result.tests_run}

    def close(self) -> None:
        for pool in self.pools.values():
            pool.close()
        self.pools.clear()


_RUNNERS: dict = {}
_RUNNERS_LOCK = threading.RLock()  # Dask may run tasks on several threads; RLock: see executor._leave


def _runner_for(config: dict) -> BatchRunner:
    key = (threading.get_ident(), repr(sorted(config.items())))
    with _RUNNERS_LOCK:
        runner = _RUNNERS.get(key)
        if runner is None:
            runner = _RUNNERS[key] = BatchRunner(config)
            # reap the pools when this process ends (see executor.py)
            multiprocessing.util.Finalize(runner, runner.close, exitpriority=10)
            atexit.register(runner.close)
    return runner


def close_runners() -> None:
    with _RUNNERS_LOCK:
        for runner in _RUNNERS.values():
            runner.close()


def run_batch(config: dict, index: int, count: int, unused: frozenset = frozenset()) -> dict:
    return _runner_for(config).batch(index, count, unused)


def prefer_unused(compiled, unused: frozenset, rand):
    """A guide taking an alternative in ``unused`` wherever one is allowed, else any."""
    names, original = compiled.names, compiled.original_alternative

    def guide(i: int, options) -> int:
        fresh = [k for k in options if (names[i], original(i, k)) in unused]
        choices = fresh or options
        return choices[int(rand() * len(choices))]
    return guide


def shrink_finding(config: dict, spec: str, source: str, signature: str,
                   max_tests: int = SHRINK_TESTS) -> dict | None:
    return _runner_for(config).shrink(spec, source, signature, max_tests)


# ---- the driver ------------------------------------------------------------------------------------


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

    def _record_batch(self, result: dict) -> list:
        status = self.status
        new = self.store.record_batch(self.row.id, result["batch"], result["findings"],
                                      result["known"], status.active_seconds)
        batch = result["batch"]
        status.batches += 1
        status.programs += batch["programs"]
        status.session_programs += batch["programs"]
        status.recent.append((time.monotonic(), status.session_programs))
        status.flaky += batch["flaky"]
        status.mutated += batch["mutated"]
        status.covered.update(map(tuple, batch["covered"]))
        for name, counts in batch["outcomes"].items():
            status.outcomes.setdefault(name, Counter()).update(counts)
        for item in result["known"]:
            status.known[(item["target"], item["known"])] += item["hits"]
        for item in result["findings"]:
            bucket = status.buckets.get((item["target"], item["signature"]))
            if bucket is not None:
                bucket.hits += item["hits"]
        for row in new:
            self._save(row, row.source)
        return new

    def _save(self, row, source: str, expected=None, observed=None) -> None:
        """Write a finding's crash file (kept if a smaller one is there) and show its bucket."""
        finding = Finding(row.target, row.target_spec, row.kind, row.signature, source,
                          expected or outcome_from(row.expected), observed or outcome_from(row.observed),
                          row.reference)
        path = save_finding(self.crashes, finding)
        key = (row.target, row.signature)
        bucket = self.status.buckets.get(key)
        if bucket is None:
            bucket = self.status.buckets[key] = Bucket(row.target, row.kind, row.signature,
                                                       row.hits, 0, row.shrunk)
        bucket.size = len(source.strip().splitlines())
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

    def _shrink_result(self, row, future) -> dict | None:
        """A shrink's result; a reducer that fails leaves the finding as found, and says so,
        rather than end a night's campaign."""
        try:
            return future.result()
        except Exception as error:  # noqa: BLE001 - shown in the summary, the finding is kept
            self.status.shrink_errors.append(f"{row.target} {row.signature}: "
                                             f"{type(error).__name__}: {error}")
            return None

    def _record_shrunk(self, row, result: dict | None) -> None:
        self.status.shrinking -= 1
        if result is None:  # no longer reproduces on its own: keep it as found
            self.store.record_shrunk(row.id, row.source, outcome_from(row.expected),
                                     outcome_from(row.observed))
        else:
            self.store.record_shrunk(row.id, result["source"], result["expected"], result["observed"])
            self._save(row, result["source"], result["expected"], result["observed"])
        self.status.buckets[(row.target, row.signature)].shrunk = True

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
        for row in self.store.findings(self.row.id):
            self._save(row, row.source)
            if not row.shrunk:
                self.to_shrink.append(row)
                status.shrinking += 1
        return done

    def _budget_left(self, programs_submitted: int) -> int:
        """Programs that may still be submitted (0: the budget is spent)."""
        if self.budget.programs is not None:
            return max(self.budget.programs - programs_submitted, 0)
        return self.config.batch_size if self.status.active_seconds < self.budget.seconds else 0

    def run(self) -> CampaignStatus:
        from tinyfuzz.executor import LocalExecutor

        own_executor = self.executor is None
        if own_executor:
            self.executor = LocalExecutor(self.workers)
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
            from tinyfuzz.corpus import Corpus

            corpus = Corpus(self.config.corpus)
            corpus.add_findings(self.db)
            corpus.close()
        status.in_flight = 0
        self.on_update(status)
        return status
