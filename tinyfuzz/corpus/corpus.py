"""The corpus: programs labelled correct or incorrect, each with the reference's outcome as its test.

It lives in the campaign store (``store.py``: a SQLite file, or PostgreSQL/MySQL by URL), one row per
distinct text. A program is *correct* when it runs cleanly on the reference (status ok: no exception,
crash, timeout or limit), *incorrect* when it does not, or when it was a campaign's finding (a program
on which a target disagreed with the reference). Labels are always given by running the program on the
reference in worker processes, never in this process.

Programs come in from files (``.py``, a directory of them, ``tinyfuzz generate`` output in either
format), from a grammar, from a campaign's findings, and from the generators that feed on the corpus
itself (mutation and crossover in ``engine/mutate.py``, the learned model in ``learn/``).
"""

from __future__ import annotations

import itertools
import os
import random
import time
from collections import Counter
from pathlib import Path
from typing import Iterable

from sqlalchemy import func, select

from tinyfuzz._internal.files import atomic_file
from tinyfuzz._internal.hashing import content_hash
from tinyfuzz.corpus.formats import jsonl_record, read_programs
from tinyfuzz.corpus.store import CorpusRow, FindingRow, Store, database_url, outcome_dict, store_exists
from tinyfuzz.errors import InvalidArgument
from tinyfuzz.execution.pair import run_on_reference
from tinyfuzz.execution.worker import Outcome

LABELS = ("correct", "incorrect")


def label_of(outcome: Outcome) -> tuple[str, str]:
    """(label, reason) of a program from its outcome on the reference."""
    if outcome.ok:
        return "correct", ""
    if outcome.status == "exception":
        return "incorrect", outcome.exc_type
    return "incorrect", outcome.status


def digest(source: str) -> str:
    return f"{content_hash(source):016x}"


