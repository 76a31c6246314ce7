"""``tinyfuzz report``: one self-contained HTML page about a campaign, read from its store.

Everything is inline (CSS, plots as base64 PNG data URIs, no script) so the page can be mailed,
attached to a CI run or opened from a file share with no network. Every text that comes from a
program, an interpreter or the config goes through ``html.escape``: programs are full of ``<``
and ``&``.
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
import time
from collections import Counter
from pathlib import Path

from tinyfuzz._internal.files import atomic_file, check_writable
from tinyfuzz._internal.version import __version__
from tinyfuzz.corpus.store import Store, store_exists
from tinyfuzz.errors import InvalidArgument, TinyfuzzError

CLIP = (30, 3000)  # lines, characters of an outcome's text shown: one can be a megabyte
TIME_BUCKETS = 60  # slices of the throughput plot
DPI = 200  # plots drawn at twice the size they are shown: sharp on high-density screens
STATUS_ORDER = ("ok", "exception", "timeout", "oom", "output-limit", "crash")
CONFIG_ORDER = ("targets", "reference", "grammar", "level", "seed", "batch_size", "swarm")


def write_report(db: str | Path, output: str | Path, campaign_id: int | None = None) -> Path:
    """Write the report of campaign ``campaign_id`` (default: the latest) in ``db`` to ``output``.

    The file appears only once complete (written under a temporary name, then renamed).
    """
    _require_matplotlib()  # before any work: the plots are part of the page
    path = check_writable(output)
    if not store_exists(db):  # a typo must not leave an empty database behind
        raise InvalidArgument(f"DB {str(db)!r} does not exist: give the file `tinyfuzz fuzz --db` "
                              "wrote (default tinyfuzz.sqlite)")
    store = Store(db)
    try:
        campaign = _pick_campaign(store, db, campaign_id)
        batches = store.batches(campaign.id)
        findings = store.findings(campaign.id)
        known = store.known(campaign.id)
    finally:
        store.close()
    page = _page(_db_name(db), campaign, batches, findings, known)
    with atomic_file(path) as out:
        out.write(page)
    return path


def _require_matplotlib() -> None:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise InvalidArgument("the report's plots need matplotlib: "
                              "pip install 'tinyfuzz[report]'") from None


def _pick_campaign(store: Store, db, campaign_id: int | None):
    campaigns = store.campaigns()  # ordered by id
    if not campaigns:
        raise InvalidArgument(f"DB {_db_name(db)!r} has no campaign yet: run `tinyfuzz fuzz --db "
                              f"{_db_name(db)} --target ...` first")
    if campaign_id is None:
        return campaigns[-1]
    for campaign in campaigns:
        if campaign.id == campaign_id:
            return campaign
    ids = ", ".join(str(c.id) for c in campaigns)
    raise InvalidArgument(f"--campaign {campaign_id}: no such campaign in {_db_name(db)!r}; "
                          f"its campaigns are {ids} (omit --campaign for the latest)")


def _db_name(db) -> str:
    text = str(db)
    if "://" not in text:
        return text
    from sqlalchemy.engine import make_url

    return make_url(text).render_as_string(hide_password=True)  # the page may be shared


# ---- the page ----

def _page(db_name: str, campaign, batches, findings, known) -> str:
    config = campaign.config
    programs = sum(b.programs for b in batches)
    active = campaign.active_seconds or 0.0
    totals = [("programs", f"{programs:,}"), ("batches", f"{len(batches):,}"),
              ("active time", _duration(active)),
              ("programs/s", f"{programs / active:,.1f}" if active else "–"),
              ("distinct buckets", f"{len(findings):,}"),
              ("flaky", f"{sum(b.flaky for b in batches):,}"),
              ("grammar alternatives used",
               f"{len({tuple(pair) for b in batches for pair in (b.covered or ())}):,}"),
              ("known differences", f"{len(known):,}")]
    mutated = sum(b.mutated or 0 for b in batches)
    if mutated:  # a campaign with --corpus: the share its batches took from the corpus
        totals.insert(1, ("mutated from the corpus", f"{mutated:,}"))
    title = f"tinyfuzz campaign {campaign.id}"
    keys = [k for k in CONFIG_ORDER if k in config] + sorted(set(config) - set(CONFIG_ORDER))
    config_rows = "".join(f"<tr><th>{_e(k)}</th><td>{_e(_config_value(config[k]))}</td></tr>"
                          for k in keys)
    tiles = "".join(f'<div class="tile"><div class="value">{_e(v)}</div>'
                    f'<div class="label">{_e(k)}</div></div>' for k, v in totals)
    finding_blocks = "".join(_finding(f) for f in findings) or (
        '<p class="none">No findings: no target differed from the reference in an undocumented '
        'way.</p>')
    reference = _name(config.get("reference", "reference"))
    known_blocks = "".join(_known(k, reference) for k in known) or (
        '<p class="none">No documented difference met.</p>')
    plots = "".join(_img(*plot) for plot in _plots(campaign, batches, findings))
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_e(title)}</title>
<style>{CSS}</style>
</head>
<body>
<main>
<h1>{_e(title)}</h1>
<p class="meta">{_e(db_name)} · started {_e(_when(campaign.created))} · report written
{_e(_when(time.time()))} by tinyfuzz {_e(__version__)}</p>
<nav><a href="#findings">Findings ({len(findings)})</a> <a href="#known">Known differences
({len(known)})</a> <a href="#outcomes">Outcomes</a> <a href="#plots">Plots</a>
<a href="#config">Configuration</a></nav>
<section id="totals"><h2>Totals</h2><div class="tiles">{tiles}</div></section>
<section id="findings"><h2>Findings</h2>
<p class="intro">One block per bucket (same target, same kind of failure); the program shown is the
smallest one that still falls in it.</p>
{finding_blocks}</section>
<section id="known"><h2>Known differences</h2>
<p class="intro">Differences the targets document: expected behaviour, <strong>not bugs</strong>.
Listed apart so that they never read as findings; hits say how often each was met.</p>
{known_blocks}</section>
<section id="outcomes"><h2>Outcomes per target</h2>{_outcome_table(config, batches)}</section>
<section id="plots"><h2>Plots</h2>{plots}</section>
<section id="config"><h2>Configuration</h2><table class="config">{config_rows}
<tr><th>campaign id</th><td>{campaign.id}</td></tr></table></section>
</main>
</body>
</html>
"""


