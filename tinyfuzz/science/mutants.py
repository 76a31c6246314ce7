"""Mutation analysis: how much of Python a set of programs reaches, as the share of semantic mutants
(CPython with one deliberate fault each, ``_mutants_*.py``) that some program tells apart.

A mutant is **killed** when some program's outcome under it differs from its outcome on CPython:
another stdout, or another uncaught exception type (an exception instead of none counts). A
program is a fair yardstick only when CPython itself is: each runs twice on CPython, with two hash
seeds and in two orders (so what a program leaves behind in a warm worker meets other neighbours),
and a program whose outcomes differ (nondeterministic), that does not finish cleanly (time out,
crash, memory or output limit) or that takes more than a quarter of the time limit (a slower
mutant could time out on it) is excluded.

The kept programs then run under each mutant in warm workers (``_mutant_runner.py MUTANT_ID``),
a batch at a time, one worker per core: a mutant's remaining batches are skipped once it is
killed, and an idle core starts the next mutant, or joins one still running when none is left.
Programs run shortest first, so the first killing batch holds the smallest killer. A mutant's
timeouts and crashes are not kills: a rewritten program may just be slower.

A program a mutant cannot reach is not run under it (that is most of what a scoring run would
spend). Its transform cannot change a program whose tree holds none of the words of the
transform's ``reach`` class attribute (node type names, names and attribute names: ``{"FloorDiv"}``
for a fault of ``//``) or, without one, none of the node types it has ``visit_X`` methods for (a
transform that overrides only those changes nothing else). Its prelude cannot change a program
that never names what the prelude binds, when binding names is all the prelude does (def, class,
import, assignment, or ``exec`` of a constant source into a namespace of its own, read the same
way) and the program looks nothing up dynamically (``globals()``, ``eval``...).
"""

from __future__ import annotations

import ast
import importlib
import os
import re
import selectors
import sys
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Sequence

from tinyfuzz.errors import InvalidArgument, TinyfuzzError
from tinyfuzz.execution.worker import Limits, Outcome, Worker, WorkerDied, WorkerPool
from tinyfuzz.science._mutant_api import SECTIONS, Mutant

RUNNER = str(Path(__file__).with_name("_mutant_runner.py"))
SUITE_MODULES = ("tinyfuzz.science._mutants_language", "tinyfuzz.science._mutants_library")
TRANSFORM_FAILED = "MutantTransformFailed"  # the runner's exception when a transform itself fails
HASH_SEEDS = ("1", "2")  # the reference runs once with each; mutants run with the first
COMPARABLE = ("ok", "exception")  # statuses whose stdout and exception type are an outcome
BATCH_SIZE = 200
_ID = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")


def load_suite() -> list[Mutant]:
    """Every mutant of the bundled suite files (one absent contributes nothing), checked."""
    mutants: list[Mutant] = []
    for name in SUITE_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as error:
            if error.name != name:
                raise
            continue
        mutants.extend(getattr(module, "MUTANTS", []))
    check_suite(mutants)
    return mutants


def check_suite(mutants: Sequence[Mutant]) -> None:
    """Raise TinyfuzzError naming the first mutant that is not well formed or not unique."""
    seen = set()
    for mutant in mutants:
        if not isinstance(mutant, Mutant):
            raise TinyfuzzError(f"mutant suite: {mutant!r} is not a Mutant")
        if not _ID.fullmatch(mutant.id):
            raise TinyfuzzError(f"mutant suite: id {mutant.id!r} is not kebab-case")
        if mutant.id in seen:
            raise TinyfuzzError(f"mutant suite: id {mutant.id!r} is used twice")
        seen.add(mutant.id)
        if not re.fullmatch(r"https://docs\.python\.org/3/\S+#\S+", mutant.reference):
            raise TinyfuzzError(f"mutant {mutant.id}: reference {mutant.reference!r} is not a "
                                "docs.python.org/3 URL with an anchor")
        if not mutant.fault.strip() or "\n" in mutant.fault:
            raise TinyfuzzError(f"mutant {mutant.id}: the fault must be one line")


@dataclass(frozen=True)
class MutantResult:
    mutant: Mutant
    killed: bool
    killer: str | None = None  # the smallest program that killed it
    expected: Outcome | None = None  # the killer's outcome on CPython
    observed: Outcome | None = None  # and under the mutant
    programs_reached: int = 0  # programs that could show its fault (see the module's docstring)
    programs_run: int = 0
    unfinished: int = 0  # programs that timed out or crashed under it (not kills)
    transform_failures: int = 0  # programs its transform failed on (a fault of the suite)


