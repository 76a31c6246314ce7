"""What ``tinyfuzz fuzz`` shows while it runs and when it ends (rich renderables over a status)."""

from __future__ import annotations

import time

from rich.console import Group
from rich.table import Table
from rich.text import Text

STATUSES = ("ok", "exception", "timeout", "crash", "oom", "output-limit")


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def headline(status) -> Text:
    budget = status.budget
    if budget.seconds is not None:
        spent = f"{_duration(status.active_seconds)} of {_duration(budget.seconds)}"
    else:
        spent = f"{status.programs:,} of {budget.programs:,} programs"
    line = (f"campaign {status.campaign_id}: {spent} · {status.programs:,} programs "
            f"({status.rate:,.0f}/s) · {status.batches:,} batches"
            + (f" ({status.resumed_batches:,} resumed)" if status.resumed_batches else "")
            + (f" · {status.mutated / status.programs:.0%} mutated from the corpus"
               if status.mutated else "")
            + f" · {status.in_flight} in flight · {len(status.buckets)} buckets"
            + (f" · grammar coverage {len(status.covered & status.alternatives)}/"
               f"{len(status.alternatives)}" if status.alternatives else "")
            + (f" · {status.shrinking} shrinking" if status.shrinking else "")
            + (f" · {status.flaky} flaky" if status.flaky else "")
            + (f" · {len(status.shrink_errors)} shrink errors" if status.shrink_errors else ""))
    return Text(line, style="bold")


def targets_table(status) -> Table:
    table = Table(title="outcomes per target", title_justify="left", show_edge=False)
    table.add_column("target")
    for name in STATUSES:
        table.add_column(name, justify="right")
    table.add_column("bugs", justify="right")
    table.add_column("known", justify="right")
    for name, counts in status.outcomes.items():
        bugs = sum(b.hits for b in status.buckets.values() if b.target == name)
        known = sum(hits for (target, _), hits in status.known.items() if target == name)
        table.add_row(name, *(f"{counts.get(s, 0):,}" for s in STATUSES), f"{bugs:,}", f"{known:,}")
    return table


def buckets_table(status) -> Table:
    table = Table(title="findings by bucket", title_justify="left", show_edge=False)
    for column in ("target", "kind", "signature", "hits", "lines", "state", "file"):
        table.add_column(column, justify="right" if column in ("hits", "lines") else "left")
    for bucket in sorted(status.buckets.values(), key=lambda b: (b.target, -b.hits)):
        table.add_row(bucket.target, bucket.kind, bucket.signature, f"{bucket.hits:,}",
                      str(bucket.size), "shrunk" if bucket.shrunk else "shrinking",
                      str(bucket.path or ""))
    return table


def known_table(status) -> Table:
    table = Table(title="documented differences (not bugs)", title_justify="left", show_edge=False)
    table.add_column("target")
    table.add_column("explained by")
    table.add_column("programs", justify="right")
    for (target, ids), hits in sorted(status.known.items()):
        table.add_row(target, ids, f"{hits:,}")
    return table


def view(status) -> Group:
    parts = [headline(status), targets_table(status)]
    if status.buckets:
        parts.append(buckets_table(status))
    if status.known:
        parts.append(known_table(status))
    for error in status.shrink_errors:  # a tinyfuzz bug: the finding is kept as found
        parts.append(Text(f"shrinking failed (kept as found): {error}", style="yellow"))
    return Group(*parts)


class PlainProgress:
    """For logs (no terminal): a line per new bucket and one every ``every`` seconds."""

    def __init__(self, console, every: float = 30.0):
        self.console, self.every = console, every
        self.last = time.monotonic()
        self.seen: set = set()

    def __call__(self, status) -> None:
        for key, bucket in status.buckets.items():
            if key not in self.seen:
                self.seen.add(key)
                self.console.print(f"new bucket: {bucket.target} {bucket.kind} {bucket.signature} "
                                   f"-> {bucket.path}")
        if time.monotonic() - self.last >= self.every:
            self.last = time.monotonic()
            self.console.print(headline(status))
