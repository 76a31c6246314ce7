"""The differential pair: a reference and a target in warm workers, compared, and reduced.

"Run this program on both, compare, and find the smallest program that differs the same way" is
what every consumer of the oracle asks: a campaign's batch runner, the pytest plugin's differential
test and crash replays, ``tinyfuzz run`` and ``tinyfuzz shrink``. They all ask it here.

``Pools`` keeps one warm worker per (side, target file) until it is closed. The reference and the
target get workers of their own even when they are the same implementation (``--target cpython``):
a program that breaks its worker's state must not change the other side's outcome. Several pairs
share one ``Pools`` (a campaign runs one reference against several targets).
"""

from __future__ import annotations

import ast
import os
import time
from dataclasses import dataclass
from typing import Callable, Sequence

from tinyfuzz.errors import InvalidArgument
from tinyfuzz.execution.oracle import Difference, compare
from tinyfuzz.execution.targets import Target, load_target
from tinyfuzz.execution.worker import Outcome

REFERENCE, TARGET = "reference", "target"  # the two sides of a pair: never one worker for both


def _statements(source: str) -> list[ast.stmt]:
    try:
        return ast.parse(source).body
    except (SyntaxError, ValueError):
        return []


def last_statement(source: str) -> str:
    """The kind of a program's last top-level statement (``For``, ``If``, ``Expr``...; '' when it
    does not parse): where a difference shows, once the program is cut there (``localize``)."""
    body = _statements(source)
    return type(body[-1]).__name__ if body else ""


# Statements that hold others: a difference that shows after one of them is its body's. Reduction
# may unwrap one (``if 1: print(a)`` to ``print(a)``) but never turn it into another.
COMPOUND = frozenset({"For", "AsyncFor", "While", "If", "Try", "TryStar", "With", "AsyncWith", "Match",
                      "FunctionDef", "AsyncFunctionDef", "ClassDef"})


def _shown_where(candidate: str, where: str) -> str:
    """Where a reduction candidate shows its difference: after its last statement when that is a
    compound one, else where the finding showed it (a simple statement stands in for any)."""
    last = last_statement(candidate)
    return last if last in COMPOUND else where


def _same(expected: Outcome, observed: Outcome) -> bool:
    """Identical outcomes (but the time): no difference, and no need to parse the program for one
    (a python-grammar program takes about 1 ms to parse, more than it takes to run)."""
    return (expected.status, expected.stdout, expected.exc_type, expected.exc_message) == \
        (observed.status, observed.stdout, observed.exc_type, observed.exc_message)


def cuts(source: str) -> list[str]:
    """The program cut after each of its top-level statements that ends a line, in order."""
    body = _statements(source)
    lines = source.splitlines(keepends=True)
    ends = [stmt.end_lineno for stmt, after in zip(body, body[1:] + [None])
            if after is None or after.lineno > stmt.end_lineno]
    return ["".join(lines[:end]) for end in ends] or [source]


class Pools:
    """Warm workers, one per (side, target file), reaped by ``close`` (or at the end of ``with``)."""

    def __init__(self):
        self._pools: dict = {}

    def run(self, target: Target, sources: Sequence[str], side: str = TARGET) -> list[Outcome]:
        """The outcomes of ``sources`` on ``target``, in order, in its warm worker for ``side``."""
        key = (side, target.path or target.name)
        pool = self._pools.get(key)
        if pool is None:
            pool = self._pools[key] = target.pool(1)
        return pool.run(sources)

    def close(self) -> None:
        for pool in self._pools.values():
            pool.close()
        self._pools.clear()

    def __enter__(self) -> Pools:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


@dataclass(frozen=True)
class Shrunk:
    """A finding's smallest program, with both sides' outcomes on it."""

    source: str
    expected: Outcome
    observed: Outcome
    tests: int  # interestingness tests the reducer ran
    cause: str = ""  # the shape of its cause (``DifferentialPair.cause``) when asked for