@dataclass
class MutationScore:
    results: list[MutantResult]
    programs_used: int
    excluded: Counter = field(default_factory=Counter)  # why -> programs
    seconds: float = 0.0

    @property
    def killed(self) -> int:
        return sum(result.killed for result in self.results)

    @property
    def kill_ratio(self) -> float:
        return self.killed / len(self.results) if self.results else 0.0

    @property
    def survivors(self) -> list[Mutant]:
        return [result.mutant for result in self.results if not result.killed]

    def sections(self) -> dict[str, tuple[int, int]]:
        """{section: (killed, total)}, in the order of SECTIONS, sections without mutants left out."""
        counts = {section: [0, 0] for section in SECTIONS}
        for result in self.results:
            counts[result.mutant.section][0] += result.killed
            counts[result.mutant.section][1] += 1
        return {section: (killed, total) for section, (killed, total) in counts.items() if total}

    def to_json(self) -> dict:
        return {
            "killed": self.killed, "total": len(self.results), "kill_ratio": self.kill_ratio,
            "programs_used": self.programs_used, "excluded": dict(self.excluded),
            "seconds": self.seconds,
            "sections": {section: {"killed": killed, "total": total}
                         for section, (killed, total) in self.sections().items()},
            "mutants": [
                {"id": r.mutant.id, "section": r.mutant.section, "fault": r.mutant.fault,
                 "reference": r.mutant.reference, "killed": r.killed, "killer": r.killer,
                 "programs_reached": r.programs_reached, "programs_run": r.programs_run,
                 "unfinished": r.unfinished, "transform_failures": r.transform_failures}
                for r in self.results],
        }


def _key(outcome: Outcome) -> tuple:
    return outcome.status, outcome.stdout, outcome.exc_type


def _batches(programs: Sequence[str], size: int) -> Iterable[list[str]]:
    return (list(programs[start:start + size]) for start in range(0, len(programs), size))


def reference_outcomes(programs: Sequence[str], *, workers: int, limits: Limits = Limits(),
                       batch_size: int = BATCH_SIZE) -> tuple[dict[str, Outcome], Counter]:
    """({program: its CPython outcome} for the programs fit to judge a mutant by, {why: count} of
    those excluded); see the module's docstring."""
    runs = []
    for seed, order in zip(HASH_SEEDS, (programs, programs[::-1])):
        with WorkerPool(workers, limits=limits, env={"PYTHONHASHSEED": seed}) as pool:
            outcomes = [outcome for batch in pool.map(_batches(order, batch_size))
                        for outcome in batch]
        runs.append(dict(zip(order, outcomes)))
    first, second = runs
    kept, excluded = {}, Counter()
    for program in programs:
        one, other = first[program], second[program]
        if one.status not in COMPARABLE or other.status not in COMPARABLE:
            excluded["failed on CPython"] += 1
        elif _key(one) != _key(other):
            excluded["nondeterministic"] += 1
        elif max(one.seconds, other.seconds) > limits.timeout / 4:
            excluded["slow on CPython"] += 1
        else:
            kept[program] = one
    return kept, excluded


# Names through which a program can see what a prelude bound without naming it.
_DYNAMIC_NAMES = frozenset({"globals", "locals", "vars", "dir", "eval", "exec", "__builtins__"})
_VISITOR_BASES = (ast.NodeTransformer, ast.NodeVisitor, object)


def _transform_reach(transform) -> frozenset | None:
    """Words of which a program must hold one for ``transform`` to change it (None: any may)."""
    if transform is None:
        return frozenset()
    if getattr(transform, "reach", None):
        return frozenset(transform.reach)
    own = [cls for cls in transform.__mro__ if cls not in _VISITOR_BASES]
    if any("visit" in vars(cls) or "generic_visit" in vars(cls) for cls in own):
        return None
    return frozenset(name[len("visit_"):] for cls in own for name in vars(cls)
                     if name.startswith("visit_"))


