"""Datasets of programs with their outputs: the TinyPy Generator's job, reproducible and fast.

Data flow: the sampler draws programs in one seeded sequence in this process; duplicates are dropped
by a 64-bit content hash; unique programs go in batches to warm workers (never run here); results come
back in order, and programs that ran cleanly are written until ``n`` are. A program that raised is
redrawn and counted. The order never depends on timing, so the same seed gives a byte-identical file
whatever the number of workers. The file is written under a temporary name and renamed when complete
(or to standard output, for ``-``). A grammar that stops making new programs before ``n`` (its draws
all duplicates for a long run) is an error, not an endless loop.
"""

from __future__ import annotations

import sys
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from tinyfuzz._internal.files import output_file, output_name
from tinyfuzz._internal.hashing import HashSet64, content_hash
from tinyfuzz.corpus.formats import FORMATS, format_record
from tinyfuzz.engine.derivation import Program
from tinyfuzz.engine.sampler import DEFAULT_MAX_SIZE, Sampler
from tinyfuzz.errors import InvalidArgument
from tinyfuzz.execution.worker import Limits, WorkerPool

# Duplicates in a row that mean the grammar has no new programs left: this many, or as many as the
# distinct programs so far if more. tinypy's longest run in 1 000 000 programs is 11 (levels 1.1 and
# 2.1, 27% and 29% duplicates); a grammar that makes fewer than n programs costs at most twice its
# draws.
STALE_RUN = 10_000


@dataclass
class DatasetSummary:
    path: str
    written: int = 0
    duplicates: int = 0
    redrawn: Counter = field(default_factory=Counter)  # exception type -> programs redrawn
    infeasible: int = 0  # derivations the semantic layer had to restart
    levels: Counter = field(default_factory=Counter)
    constructs: Counter = field(default_factory=Counter)  # (level, construct) -> programs
    seconds: float = 0.0

    def construct_shares(self) -> dict[str, float]:
        """Share of programs using each construct (the paper's Table 2)."""
        totals: Counter = Counter()
        for (_, construct), count in self.constructs.items():
            totals[construct] += count
        return {c: totals[c] / max(self.written, 1) for c in sorted(totals)}


def _write_results(results, in_flight, n, fmt, out, summary, progress) -> None:
    """Write programs that ran cleanly, in generation order, until ``n`` are written."""
    for outcomes in results:
        entries = in_flight.popleft()
        for (program, digest, duplicates, infeasible), outcome in zip(entries, outcomes):
            summary.duplicates, summary.infeasible = duplicates, infeasible
            if not outcome.ok:
                summary.redrawn[outcome.exc_type or outcome.status] += 1
                continue
            out.write(format_record(program, outcome, fmt, digest))
            summary.written += 1
            summary.levels[program.level] += 1
            for construct in program.features:
                summary.constructs[program.level, construct] += 1
            if summary.written == n:
                return
        if progress:
            progress(summary.written)


def generate_dataset(n: int, output: str | Path, *, grammar="tinypy", level: str | None = None,
                     seed: int = 0, fmt: str = "text", workers: int | None = None,
                     batch_size: int = 1000, max_size: int = DEFAULT_MAX_SIZE,
                     limits: Limits = Limits(),
                     progress: Callable[[int], None] | None = None) -> DatasetSummary:
    """Write ``n`` unique programs that ran cleanly, with their outputs, to ``output`` (a path, or
    ``-`` for standard output). Raises ``InvalidArgument`` if the grammar cannot make ``n``."""
    if n < 0:
        raise InvalidArgument(f"n={n}: the number of programs must be 0 or more")
    if fmt not in FORMATS:
        raise InvalidArgument(f"format={fmt!r}: choose one of {', '.join(FORMATS)}")
    if batch_size < 1:
        raise InvalidArgument(f"batch_size={batch_size}: must be at least 1")
    # The programs run on this interpreter: no construct newer than it (@since).
    sampler = Sampler(grammar, level=level, seed=seed, max_size=max_size,
                      python_version=sys.version_info[:2])
    summary = DatasetSummary(output_name(output))
    started = time.perf_counter()
    seen = HashSet64()
    # Each program travels with its hash and the running counts of duplicates and restarts before
    # it, so the summary counts exactly the draws up to the last program used, however far
    # generation ran ahead.
    in_flight: deque[list[tuple[Program, int, int, int]]] = deque()
    run = 0  # the latest draws that were all duplicates

    def batches():
        """Batches of new programs; they end (the last one short) when the grammar runs dry."""
        nonlocal run
        duplicates = 0
        while run < max(STALE_RUN, len(seen)):
            batch: list[tuple[Program, int, int, int]] = []
            while len(batch) < batch_size and run < max(STALE_RUN, len(seen)):
                program = sampler.draw()
                digest = content_hash(program.source)
                if seen.add(digest):
                    batch.append((program, digest, duplicates, sampler.infeasible))
                    run = 0
                else:
                    duplicates += 1
                    run += 1
            if batch:
                in_flight.append(batch)
                yield [entry[0].source for entry in batch]

    with output_file(output, buffering=1 << 20) as out:
        if n:
            with WorkerPool(workers, limits=limits) as pool:
                results = pool.map(batches())
                try:
                    _write_results(results, in_flight, n, fmt, out, summary, progress)
                finally:
                    results.close()  # settle in-flight batches while the workers still exist
        if summary.written < n:  # the batches ended: no new programs left
            clean = summary.written
            fix = (f"ask for at most {clean:,}, or " if clean else "") + "use a grammar that makes more"
            raise InvalidArgument(f"n={n}: grammar {sampler.grammar.name!r} made only {len(seen):,} "
                                  f"distinct programs ({clean:,} ran cleanly), then {run:,} "
                                  f"duplicates in a row: {fix}")
    summary.seconds = time.perf_counter() - started
    return summary
