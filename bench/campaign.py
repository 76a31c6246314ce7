"""The acceptance campaign: PyPy and MicroPython against CPython on the bundled rich grammar.

    python bench/campaign.py [--budget 10m] [--targets pypy,micropython] [--out DIR]

Runs ``tinyfuzz fuzz`` for the budget (through the same code as the command line) into DIR
(default: a new temporary folder, kept), then prints the distinct buckets found, programs/s, and
every shrunk finding with its program; writes DIR/report.html when matplotlib is installed.
"""

import argparse
import os
import tempfile
import time

from rich.console import Console

from tinyfuzz._internal.live import PlainProgress
from tinyfuzz.campaign.config import CampaignConfig, parse_budget
from tinyfuzz.campaign.driver import Campaign
from tinyfuzz.corpus.store import Store


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", default="10m")
    parser.add_argument("--targets", default="pypy,micropython")
    parser.add_argument("--grammar", default="python")
    parser.add_argument("--workers", type=int, default=os.cpu_count())
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=None, help="folder for the store and crashes/")
    args = parser.parse_args()
    out = args.out or tempfile.mkdtemp(prefix="tinyfuzz-campaign-")
    os.makedirs(out, exist_ok=True)
    db, crashes = os.path.join(out, "run.sqlite"), os.path.join(out, "crashes")
    config = CampaignConfig(targets=tuple(args.targets.split(",")), grammar=args.grammar,
                            seed=args.seed)
    console = Console(stderr=True)
    console.print(f"campaign into {out}: targets {args.targets}, grammar {args.grammar}, budget "
                  f"{args.budget}, {args.workers} workers")
    start = time.perf_counter()
    status = Campaign(config, db=db, budget=parse_budget(args.budget), workers=args.workers,
                      crashes=crashes, on_update=PlainProgress(console, every=60)).run()
    seconds = time.perf_counter() - start

    store = Store(db)
    campaign = store.campaigns()[-1]
    findings = store.findings(campaign.id)
    print(f"\n{status.session_programs:,} programs in {seconds:.0f} s: "
          f"{status.session_programs / seconds:,.0f} programs/s over the whole run, "
          f"{status.session_rate:,.0f}/s as the driver counts it; flaky (not confirmed): "
          f"{status.flaky}")
    for name, counts in sorted(status.outcomes.items()):
        print(f"  {name:12} " + ", ".join(f"{k} {v:,}" for k, v in sorted(counts.items())))
    print(f"\ndistinct buckets: {len(findings)}  "
          + ", ".join(f"{t}: {sum(f.target == t for f in findings)}"
                      for t in sorted({f.target for f in findings})))
    for finding in sorted(findings, key=lambda f: (f.target, -f.hits)):
        print(f"\n== {finding.target} {finding.kind} {finding.signature}: {finding.hits} programs, "
              f"shrunk {len(finding.original.splitlines())} -> "
              f"{len(finding.source.strip().splitlines())} lines")
        print("   expected:", _outcome(finding.expected))
        print("   observed:", _outcome(finding.observed))
        print("   " + finding.source.strip().replace("\n", "\n   "))
    known = store.known(campaign.id)
    if known:
        print("\ndocumented differences (not bugs): " + ", ".join(
            f"{k.target} {k.known} ({k.hits} programs)" for k in known))
    try:
        from tinyfuzz.campaign.report import write_report

        print(f"\nreport: {write_report(db, os.path.join(out, 'report.html'))}")
    except Exception as error:  # noqa: BLE001 - the report is a bonus here, the numbers above are the point
        print(f"\nno report: {error}")


def _outcome(outcome: dict) -> str:
    text = outcome["status"]
    if outcome["exc_type"]:
        text += f" {outcome['exc_type']}: {outcome['exc_message']}"
    return (text + f"; stdout {outcome['stdout'][:100]!r}")[:240]


if __name__ == "__main__":
    main()
