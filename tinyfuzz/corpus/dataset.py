"""Datasets of programs with their outputs: the TinyPy Generator's job, reproducible and fast.

Data flow: the sampler draws programs in one seeded sequence in this process; duplicates are dropped
by a 64-bit content hash; unique programs go in batches to warm workers (never run here); results come
back in order, and programs that ran cleanly are written until ``n`` are. A program that raised is
redrawn and counted. The order never depends on timing, so the same seed gives a byte-identical file
whatever the number of workers. The file is written under a temporary name and renamed when complete.
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
from array import array
from collections import Counter, deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from tinyfuzz._internal.files import atomic_file
from tinyfuzz.engine.derivation import Program
from tinyfuzz.engine.sampler import DEFAULT_MAX_SIZE, Sampler
from tinyfuzz.errors import InvalidArgument
from tinyfuzz.execution.worker import Limits, Outcome, WorkerPool

FORMATS = ("text", "jsonl")


def content_hash(source: str) -> int:
    """A 64-bit hash of a program's text, the same in every process and run (unlike ``hash``)."""
    return int.from_bytes(hashlib.blake2b(source.encode(), digest_size=8).digest(), "big")


class HashSet64:
    """A set of 64-bit hashes in one flat array (open addressing): 16 bytes per entry at 1M entries,
    where a Python ``set`` of ints would take about 70."""

    def __init__(self, capacity: int = 1 << 16):
        self._table = array("Q", bytes(8 * capacity))
        self._mask = capacity - 1
        self._count = 0

    def add(self, value: int) -> bool:
        """Add ``value``; return False if it was already there."""
        value |= 1  # 0 marks an empty slot
        table, mask = self._table, self._mask
        slot = value & mask
        while True:
            current = table[slot]
            if current == value:
                return False
            if not current:
                break
            slot = (slot + 1) & mask
        table[slot] = value
        self._count += 1
        if self._count * 2 > len(table):
            self._grow()
        return True

    def _grow(self) -> None:
        old = self._table
        self._table = array("Q", bytes(16 * len(old)))
        self._mask = len(self._table) - 1
        self._count = 0
        for value in old:
            if value:
                self.add(value)

    def __len__(self) -> int:
        return self._count


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


def format_record(program: Program, outcome: Outcome, fmt: str, digest: int) -> str:
    """One program and its output, in ``fmt``; ``digest`` is its ``content_hash``."""
    source = program.source.rstrip("\n") + "\n"
    if fmt == "jsonl":
        return json.dumps({"code": source, "output": outcome.stdout, "level": program.level,
                           "constructs": sorted(program.features),
                           "hash": f"{digest:016x}"}) + "\n"
    lines = "".join(f"# {line}\n" for line in outcome.stdout.splitlines())
    return f"{source}# output\n{lines}\n"


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
    """Write ``n`` unique programs that ran cleanly, with their outputs, to ``output``."""
    if n < 0:
        raise InvalidArgument(f"n={n}: the number of programs must be 0 or more")
    if fmt not in FORMATS:
        raise InvalidArgument(f"format={fmt!r}: choose one of {', '.join(FORMATS)}")
    if batch_size < 1:
        raise InvalidArgument(f"batch_size={batch_size}: must be at least 1")
    # The programs run on this interpreter: no construct newer than it (@since).
    sampler = Sampler(grammar, level=level, seed=seed, max_size=max_size,
                      python_version=sys.version_info[:2])
    summary = DatasetSummary(str(output))
    started = time.perf_counter()
    seen = HashSet64()
    # Each program travels with its hash and the running counts of duplicates and restarts before
    # it, so the summary counts exactly the draws up to the last program used, however far
    # generation ran ahead.
    in_flight: deque[list[tuple[Program, int, int, int]]] = deque()

    def batches():
        duplicates = 0
        while True:
            batch: list[tuple[Program, int, int, int]] = []
            while len(batch) < batch_size:
                program = sampler.draw()
                digest = content_hash(program.source)
                if seen.add(digest):
                    batch.append((program, digest, duplicates, sampler.infeasible))
                else:
                    duplicates += 1
            in_flight.append(batch)
            yield [entry[0].source for entry in batch]

    with atomic_file(output, buffering=1 << 20) as out:
        if n:
            with WorkerPool(workers, limits=limits) as pool:
                results = pool.map(batches())
                try:
                    _write_results(results, in_flight, n, fmt, out, summary, progress)
                finally:
                    results.close()  # settle in-flight batches while the workers still exist
    summary.seconds = time.perf_counter() - started
    return summary
