"""Content hashes of programs and a compact set of them: datasets, the corpus, the learned model's
novelty and ``--describe`` all identify a program by the same 64-bit hash of its text."""

from __future__ import annotations

import hashlib
from array import array


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
