"""The batch runner: what runs inside an executor process.

It keeps warm target pools and compiled (swarm) grammars across batches, one ``BatchRunner`` per
configuration and thread; ``run_batch`` and ``shrink_finding`` are the module-level functions an
executor is given (picklable). A batch: generate (or mutate from the corpus), run on the reference
and every target, compare, and confirm each new bucket by running its smallest program again;
the driver (``driver.py``, whose docstring draws the data flow) records what comes back.
"""

from __future__ import annotations

import atexit
import hashlib
import multiprocessing.util
import random
import threading
import time
from collections import Counter
from dataclasses import replace

from tinyfuzz.corpus.store import BatchRecord, BatchResult
from tinyfuzz.engine.guides import prefer_unused
from tinyfuzz.engine.sampler import Sampler
from tinyfuzz.errors import InvalidArgument
from tinyfuzz.execution.findings import DocumentedDifference, Finding
from tinyfuzz.execution.pair import REFERENCE, DifferentialPair, Pools, Shrunk
from tinyfuzz.execution.targets import Target, load_target

SWARM_SUBSETS = 64  # swarm subsets per campaign: each process compiles each subset's grammar once
SHRINK_TESTS = 400  # interestingness tests per finding at most
SHRINK_SECONDS = 120.0  # and this long: a hang costs a timeout per test


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
        self.pools = Pools()  # one reference worker serves every target's pair
        self.pairs = {spec: DifferentialPair(self.reference, target, self.pools)
                      for spec, target in self.targets.items()}
        self.samplers: dict = {}
        self._parents = None

    @staticmethod
    def python_version_of(targets: dict, reference: Target) -> tuple | None:
        """The oldest Python version among the targets: programs must be valid on every one."""
        versions = [t.python_version for t in [reference, *targets.values()] if t.python_version]
        return min(versions) if versions else None

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
            from tinyfuzz.corpus.corpus import Corpus
            from tinyfuzz.engine.mutate import DEFAULT_MAX_SIZE as MUTATION_SIZE
            from tinyfuzz.engine.mutate import MAX_PARENTS, Mutator, Parents

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

    def batch(self, index: int, count: int, unused: frozenset = frozenset()) -> BatchResult:
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
        expected = self.pools.run(self.reference, sources, REFERENCE)  # once for every target
        outcomes = {self.reference.name: Counter(o.status for o in expected)}
        buckets: dict = {}  # (spec, signature) -> smallest Finding so far (hits counted)
        known: dict = {}  # (target name, known ids) -> smallest DocumentedDifference so far
        known_programs = set()
        for spec, pair in self.pairs.items():
            observed, differences = pair.observe(sources, expected)
            outcomes[pair.target.name] = Counter(o.status for o in observed)
            # A bug's program is cut where it first differs: its bucket is its cause's.
            for source, difference in pair.localize(sources, differences):
                if difference is None:
                    continue
                if difference.is_bug:
                    key, table = (spec, difference.signature), buckets
                    found = Finding.of(difference, source, spec, self.reference.name)
                else:
                    key, table = (pair.target.name, difference.known), known
                    found = DocumentedDifference.of(difference, source)
                    known_programs.add(source)
                table[key] = found.merged_with(table.get(key))
        findings, flaky = [], 0
        for (spec, signature), finding in buckets.items():
            again = self.pairs[spec].difference(finding.source)  # confirm: a second run agrees
            if again is None or again.signature != signature:
                flaky += finding.hits
                continue
            findings.append(finding)
        features = Counter(f for program in programs for f in program.features)
        used = frozenset().union(*(program.coverage for program in programs))
        record = BatchRecord(
            index=index, seed=seed, excluded=excluded, programs=count,
            seconds=time.perf_counter() - started,
            outcomes={name: dict(c) for name, c in outcomes.items()}, features=dict(features),
            bugs=sum(f.hits for f in findings), covered=tuple(sorted(unused & used)),
            known=len(known_programs), flaky=flaky, mutated=mutated)
        return BatchResult(record, tuple(findings), tuple(known.values()))

    def shrink(self, spec: str, source: str, signature: str, max_tests: int) -> Shrunk | None:
        """The smallest program with the same signature, and the shape of its cause (None: it no
        longer reproduces)."""
        pair = self.pairs[spec]
        try:
            shrunk = pair.shrink(source, signature, max_tests=max_tests, seconds=SHRINK_SECONDS)
        except InvalidArgument:
            return None
        return replace(shrunk, cause=pair.cause(shrunk.source, max_tests=max_tests))

    def close(self) -> None:
        self.pools.close()


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


def run_batch(config: dict, index: int, count: int,
              unused: frozenset = frozenset()) -> BatchResult:
    return _runner_for(config).batch(index, count, unused)


def shrink_finding(config: dict, spec: str, source: str, signature: str,
                   max_tests: int = SHRINK_TESTS) -> Shrunk | None:
    return _runner_for(config).shrink(spec, source, signature, max_tests)