class DifferentialPair:
    """A reference and a target: outcomes, differences, and reduction while a signature holds."""

    def __init__(self, reference: Target, target: Target, pools: Pools | None = None):
        self.reference, self.target = reference, target
        self._own_pools = pools is None
        self.pools = Pools() if pools is None else pools

    def expected(self, sources: Sequence[str]) -> list[Outcome]:
        return self.pools.run(self.reference, sources, REFERENCE)

    def observed(self, sources: Sequence[str]) -> list[Outcome]:
        return self.pools.run(self.target, sources, TARGET)

    def outcomes(self, source: str) -> tuple[Outcome, Outcome]:
        """(expected, observed) of one program."""
        return self.expected([source])[0], self.observed([source])[0]

    def difference(self, source: str) -> Difference | None:
        return self._compare(source, *self.outcomes(source))

    def _compare(self, source: str, expected: Outcome, observed: Outcome) -> Difference | None:
        """``compare`` with the kind of ``source``'s last statement as where it shows."""
        if _same(expected, observed):
            return None
        return compare(expected, observed, self.target, last_statement(source))

    def observe(self, sources: Sequence[str], expected: Sequence[Outcome] | None = None
                ) -> tuple[list[Outcome], list[Difference | None]]:
        """The target's outcomes of ``sources`` and, per program, how it differs from the
        reference (None: it agrees). ``expected`` may be given when the reference already ran
        them (one reference run serves every target of a batch)."""
        expected = self.expected(sources) if expected is None else expected
        observed = self.observed(sources)
        return observed, [self._compare(source, e, o)
                          for source, e, o in zip(sources, expected, observed)]

    def localize(self, sources: Sequence[str], differences: Sequence[Difference]
                 ) -> list[tuple[str, Difference | None]]:
        """Each program that differs as a bug, cut after the first top-level statement at which it
        already does, with the difference there (None: it no longer differs as a bug). Its
        signature then depends on neither what follows nor how far the program got before: a
        cause's signature is its own, whatever program shows it. A binary search over the cuts,
        each step one run of every program's next cut on both sides; a hang is left whole (each
        try would cost a timeout)."""
        located: list = list(zip(sources, differences))
        searches = {}  # index -> [cuts, agrees at cut lo, differs at cut hi, difference at hi]
        for i, (source, difference) in enumerate(located):
            if difference is not None and difference.is_bug and difference.kind != "hang":
                pieces = cuts(source)
                known = difference if pieces[-1] == source else None  # else: run the last cut
                searches[i] = [pieces, -1, len(pieces) - 1, known]
        while True:
            steps = {i: hi if found is None else (lo + hi) // 2
                     for i, (_, lo, hi, found) in searches.items() if found is None or hi - lo > 1}
            if not steps:
                break
            probes = [searches[i][0][step] for i, step in steps.items()]
            for (i, step), probe, e, o in zip(steps.items(), probes, self.expected(probes),
                                              self.observed(probes)):
                difference = self._compare(probe, e, o)
                search = searches[i]
                if difference is not None and difference.is_bug:
                    search[2], search[3] = step, difference
                elif search[3] is None:  # the whole program no longer differs: flaky
                    located[i] = (located[i][0], None)
                    del searches[i]
                else:
                    search[1] = step
        for i, (pieces, _, hi, difference) in searches.items():
            located[i] = (pieces[hi], difference)
        return located

    def holds(self, signature: str, where: str = "", deadline: float | None = None
              ) -> Callable[[str], bool]:
        """The interestingness test of a reduction: the program still differs with ``signature``,
        undocumented, which it showed after a ``where`` statement; a candidate ending in a simple
        statement counts as showing it there too (see ``COMPOUND``). False once
        ``time.monotonic()`` passes ``deadline``: the reducer keeps its best so far."""
        def same_signature(candidate: str) -> bool:
            if deadline is not None and time.monotonic() > deadline:
                return False
            difference = compare(*self.outcomes(candidate), self.target, _shown_where(candidate, where))
            # a documented difference never holds: a bug must not be reduced into one
            return difference is not None and difference.is_bug and difference.signature == signature
        return same_signature

    def cause(self, source: str, *, max_tests: int | None = None) -> str:
        """The shape (``findings.program_shape``) of ``source`` reduced further while it only
        differs the same way in outline: same kind, same exception types, after the same kind of
        statement, whatever the output's change looks like. A finding is shrunk keeping its exact
        signature (its file shows its own difference); this names its cause, so that buckets of one
        cause merge: one loop too many printing ``0.5`` or ``0``, an ``if`` taken wrongly with an
        ``else`` or without, give one shape."""
        from tinyfuzz.execution.findings import program_shape
        from tinyfuzz.execution.shrink import reduce

        def outline(difference: Difference) -> tuple:
            e, o = difference.expected, difference.observed
            return difference.kind, e.status, e.exc_type, o.status, o.exc_type

        where = last_statement(source)
        first = self.difference(source)
        if first is None or not first.is_bug:
            return program_shape(source)
        wanted = outline(first)

        def same_outline(candidate: str) -> bool:
            if _shown_where(candidate, where) != where:  # no other compound statement
                return False
            difference = compare(*self.outcomes(candidate), self.target)
            return difference is not None and difference.is_bug and outline(difference) == wanted
        return program_shape(reduce(source, same_outline, max_tests=max_tests).source)

    def shrink(self, source: str, signature: str | None = None, *, max_tests: int | None = None,
               seconds: float | None = None) -> Shrunk:
        """The smallest program that differs like ``source`` (with ``signature``; by default the
        signature ``source`` shows now). Raises ``InvalidArgument`` when ``source`` does not differ
        that way (any more) in a way the target's documented differences leave unexplained."""
        from tinyfuzz.execution.shrink import reduce

        if signature is None:
            source, first = self.localize([source], [self.difference(source)])[0]
            if first is None or not first.is_bug:
                raise InvalidArgument(f"{self.target.name} does not differ from {self.reference.name}"
                                      " on it in an undocumented way: nothing to shrink")
            signature = first.signature
        deadline = None if seconds is None else time.monotonic() + seconds
        result = reduce(source, self.holds(signature, last_statement(source), deadline),
                        max_tests=max_tests)
        return Shrunk(result.source, *self.outcomes(result.source), result.tests_run)

    def close(self) -> None:
        """Reap the workers, when this pair made its own ``Pools``."""
        if self._own_pools:
            self.pools.close()

    def __enter__(self) -> DifferentialPair:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def run_on_reference(sources: list[str], reference: str = "cpython", workers: int | None = None,
                     batch: int = 50) -> list[Outcome]:
    """Run each program on the reference in warm worker processes; outcomes in input order (for
    labelling many programs at once: several workers, batches of ``batch``)."""
    if not sources:
        return []
    target = load_target(reference)
    size = workers or max(1, min(os.cpu_count() or 1, len(sources) // batch + 1))
    batches = [list(sources[i:i + batch]) for i in range(0, len(sources), batch)]
    with target.pool(size) as pool:
        return [outcome for outcomes in pool.map(iter(batches)) for outcome in outcomes]