def _finding(f) -> str:
    facts = [("target", f.target), ("kind", f.kind), ("signature", f.signature),
             ("hits", f"{f.hits:,}"), ("shrunk", "yes" if f.shrunk else "no"),
             ("found", f"{_when(f.found)}, batch {f.batch_index}")]
    original = "" if f.original == f.source else (
        f'<details><summary>program as found ({len(f.original):,} characters)</summary>'
        f'{_program(f.original)}</details>')
    return (f'<article class="bucket finding"><h3>{_e(f.target)}: {_e(f.kind)}</h3>'
            f'{_facts(facts)}{_program(f.source)}'
            f'{_versus(f.reference, f.expected, f.target, f.observed)}{original}</article>')


def _known(k, reference: str) -> str:
    facts = [("target", k.target), ("documented", k.known), ("kind", k.kind),
             ("hits", f"{k.hits:,}")]
    return (f'<article class="bucket known"><h3>{_e(k.target)}: {_e(k.known)}</h3>'
            f'{_facts(facts)}<p class="caption">smallest example met</p>'
            f'{_program(k.source)}'
            f'{_versus(reference, k.expected, k.target, k.observed)}</article>')


def _program(source: str) -> str:
    text = source.removesuffix("\n")  # it would show as an empty last line in the box
    return f'<pre class="program">{_e(text)}</pre>'


def _facts(facts) -> str:
    return '<dl class="facts">' + "".join(f"<div><dt>{_e(k)}</dt><dd>{_e(v)}</dd></div>"
                                          for k, v in facts) + "</dl>"


def _versus(left_name: str, left: dict, right_name: str, right: dict) -> str:
    """Expected and observed outcomes side by side; the fields that differ are marked."""
    def exception(o):
        return f"{o.get('exc_type')}: {o.get('exc_message', '')}" if o.get("exc_type") else ""

    rows = []
    for label, pick, block in (("status", lambda o: o.get("status", ""), False),
                               ("exception", exception, False),
                               ("stdout", lambda o: o.get("stdout", ""), True)):
        a, b = pick(left), pick(right)
        mark = ' class="differs"' if a != b else ""
        cells = "".join(f"<td{mark}>{_text(v, block)}</td>" for v in (a, b))
        rows.append(f"<tr><th>{label}</th>{cells}</tr>")
    if max(left.get("seconds") or 0, right.get("seconds") or 0) >= 0.001:  # a hang, a slow one
        seconds = "".join(f"<td>{o.get('seconds') or 0.0:.3f} s</td>" for o in (left, right))
        rows.append(f"<tr><th>time</th>{seconds}</tr>")
    return (f'<table class="versus"><thead><tr><th></th><th>expected ({_e(left_name)})</th>'
            f'<th>observed ({_e(right_name)})</th></tr></thead><tbody>{"".join(rows)}</tbody>'
            "</table>")