class Corpus:
    """The corpus table of a store: ``Corpus("tinyfuzz.sqlite")`` or ``Corpus("postgresql+...")``.
    ``existing``: the store must be there already (it is read, not filled: a typo must not
    silently give an empty corpus)."""

    def __init__(self, db: str | Path, *, existing: bool = False):
        if existing and not store_exists(db):
            raise InvalidArgument(f"corpus {str(db)!r}: no such store (tinyfuzz corpus import or "
                                  f"tinyfuzz corpus generate makes one)")
        self.db = str(db)
        self.store = Store(db)

    def close(self) -> None:
        self.store.close()

    # ---- adding ----

    def add_sources(self, sources: Iterable[str], *, origin: str, grammar: str | None = None,
                    reference: str = "cpython", workers: int | None = None,
                    trees: Iterable | None = None) -> Counter:
        """Run the programs not in the corpus yet on the reference, label and store them (with
        their syntax trees, ``grammar``'s, when given). Returns counts: added, duplicates,
        correct, incorrect."""
        counts: Counter = Counter()
        todo = self._new(zip(sources, trees if trees is not None else itertools.repeat(None)),
                         counts)
        outcomes = run_on_reference([source for _, source, _ in todo], reference, workers)
        rows = []
        for (key, source, tree), outcome in zip(todo, outcomes):
            label, reason = label_of(outcome)
            counts[label] += 1
            row = self._row(key, source, label, reason, outcome, reference, grammar, origin)
            row.tree = tree
            rows.append(row)
        self._insert(rows)
        counts["added"] += len(rows)
        return counts

    def add_generated(self, grammar: str = "tinypy", n: int = 1000, *, seed: int = 0,
                      level: str | None = None, reference: str = "cpython",
                      workers: int | None = None) -> Counter:
        """``n`` programs derived from a grammar, run and stored with their trees."""
        from tinyfuzz.engine.mutate import Mutator

        mutator = Mutator(grammar, seed=seed, level=level)
        made = [(tree.text, mutator.dump_tree(tree)) for tree in (mutator.fresh() for _ in range(n))]
        return self.add_sources([text for text, _ in made], origin="generate",
                                grammar=mutator.grammar.name, reference=reference,
                                workers=workers, trees=[tree for _, tree in made])

    def add_findings(self, campaign_db: str | Path) -> Counter:
        """A campaign's findings, as shrunk, labelled incorrect: each is a program on which a target
        disagreed with the reference (whose outcome is the expected one)."""
        counts: Counter = Counter()
        own = database_url(campaign_db) == database_url(self.db)
        store = self.store if own else Store(campaign_db)
        try:
            with store.session() as session:
                findings = list(session.scalars(select(FindingRow).order_by(FindingRow.id)))
        finally:
            if not own:
                store.close()
        fresh = [self._row(key, source, "incorrect", f"finding {finding.target} {finding.kind}",
                           Outcome(**finding.expected), finding.reference, None, "campaign")
                 for key, source, finding in self._new(((f.source, f) for f in findings), counts)]
        self._insert(fresh)
        counts["added"] += len(fresh)
        counts["incorrect"] += len(fresh)
        return counts

    def import_path(self, path: str | Path, *, grammar: str | None = None,
                    reference: str = "cpython", workers: int | None = None) -> Counter:
        """Import a ``.py`` file, a directory of them, a dataset (``.jsonl`` with a ``code`` field,
        or the paper's text format) or a campaign store (``.sqlite``/``.db`` or a URL: its findings)."""
        text = str(path)
        if "://" in text or text.endswith((".sqlite", ".sqlite3", ".db")):
            if not store_exists(text):
                raise InvalidArgument(f"{text}: no such campaign store")
            return self.add_findings(text)
        return self.add_sources(read_programs(path), origin="import", grammar=grammar,
                                reference=reference, workers=workers)

    def _new(self, items: Iterable[tuple], counts: Counter) -> list[tuple]:
        """(digest, source, extra) of the (source, extra) items whose text (ending in one newline)
        is neither earlier in ``items`` nor in the corpus; the others are counted duplicates."""
        fresh: dict[str, tuple] = {}
        for source, extra in items:
            source = source.rstrip("\n") + "\n"
            key = digest(source)
            if key in fresh:
                counts["duplicates"] += 1
            else:
                fresh[key] = source, extra
        known = self._digests(list(fresh))
        counts["duplicates"] += len(known)
        return [(key, *value) for key, value in fresh.items() if key not in known]

    def _row(self, key, source, label, reason, outcome, reference, grammar, origin) -> CorpusRow:
        return CorpusRow(digest=key, source=source, label=label, reason=reason[:400],
                         expected=outcome_dict(outcome), reference=reference, grammar=grammar,
                         origin=origin, lines=source.count("\n"), added=time.time())

    def _digests(self, keys: list[str]) -> set[str]:
        found: set[str] = set()
        with self.store.session() as session:
            for i in range(0, len(keys), 500):  # bounded IN lists
                found.update(session.scalars(select(CorpusRow.digest)
                                             .where(CorpusRow.digest.in_(keys[i:i + 500]))))
        return found

    def _insert(self, rows: list[CorpusRow]) -> None:
        if rows:
            with self.store.session() as session, session.begin():
                session.add_all(rows)

    # ---- reading ----

    def rows(self, label: str | None = None, grammar: str | None = None,
             origin: str | None = None, limit: int | None = None) -> list[CorpusRow]:
        if label is not None and label not in LABELS:
            raise InvalidArgument(f"label={label!r}: must be one of {', '.join(LABELS)}")
        query = select(CorpusRow).order_by(CorpusRow.id)
        if label is not None:
            query = query.where(CorpusRow.label == label)
        if grammar is not None:
            query = query.where(CorpusRow.grammar == grammar)
        if origin is not None:
            query = query.where(CorpusRow.origin == origin)
        if limit is not None:
            query = query.limit(limit)
        with self.store.session() as session:
            return list(session.scalars(query))

    def sources(self, label: str | None = "correct", grammar: str | None = None,
                origin: str | None = None, limit: int | None = None) -> list[str]:
        return [row.source for row in self.rows(label, grammar, origin, limit)]

    def parents(self, grammar: str, *, limit: int | None = None,
                seed: int = 0) -> tuple[list[str], list]:
        """The programs to mutate with ``grammar`` and their stored trees (or None): the correct
        ones, and the findings that ran cleanly on the reference (a target disagreed on them:
        bugs cluster, so their neighbours are worth trying, as LangFuzz does with its failing
        tests); the grammar's own and those of no known grammar (the mutator keeps what it
        derives). ``limit``: at most that many, a random sample (by ``seed``) of a larger corpus."""
        query = (select(CorpusRow.id, CorpusRow.label, CorpusRow.expected)
                 .where((CorpusRow.label == "correct") | CorpusRow.reason.startswith("finding "))
                 .where((CorpusRow.grammar == grammar) | CorpusRow.grammar.is_(None))
                 .order_by(CorpusRow.id))
        with self.store.session() as session:
            ids = [row.id for row in session.execute(query).all()
                   if row.label == "correct" or row.expected.get("status") == "ok"]
            if limit is not None and len(ids) > limit:
                ids = sorted(random.Random(seed).sample(ids, limit))
            rows = []
            for i in range(0, len(ids), 500):  # bounded IN lists
                rows += session.execute(select(CorpusRow.source, CorpusRow.tree)
                                        .where(CorpusRow.id.in_(ids[i:i + 500]))
                                        .order_by(CorpusRow.id)).all()
        return [row.source for row in rows], [row.tree for row in rows]

    def stats(self) -> dict:
        """Counts by label, origin, grammar and reason (incorrect ones), and size."""
        with self.store.session() as session:
            def count_by(column, *where):
                query = select(column, func.count()).group_by(column).order_by(func.count().desc())
                return {str(k): v for k, v in session.execute(query.where(*where)).all()}

            total, lines = session.execute(select(func.count(), func.avg(CorpusRow.lines))).one()
            return {"programs": total, "mean_lines": float(lines or 0),
                    "label": count_by(CorpusRow.label), "origin": count_by(CorpusRow.origin),
                    "grammar": count_by(CorpusRow.grammar),
                    "reason": count_by(CorpusRow.reason, CorpusRow.label == "incorrect")}

    def export(self, output: str | Path, *, label: str | None = None,
               grammar: str | None = None) -> int:
        """Write the programs as JSON lines (``code``, ``output``, ``label``, ``reason``, ``origin``,
        ``grammar``, ``expected``) or, for a path ending in ``/`` or an existing directory, as
        ``<label>/<digest>.py`` files. Returns how many were written (atomically, for a file)."""
        rows = self.rows(label, grammar)
        path = Path(output)
        if str(output).endswith(("/", os.sep)) or path.is_dir():
            for row in rows:
                folder = path / row.label
                folder.mkdir(parents=True, exist_ok=True)
                with atomic_file(folder / f"{row.digest}.py") as out:
                    out.write(row.source)
            return len(rows)
        text = "".join(jsonl_record(row.source, row.expected["stdout"], label=row.label,
                                    reason=row.reason, origin=row.origin, grammar=row.grammar,
                                    expected=row.expected) for row in rows)
        with atomic_file(path) as out:
            out.write(text)
        return len(rows)