def _bindings(statements: list) -> frozenset | None:
    """The names top-level ``statements`` bind, if binding names is all they do (else None)."""
    names: set = set()
    for statement in statements:
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(statement.name)
        elif isinstance(statement, (ast.Import, ast.ImportFrom)):
            if any(alias.name == "*" for alias in statement.names):
                return None
            names.update((alias.asname or alias.name).split(".")[0] for alias in statement.names)
        elif isinstance(statement, (ast.Assign, ast.AnnAssign, ast.Delete)):
            names.update(node.id for node in ast.walk(statement)
                         if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load))
        elif (isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call)
              and isinstance(statement.value.func, ast.Name) and statement.value.func.id == "exec"
              and len(statement.value.args) == 2
              and isinstance(statement.value.args[0], ast.Constant)
              and isinstance(statement.value.args[0].value, str)
              and isinstance(statement.value.args[1], ast.Name)):
            # exec(SOURCE, namespace): SOURCE binds in a namespace of its own; only its side
            # effects could reach the program
            if _bindings(ast.parse(statement.value.args[0].value).body) is None:
                return None
        else:
            return None
    return frozenset(names)


def _reach(mutant: Mutant) -> tuple[frozenset | None, frozenset | None]:
    """(words a program needs for its transform to change it, names its prelude binds); None:
    anything."""
    return (_transform_reach(mutant.transform),
            _bindings(ast.parse(mutant.prelude).body) if mutant.prelude else frozenset())


def _facts(program: str) -> tuple[frozenset, frozenset] | None:
    """(words: node type names, names and attribute names; names) of a program, None if it does
    not parse."""
    try:
        tree = ast.parse(program)
    except (SyntaxError, ValueError):
        return None
    words, names = set(), set()
    for node in ast.walk(tree):
        words.add(type(node).__name__)
        if isinstance(node, ast.Name):
            names.add(node.id)
        elif isinstance(node, ast.Attribute):
            words.add(node.attr)
    return frozenset(words | names), frozenset(names)


def _reaches(reach: tuple, facts: tuple | None) -> bool:
    transform_words, bound = reach
    if facts is None or transform_words is None or bound is None:
        return True
    words, names = facts
    return bool(transform_words & words) or bool(bound and (bound & names or _DYNAMIC_NAMES & names))


class _MutantRun:
    """One mutant's progress through the batches: which to send next, the smallest killer yet."""

    def __init__(self, mutant: Mutant, reached: list[int], batch_size: int):
        self.mutant = mutant
        self.reached = reached  # indexes of the programs it runs, in order
        self.batches = [reached[start:start + batch_size]
                        for start in range(0, len(reached), batch_size)]
        self.next_batch = 0
        self.in_flight = 0
        self.programs_run = 0
        self.killer: int | None = None  # index of the smallest killing program
        self.observed: Outcome | None = None
        self.unfinished = 0
        self.transform_failures = 0

    def has_work(self) -> bool:
        return self.killer is None and self.next_batch < len(self.batches)

    def batches_left(self) -> int:
        return len(self.batches) - self.next_batch

    def record(self, batch: list[int], outcomes: list[Outcome], expected: Sequence[Outcome]) -> None:
        self.in_flight -= 1
        self.programs_run += len(outcomes)
        for index, outcome in zip(batch, outcomes):
            if outcome.exc_type == TRANSFORM_FAILED:
                self.transform_failures += 1
            elif outcome.status not in COMPARABLE:
                self.unfinished += 1
            elif _key(outcome) != _key(expected[index]) and (self.killer is None or index < self.killer):
                self.killer, self.observed = index, outcome


