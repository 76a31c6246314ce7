"""The campaign store: campaigns, their batches, findings and known differences, through SQLAlchemy.

A SQLite file by default (``run.sqlite``); any SQLAlchemy URL (``postgresql+psycopg://...``) for a
team's shared database. Only the campaign driver writes, one transaction per event, so what is
committed survives a ``kill -9``: a batch is recorded with its findings in one transaction, and a
batch that is not recorded is simply run again on resume.

Generated programs are not stored one by one: a batch's seed and swarm settings reproduce it. What
is stored is what a person reads in the morning: each finding (as found and as shrunk, with both
outcomes), each documented difference met (with its smallest example), and per-batch counts for
the report (outcomes per target, constructs used, throughput).
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    create_engine,
    event,
    select,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from tinyfuzz.errors import InvalidArgument
from tinyfuzz.execution.findings import DocumentedDifference, Finding
from tinyfuzz.execution.worker import Outcome


@dataclass(frozen=True)
class BatchRecord:
    """What a campaign records of one batch (``BatchRow``'s columns but its id and time)."""

    index: int
    seed: int
    excluded: tuple  # swarm: the features left out
    programs: int
    seconds: float  # time the batch took on its executor
    outcomes: dict  # {target name: {status: programs}}
    features: dict  # {feature: programs using it}
    bugs: int  # programs with a confirmed, undocumented difference
    known: int  # programs with only documented differences
    flaky: int  # programs whose difference did not come back on a re-run
    covered: tuple = ()  # (rule, alternative) pairs the campaign had not used before
    mutated: int = 0  # programs made from the corpus


@dataclass(frozen=True)
class BatchResult:
    """A batch as it comes back from an executor: recorded in one transaction."""

    batch: BatchRecord
    findings: tuple = ()  # Finding, one per bucket, confirmed
    known: tuple = ()  # DocumentedDifference, one per target and documented ids


class Base(DeclarativeBase):
    pass


class CampaignRow(Base):
    __tablename__ = "campaigns"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(40), unique=True)  # hash of the config: same command, same campaign
    config: Mapped[dict] = mapped_column(JSON)
    created: Mapped[float] = mapped_column(Float)
    active_seconds: Mapped[float] = mapped_column(Float, default=0.0)  # time spent over all sessions