def _text(value: str, block: bool) -> str:
    if not value:
        return '<span class="none">(empty)</span>' if block else '<span class="none">–</span>'
    shown = "\n".join(value[:CLIP[1]].split("\n")[:CLIP[0]])
    clipped = _e(shown)
    if len(shown) < len(value):
        lines = value.count("\n") - shown.count("\n")
        clipped += (f'\n<span class="none">… {len(value) - len(shown):,} more characters, '
                    f'{lines:,} more lines</span>')
    return f'<pre class="out">{clipped}</pre>' if block else clipped


def _outcome_table(config: dict, batches) -> str:
    totals: dict[str, Counter] = {}
    for batch in batches:
        for target, counts in batch.outcomes.items():
            totals.setdefault(target, Counter()).update(counts)
    if not totals:
        return '<p class="none">No batches recorded yet.</p>'
    statuses = sorted({s for counts in totals.values() for s in counts},
                      key=lambda s: (STATUS_ORDER.index(s) if s in STATUS_ORDER else 99, s))
    reference = _name(config.get("reference", ""))
    head = "".join(f'<th class="num">{_e(s)}</th>' for s in statuses)
    rows = []
    for target in sorted(totals, key=lambda t: (t != reference, t)):  # the reference first
        counts, total = totals[target], sum(totals[target].values())
        cells = "".join(f'<td class="num">{counts[s]:,}<span class="share">'
                        f'{counts[s] / total if total else 0:.1%}</span></td>' for s in statuses)
        name = _e(target) + (' <span class="none">(reference)</span>' if target == reference
                             else "")
        rows.append(f'<tr><th>{name}</th>{cells}<td class="num">{total:,}</td></tr>')
    return (f'<table class="outcomes"><thead><tr><th>target</th>{head}<th class="num">programs'
            f'</th></tr></thead><tbody>{"".join(rows)}</tbody></table>')


