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

import os
import time
from dataclasses import dataclass
from typing import Callable, Sequence

from tinyfuzz.errors import InvalidArgument
from tinyfuzz.execution.oracle import Difference, compare
from tinyfuzz.execution.targets import Target, load_target
from tinyfuzz.execution.worker import Outcome

REFERENCE, TARGET = "reference", "target"  # the two sides of a pair: never one worker for both


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
        return compare(*self.outcomes(source), self.target)

    def observe(self, sources: Sequence[str], expected: Sequence[Outcome] | None = None
                ) -> tuple[list[Outcome], list[Difference | None]]:
        """The target's outcomes of ``sources`` and, per program, how it differs from the
        reference (None: it agrees). ``expected`` may be given when the reference already ran
        them (one reference run serves every target of a batch)."""
        expected = self.expected(sources) if expected is None else expected
        observed = self.observed(sources)
        return observed, [compare(e, o, self.target) for e, o in zip(expected, observed)]

    def holds(self, signature: str, deadline: float | None = None) -> Callable[[str], bool]:
        """The interestingness test of a reduction: the program still differs with ``signature``
        (False once ``time.monotonic()`` passes ``deadline``: the reducer keeps its best so far)."""
        def same_signature(candidate: str) -> bool:
            if deadline is not None and time.monotonic() > deadline:
                return False
            difference = self.difference(candidate)
            return difference is not None and difference.signature == signature
        return same_signature

    def shrink(self, source: str, signature: str | None = None, *, max_tests: int | None = None,
               seconds: float | None = None) -> Shrunk:
        """The smallest program that differs like ``source`` (with ``signature``; by default the
        signature ``source`` shows now). Raises ``InvalidArgument`` when ``source`` does not differ
        that way (any more) in a way the target's documented differences leave unexplained."""
        from tinyfuzz.execution.shrink import reduce

        if signature is None:
            first = self.difference(source)
            if first is None or not first.is_bug:
                raise InvalidArgument(f"{self.target.name} does not differ from {self.reference.name}"
                                      " on it in an undocumented way: nothing to shrink")
            signature = first.signature
        deadline = None if seconds is None else time.monotonic() + seconds
        result = reduce(source, self.holds(signature, deadline), max_tests=max_tests)
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