class BatchRow(Base):
    __tablename__ = "batches"
    __table_args__ = (UniqueConstraint("campaign_id", "index"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"), index=True)
    index: Mapped[int] = mapped_column(Integer)
    seed: Mapped[int] = mapped_column(BigInteger)
    excluded: Mapped[list] = mapped_column(JSON)  # swarm: features left out of this batch
    programs: Mapped[int] = mapped_column(Integer)
    seconds: Mapped[float] = mapped_column(Float)  # time the batch took on its executor
    finished: Mapped[float] = mapped_column(Float)  # unix time it was recorded
    outcomes: Mapped[dict] = mapped_column(JSON)  # {target: {status: count}}
    features: Mapped[dict] = mapped_column(JSON)  # {feature: programs using it}
    bugs: Mapped[int] = mapped_column(Integer)  # programs with a confirmed, undocumented difference
    known: Mapped[int] = mapped_column(Integer)  # programs with only documented differences
    flaky: Mapped[int] = mapped_column(Integer)  # differences that did not reproduce on a re-run
    covered: Mapped[list] = mapped_column(JSON, default=list)  # [rule, alternative] first used here
    # programs mutated or crossed over from a corpus (campaign --corpus); NULL in older stores
    mutated: Mapped[int | None] = mapped_column(Integer, default=0, nullable=True)


class _Bucket:
    """The columns findings and documented differences share: a bucket of one campaign's
    programs on one target, its smallest example and both outcomes for it."""
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"), index=True)
    target: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(40))
    hits: Mapped[int] = mapped_column(Integer, default=1)  # programs that fell in this bucket
    source: Mapped[str] = mapped_column(Text)  # the smallest program so far
    expected: Mapped[dict] = mapped_column(JSON)  # the reference's outcome for ``source``
    observed: Mapped[dict] = mapped_column(JSON)


class FindingRow(_Bucket, Base):
    __tablename__ = "findings"
    __table_args__ = (UniqueConstraint("campaign_id", "target", "signature"),)
    target_spec: Mapped[str] = mapped_column(String(1000))
    reference: Mapped[str] = mapped_column(String(200))
    signature: Mapped[str] = mapped_column(String(40))
    original: Mapped[str] = mapped_column(Text)  # the program as found; ``source`` once shrunk
    shrunk: Mapped[bool] = mapped_column(Boolean, default=False)
    batch_index: Mapped[int] = mapped_column(Integer)
    found: Mapped[float] = mapped_column(Float)
    # the signature of the bucket this one joined once both were shrunk to one cause's program
    # (NULL: a bucket of its own); its later hits are counted there
    merged_into: Mapped[str | None] = mapped_column(String(40), nullable=True, default=None)
    cause: Mapped[str | None] = mapped_column(Text, nullable=True)  # the shape of its cause, once shrunk

    def finding(self) -> Finding:
        """The finding as it stands (its smallest program so far), for a crash file."""
        return Finding(self.target, self.target_spec, self.kind, self.signature, self.source,
                       outcome_from(self.expected), outcome_from(self.observed), self.reference,
                       self.hits)


class KnownRow(_Bucket, Base):
    __tablename__ = "known_differences"
    __table_args__ = (UniqueConstraint("campaign_id", "target", "known"),)
    known: Mapped[str] = mapped_column(String(400))  # ids of the documented differences, in order


class CorpusRow(Base):
    """One program of the corpus (``tinyfuzz corpus``): its text, its label and the reference's
    outcome on it, which makes it a test case (the expected output)."""
    __tablename__ = "corpus"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    digest: Mapped[str] = mapped_column(String(16), unique=True)  # content hash: one row per text
    source: Mapped[str] = mapped_column(Text)
    label: Mapped[str] = mapped_column(String(10), index=True)  # correct | incorrect
    # why incorrect: the exception or status on the reference, or "finding <target> <kind>"
    reason: Mapped[str] = mapped_column(String(400), default="")
    expected: Mapped[dict] = mapped_column(JSON)  # the reference's outcome
    reference: Mapped[str] = mapped_column(String(200))
    grammar: Mapped[str | None] = mapped_column(String(200), nullable=True, index=True)
    # import, generate, campaign, learned, or the operator that made it: regenerate, point, crossover
    origin: Mapped[str] = mapped_column(String(40))
    lines: Mapped[int] = mapped_column(Integer)
    added: Mapped[float] = mapped_column(Float)
    # its syntax tree when a grammar made it (mutate.Mutator.dump_tree, compact JSON text: kept as
    # text until used, ~6 KB where the tree in memory takes ~46): spares an Earley parse
    tree: Mapped[str | None] = mapped_column(Text, nullable=True)


def database_url(db: str | Path) -> str:
    """A SQLAlchemy URL as given (``postgresql+psycopg://...``), or a file path made a SQLite URL."""
    text = str(db)
    if "://" in text:
        return text
    return f"sqlite:///{Path(text).resolve()}"


def store_exists(db: str | Path) -> bool:
    """Is there a store at ``db``? A URL is taken as one (its server answers or not); a path must
    be a file: ``Store`` would create an empty one, so readers check first (a typo is an error)."""
    return "://" in str(db) or Path(db).is_file()


def config_key(config: dict) -> str:
    return hashlib.sha1(json.dumps(config, sort_keys=True).encode()).hexdigest()


def outcome_dict(outcome: Outcome) -> dict:
    return outcome._asdict()


def outcome_from(data: dict) -> Outcome:
    return Outcome(**data)


class Store:
    def __init__(self, db: str | Path):
        url = database_url(db)
        try:
            self.engine = create_engine(url)
        except Exception as error:  # unknown dialect, missing driver: one line naming the fix
            raise InvalidArgument(f"--db {db}: {error}") from None
        if url.startswith("sqlite"):
            event.listen(self.engine, "connect", _sqlite_pragmas)
        for attempt in range(1, 6):
            try:
                Base.metadata.create_all(self.engine)
                _add_missing_columns(self.engine)
                break
            except Exception as error:
                # another process (a report, another campaign) may be creating the tables one by
                # one between create_all's check and its CREATE: a later attempt sees them
                if attempt == 5:
                    raise InvalidArgument(f"--db {db}: cannot open the database: {error}") from None
                time.sleep(0.05 * attempt)

    def close(self) -> None:
        self.engine.dispose()

    def session(self) -> Session:
        return Session(self.engine, expire_on_commit=False)

    # ---- writing (the campaign driver) ----

    def open_campaign(self, config: dict) -> CampaignRow:
        """The campaign run with ``config`` (the same command resumes it), made if new."""
        key = config_key(config)
        with self.session() as session, session.begin():
            row = session.scalar(select(CampaignRow).where(CampaignRow.key == key))
            if row is None:
                row = CampaignRow(key=key, config=config, created=time.time(), active_seconds=0.0)
                session.add(row)
        return row

    def done_batches(self, campaign_id: int) -> dict[int, int]:
        """{batch index: programs} of the batches already recorded."""
        with self.session() as session:
            return dict(session.execute(select(BatchRow.index, BatchRow.programs)
                                        .where(BatchRow.campaign_id == campaign_id)).all())

    def record_batch(self, campaign_id: int, result: BatchResult,
                     active_seconds: float) -> list[FindingRow]:
        """Record a finished batch, its findings and documented differences, in one transaction.
        Returns the findings whose bucket is new: those need shrinking."""
        new = []
        batch = result.batch
        with self.session() as session, session.begin():
            columns = asdict(batch)
            columns.update(excluded=list(batch.excluded), covered=[list(c) for c in batch.covered])
            session.add(BatchRow(campaign_id=campaign_id, finished=time.time(), **columns))
            session.get(CampaignRow, campaign_id).active_seconds = active_seconds
            for finding in result.findings:
                row = session.scalar(select(FindingRow).where(
                    FindingRow.campaign_id == campaign_id, FindingRow.target == finding.target,
                    FindingRow.signature == finding.signature))
                if row is None:
                    row = FindingRow(campaign_id=campaign_id, target=finding.target,
                                     target_spec=finding.target_spec, reference=finding.reference,
                                     kind=finding.kind, signature=finding.signature,
                                     original=finding.source, source=finding.source,
                                     expected=outcome_dict(finding.expected),
                                     observed=outcome_dict(finding.observed), shrunk=False,
                                     hits=finding.hits, batch_index=batch.index, found=time.time())
                    session.add(row)
                    new.append(row)
                else:
                    if row.merged_into:
                        row = session.scalar(select(FindingRow).where(
                            FindingRow.campaign_id == campaign_id, FindingRow.target == row.target,
                            FindingRow.signature == row.merged_into))
                    row.hits += finding.hits
            for known in result.known:
                self._record_known(session, campaign_id, known)
        return new

    @staticmethod
    def _record_known(session: Session, campaign_id: int, known: DocumentedDifference) -> None:
        row = session.scalar(select(KnownRow).where(
            KnownRow.campaign_id == campaign_id, KnownRow.target == known.target,
            KnownRow.known == known.known))
        if row is None:
            session.add(KnownRow(campaign_id=campaign_id, target=known.target, known=known.known,
                                 kind=known.kind, hits=known.hits, source=known.source,
                                 expected=outcome_dict(known.expected),
                                 observed=outcome_dict(known.observed)))
            return
        row.hits += known.hits
        if len(known.source) < len(row.source):
            row.source = known.source
            row.expected = outcome_dict(known.expected)
            row.observed = outcome_dict(known.observed)

    def record_shrunk(self, finding_id: int, source: str, expected: Outcome,
                      observed: Outcome, cause: str | None = None) -> FindingRow:
        with self.session() as session, session.begin():
            row = session.get(FindingRow, finding_id)
            if len(source) <= len(row.source):
                row.source = source
                row.expected, row.observed = outcome_dict(expected), outcome_dict(observed)
            row.shrunk = True
            row.cause = cause
        return row

    def merge(self, finding_id: int, into_id: int) -> FindingRow:
        """Bucket ``finding_id`` joins ``into_id`` (one cause): its hits, now and later, count there.
        Returns the bucket joined."""
        with self.session() as session, session.begin():
            row, into = session.get(FindingRow, finding_id), session.get(FindingRow, into_id)
            row.merged_into = into.signature
            into.hits += row.hits
            for joined in session.scalars(select(FindingRow).where(  # those that joined it follow
                    FindingRow.campaign_id == row.campaign_id, FindingRow.target == row.target,
                    FindingRow.merged_into == row.signature)):
                joined.merged_into = into.signature
        return into

    # ---- reading (resume, the report) ----

    def campaigns(self) -> list[CampaignRow]:
        with self.session() as session:
            return list(session.scalars(select(CampaignRow).order_by(CampaignRow.id)))

    def batches(self, campaign_id: int) -> list[BatchRow]:
        with self.session() as session:
            return list(session.scalars(select(BatchRow).where(BatchRow.campaign_id == campaign_id)
                                        .order_by(BatchRow.finished)))

    def findings(self, campaign_id: int, merged: bool = False) -> list[FindingRow]:
        """The campaign's buckets (``merged``: those that joined another one instead)."""
        joined = FindingRow.merged_into.is_not(None) if merged else FindingRow.merged_into.is_(None)
        with self.session() as session:
            return list(session.scalars(select(FindingRow)
                                        .where(FindingRow.campaign_id == campaign_id, joined)
                                        .order_by(FindingRow.found)))

    def known(self, campaign_id: int) -> list[KnownRow]:
        with self.session() as session:
            return list(session.scalars(select(KnownRow).where(KnownRow.campaign_id == campaign_id)
                                        .order_by(KnownRow.target, KnownRow.known)))


def _add_missing_columns(engine) -> None:
    """A store made by an older tinyfuzz gains the columns added since, as nullable columns (the
    code reads NULL as the column's default). Changes to the schema are additive only, so this is
    the whole migration story; a change that is not additive would need Alembic."""
    from sqlalchemy import inspect, text

    inspector = inspect(engine)
    quote = engine.dialect.identifier_preparer.quote
    with engine.begin() as connection:
        for table in Base.metadata.sorted_tables:
            present = {column["name"] for column in inspector.get_columns(table.name)}
            for column in table.columns:
                if column.name not in present:
                    connection.execute(text(
                        f"ALTER TABLE {quote(table.name)} ADD COLUMN {quote(column.name)} "
                        f"{column.type.compile(engine.dialect)}"))


def _sqlite_pragmas(connection, _record) -> None:
    # WAL: readers (a report) do not block the campaign; a committed batch survives kill -9.
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()