def run_mutants(mutants: Sequence[Mutant], programs: Sequence[str], expected: Sequence[Outcome],
                *, workers: int, limits: Limits = Limits(), batch_size: int = BATCH_SIZE,
                on_result: Callable[[MutantResult], None] | None = None) -> list[MutantResult]:
    """Run ``programs`` (shortest first) under each mutant until one kills it; ``expected`` holds
    their CPython outcomes. ``on_result`` is called as each mutant is decided."""
    facts = [_facts(program) for program in programs]
    runs = []
    for mutant in mutants:
        reach = _reach(mutant)
        reached = [index for index, known in enumerate(facts) if _reaches(reach, known)]
        runs.append(_MutantRun(mutant, reached, batch_size))
    fresh = deque(runs)
    slots: list[tuple[Worker, _MutantRun] | None] = [None] * max(workers, 1)
    sent: dict[Worker, tuple[int, _MutantRun, list[int]]] = {}  # worker -> (slot, run, batch)
    decided: set = set()
    env = {"PYTHONHASHSEED": HASH_SEEDS[0]}

    def result(run: _MutantRun) -> MutantResult:
        killer = run.killer
        return MutantResult(run.mutant, killer is not None,
                            None if killer is None else programs[killer],
                            None if killer is None else expected[killer], run.observed,
                            len(run.reached), run.programs_run, run.unfinished, run.transform_failures)

    def next_run(current: _MutantRun | None) -> _MutantRun | None:
        if current is not None and current.has_work():
            return current
        while fresh and not fresh[0].has_work():
            fresh.popleft()
        if fresh:
            return fresh.popleft()
        started = [run for run in runs if run.has_work()]  # none left to start: help one along
        return max(started, key=_MutantRun.batches_left, default=None)

    def decide_finished() -> None:
        for run in runs:
            if run not in decided and not run.has_work() and not run.in_flight:
                decided.add(run)
                if on_result:
                    on_result(result(run))

    def start(slot: int, selector: selectors.BaseSelector) -> None:
        worker, current = slots[slot] or (None, None)
        run = next_run(current)
        if run is not current and worker is not None:
            worker.close()
            worker = None
        if run is None:
            slots[slot] = None
            return
        if worker is None:
            worker = Worker([sys.executable, "-s", RUNNER, run.mutant.id], limits, env)
        slots[slot] = worker, run
        batch = run.batches[run.next_batch]
        run.next_batch += 1
        run.in_flight += 1
        sources = [programs[index] for index in batch]
        try:
            worker.send(sources)
        except WorkerDied:
            worker.batch = sources
            run.record(batch, worker.recover(), expected)
            start(slot, selector)
            return
        sent[worker] = slot, run, batch
        selector.register(worker.proc.stdout, selectors.EVENT_READ, worker)

    try:
        with selectors.DefaultSelector() as selector:
            for slot in range(len(slots)):
                start(slot, selector)
            decide_finished()
            while sent:
                deadline = min(worker.deadline() for worker in sent)
                events = selector.select(max(deadline - time.monotonic(), 0))
                answered = {key.data for key, _ in events}
                now = time.monotonic()
                for worker in [w for w in sent if w in answered or w.deadline() <= now]:
                    slot, run, batch = sent[worker]
                    stream = worker.proc.stdout  # recover() replaces the process and its pipes
                    try:
                        if worker not in answered:
                            raise WorkerDied("hung")
                        outcomes = worker.receive()
                        if outcomes is None:
                            continue
                    except WorkerDied:
                        outcomes = worker.recover()
                    selector.unregister(stream)
                    del sent[worker]
                    run.record(batch, outcomes, expected)
                    start(slot, selector)
                decide_finished()
    finally:
        for slot in slots:
            if slot is not None:
                slot[0].close()
        for worker in sent:
            worker.close()
    return [result(run) for run in runs]


def score(programs: Iterable[str], *, workers: int | None = None,
          mutants: Sequence[Mutant] | None = None, limits: Limits = Limits(),
          batch_size: int = BATCH_SIZE,
          on_result: Callable[[MutantResult], None] | None = None) -> MutationScore:
    """Score ``programs`` against ``mutants`` (default: the bundled suite); see the module's
    docstring. ``workers``: processes at a time (default: one per core)."""
    started = time.monotonic()
    suite = load_suite() if mutants is None else list(mutants)
    workers = workers or os.cpu_count() or 1
    unique = sorted(set(programs), key=lambda program: (len(program), program))
    expected, excluded = reference_outcomes(unique, workers=workers, limits=limits,
                                            batch_size=batch_size)
    kept = [program for program in unique if program in expected]
    results = run_mutants(suite, kept, [expected[program] for program in kept], workers=workers,
                          limits=limits, batch_size=batch_size, on_result=on_result)
    return MutationScore(results, len(kept), excluded, time.monotonic() - started)


def sample_programs(grammar, count: int, *, seed: int = 0) -> list[str]:
    """``count`` programs drawn from ``grammar`` (a bundled name, a path or a Grammar), duplicates
    dropped."""
    from tinyfuzz.engine.sampler import Sampler

    if count < 1:
        raise InvalidArgument(f"count={count}: draw at least one program")
    sampler = Sampler(grammar, seed=seed)
    return list(dict.fromkeys(sampler.draw().source for _ in range(count)))


def score_grammar(grammar, count: int = 5000, *, seed: int = 0, **options) -> MutationScore:
    """Score ``count`` programs drawn from ``grammar``: how much of the language it reaches."""
    return score(sample_programs(grammar, count, seed=seed), **options)