def _img(title: str, alt: str, png: bytes) -> str:
    # The PNG's own size (from its header) halved: drawn at 2x for sharpness, shown at 1x.
    width, height = (int.from_bytes(png[i:i + 4], "big") * 100 // DPI for i in (16, 20))
    data = base64.b64encode(png).decode("ascii")
    return (f'<figure><img src="data:image/png;base64,{data}" width="{width}" height="{height}" '
            f'alt="{_e(alt)}"><figcaption>{_e(title)}</figcaption></figure>')


# ---- the plots ----

def _plots(campaign, batches, findings) -> list[tuple[str, str, bytes]]:
    """(caption, alt text, PNG) of each plot; the time axes start when the campaign did."""
    start = campaign.created
    if batches:  # a batch recorded first may not be the one that started first
        start = min([start] + [b.finished - b.seconds for b in batches])
    end = max([start] + [b.finished for b in batches] + [f.found for f in findings])
    scale, unit = _time_unit(end - start)
    return [_throughput(batches, start, end, scale, unit),
            _findings_over_time(findings, start, end, scale, unit),
            _coverage(campaign.config, batches)]


def _throughput(batches, start, end, scale, unit):
    fig, ax = _figure(3.0, grid="y")
    ax.set_title("Throughput")
    ax.set_xlabel(f"time since the campaign started ({unit})")
    ax.set_ylabel("programs/s")
    if not batches:
        _empty(ax, "no batches recorded yet")
        ax.set_xticks([])
        ax.set_yticks([])
        return "Throughput over time", "Throughput: no batches recorded yet.", _png(fig)
    # Each batch's programs are spread over the time it ran (``seconds`` before ``finished``), not
    # dropped in the slice it finished in: batches of a few seconds would make slices of a second
    # jump between zero and several batches. Wall-clock time, so a pause shows as a gap.
    width = max(end - start, 1e-6) / TIME_BUCKETS
    programs = [0.0] * TIME_BUCKETS
    for batch in batches:
        began = batch.finished - max(batch.seconds, 1e-6)
        first = min(max(int((began - start) / width), 0), TIME_BUCKETS - 1)
        last = min(max(math.ceil((batch.finished - start) / width), first + 1), TIME_BUCKETS)
        for i in range(first, last):
            overlap = min(batch.finished, start + (i + 1) * width) - max(began, start + i * width)
            programs[i] += batch.programs * max(overlap, 0.0) / (batch.finished - began)
    rates = [p / width for p in programs]
    ax.stairs(rates, [i * width / scale for i in range(TIME_BUCKETS + 1)], fill=True,
              color="#3b6ea5")
    ax.set_xlim(0, (end - start) / scale * 1.02)
    ax.set_ylim(0, max(rates) * 1.1 or 1)
    alt = (f"Throughput over time: programs per second over {(end - start) / scale:.1f} {unit}, "
           f"{sum(b.programs for b in batches) / (end - start or 1):,.1f} on average, "
           f"{max(rates):,.1f} at most.")
    return "Throughput over time (programs/s)", alt, _png(fig)


def _findings_over_time(findings, start, end, scale, unit):
    fig, ax = _figure(3.0)
    ax.set_title("Findings")
    ax.set_xlabel(f"time since the campaign started ({unit})")
    ax.set_ylabel("distinct buckets")
    from matplotlib.ticker import MaxNLocator

    ax.yaxis.set_major_locator(MaxNLocator(integer=True))  # half a bucket means nothing
    found = sorted((f.found - start) / scale for f in findings)
    xs = [0.0] + found + [(end - start) / scale]
    ys = [0] + list(range(1, len(found) + 1)) + [len(found)]
    ax.step(xs, ys, where="post", color="#b03a2e", linewidth=2)
    if len(found) <= 100:  # a dot per bucket while they can be told apart
        ax.plot(found, range(1, len(found) + 1), "o", color="#b03a2e", markersize=4)
    ax.set_xlim(0, (xs[-1] or 1) * 1.02)
    ax.set_ylim(0, max(len(found), 1) * 1.15)
    if not findings:
        _empty(ax, "no findings")
        return "Findings over time", "Findings over time: no findings.", _png(fig)
    alt = (f"Findings over time: cumulative distinct buckets, {len(found)} in all, the last found "
           f"{found[-1]:.1f} {unit} after the start.")
    return "Findings over time (cumulative distinct buckets)", alt, _png(fig)


def _coverage(config: dict, batches):
    programs = sum(b.programs for b in batches)
    used: Counter = Counter()
    for batch in batches:
        used.update(batch.features)
    names = set(_grammar_features(config.get("grammar"))) | set(used)
    names |= {name for batch in batches for name in batch.excluded}
    shares = {name: used[name] / programs if programs else 0.0 for name in names}
    order = sorted(names, key=lambda name: (-shares[name], name))  # most used at the top
    fig, ax = _figure(0.9 + 0.24 * max(len(order), 3), grid="x")
    ax.set_title("Construct coverage")
    ax.set_xlabel("share of programs using the construct")
    if not order:
        _empty(ax, "no construct recorded")
        return "Construct coverage", "Construct coverage: no construct recorded.", _png(fig)
    bars = ax.barh(range(len(order)), [shares[n] for n in order], color="#4a8c5c")
    # A zero bar is invisible: the label beside it says 0%, and its name is in red.
    ax.bar_label(bars, labels=[_percent(shares[n]) for n in order], padding=3, fontsize=8)
    ax.set_yticks(range(len(order)), order, fontsize=9)
    for label, name in zip(ax.get_yticklabels(), order):
        if programs and not shares[name]:
            label.set_color("#b03a2e")
    if not programs:
        _empty(ax, "no batches recorded yet")
    from matplotlib.ticker import PercentFormatter

    ax.set_xlim(0, min(max(shares.values()) * 1.15, 1.0) or 1.0)  # room for the labels
    ax.xaxis.set_major_formatter(PercentFormatter(xmax=1, decimals=0))
    ax.set_ylim(len(order) - 0.4, -0.6)  # reversed: the first bar at the top
    never = [n for n in order if not shares[n]]
    alt = (f"Construct coverage: share of {programs:,} programs using each of {len(order)} "
           f"constructs; most used {order[0]} ({shares[order[0]]:.0%}); "
           + (f"never used: {', '.join(never)}." if never else "every construct was used."))
    return "Construct coverage (share of programs using each construct)", alt, _png(fig)


def _grammar_features(grammar) -> list[str]:
    """Every construct the grammar marks with @feature, so that ones never used show as zero."""
    if not grammar:
        return []
    from tinyfuzz.grammar.load import load_grammar
    from tinyfuzz.grammar.semantics import Semantics

    try:
        return Semantics.of(load_grammar(grammar)).feature_names()
    except (TinyfuzzError, OSError):
        return []  # the grammar file moved since the campaign ran: the recorded counts still show


def _figure(height: float, grid: str = "both"):
    # A Figure with its own Agg canvas, never pyplot: no global state, no GUI backend chosen in a
    # process that imports tinyfuzz.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(9.4, height), layout="constrained")  # 940 px: the page's full width
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.grid(axis=grid, color="#e4e4e4", linewidth=0.8)
    ax.set_axisbelow(True)
    ax.spines[["top", "right"]].set_visible(False)
    return fig, ax


def _empty(ax, message: str) -> None:
    ax.text(0.5, 0.5, message, transform=ax.transAxes, ha="center", va="center", fontsize=12,
            color="#777777")


def _png(fig) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


# ---- small formatting helpers ----

def _e(value) -> str:
    return html.escape(str(value))


def _name(spec: str) -> str:
    # A target spec is a bundled name or a .toml path; results are keyed by the target's name.
    return Path(spec).stem


def _config_value(value) -> str:
    if value is None:
        return "(default)"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return value if isinstance(value, str) else json.dumps(value)


def _percent(share: float) -> str:
    return "<1%" if 0 < share < 0.01 else f"{share:.0%}"  # a used construct never reads 0%


def _time_unit(span: float) -> tuple[float, str]:
    """The unit of the time axes: whichever gives readable numbers for the campaign's length."""
    if span < 180:
        return 1.0, "s"
    if span < 3 * 3600:
        return 60.0, "min"
    if span < 3 * 86400:
        return 3600.0, "h"
    return 86400.0, "days"


def _duration(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    return f"{minutes} min {secs:02d} s" if minutes else f"{seconds:.1f} s"


def _when(stamp: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(stamp))


CSS = """
:root { --ink: #1d2125; --muted: #5f6b76; --line: #d8dde2; --bug: #b03a2e; --known: #b7881c; }
* { box-sizing: border-box; }
body { margin: 0; background: #f5f6f8; color: var(--ink);
       font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
main { max-width: 1000px; margin: 0 auto; padding: 24px 28px 48px; background: #fff;
       min-height: 100vh; }
h1 { margin: 0 0 4px; font-size: 26px; }
h2 { margin: 36px 0 12px; padding-bottom: 4px; border-bottom: 2px solid var(--line);
     font-size: 20px; }
h3 { margin: 0 0 8px; font-size: 16px; }
.meta, .intro, .caption, .none, figcaption { color: var(--muted); }
.meta { margin: 0 0 10px; font-size: 13px; }
.intro { margin-top: 0; }
.caption { margin: 8px 0 2px; font-size: 13px; }
nav a { margin-right: 14px; color: #2b5d8c; text-decoration: none; font-size: 14px; }
nav a:hover { text-decoration: underline; }
.tiles { display: flex; flex-wrap: wrap; gap: 8px; }
.tile { flex: 1 1 auto; border: 1px solid var(--line); border-radius: 6px; padding: 8px 12px;
        white-space: nowrap; }
.tile .value { font-size: 20px; font-weight: 600; font-variant-numeric: tabular-nums; }
.tile .label { color: var(--muted); font-size: 13px; }
.bucket { border: 1px solid var(--line); border-left: 5px solid var(--bug); border-radius: 6px;
          padding: 12px 16px; margin: 0 0 16px; }
.bucket.known { border-left-color: var(--known); }
.facts { display: flex; flex-wrap: wrap; gap: 4px 22px; margin: 0 0 8px; font-size: 14px; }
.facts div { display: flex; gap: 6px; }
.facts dt { color: var(--muted); }
.facts dd { margin: 0; font-weight: 600; overflow-wrap: anywhere; }
pre { margin: 0; font: 13px/1.45 ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace; }
pre.program { background: #f3f5f7; border: 1px solid var(--line); border-radius: 4px;
              padding: 8px 10px; overflow-x: auto; }
pre.out { white-space: pre-wrap; overflow-wrap: anywhere; }
details { margin-top: 8px; font-size: 14px; }
summary { cursor: pointer; color: var(--muted); }
table { border-collapse: collapse; font-size: 14px; }
th, td { text-align: left; vertical-align: top; padding: 5px 10px;
         border-bottom: 1px solid var(--line); }
table.versus { width: 100%; margin-top: 10px; table-layout: fixed; }
table.versus th:first-child { width: 90px; }
table.versus thead th { background: #f3f5f7; }
table.versus td { overflow-wrap: anywhere; }
td.differs { background: #fdf1e6; }
table.outcomes td.num, table.outcomes th.num { text-align: right;
                                               font-variant-numeric: tabular-nums; }
.share { display: block; color: var(--muted); font-size: 12px; }
table.config th { color: var(--muted); font-weight: normal; white-space: nowrap; }
table.config td { overflow-wrap: anywhere; }
figure { margin: 0 0 24px; }
figure img { display: block; max-width: 100%; height: auto; border: 1px solid var(--line);
             border-radius: 4px; }
figcaption { font-size: 13px; margin-top: 4px; }
"""
