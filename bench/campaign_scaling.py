"""Does a campaign scale with its workers? The same campaign (same seed, same batches) run with 1
and with N local worker processes, side by side; prints programs/s and the speed-up.

    python bench/campaign_scaling.py [--programs 4000] [--target pypy] [--grammar python] [--workers 2]

Each run starts from an empty store, so its time includes starting the workers (spawn, imports,
warm target interpreters, compiling the grammar): the goal (2 workers >= 1.7x one on 2 cores) is
checked on the whole run, as a user sees it.
"""

import argparse
import os
import tempfile
import time

from tinyfuzz.campaign.config import Budget, CampaignConfig
from tinyfuzz.campaign.driver import Campaign


def run(config: CampaignConfig, programs: int, workers: int) -> tuple[float, int]:
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        status = Campaign(config, db=os.path.join(folder, "run.sqlite"),
                          budget=Budget(programs=programs), workers=workers,
                          crashes=os.path.join(folder, "crashes")).run()
        return time.perf_counter() - start, len(status.buckets)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--programs", type=int, default=4000)
    parser.add_argument("--target", default="pypy")
    parser.add_argument("--grammar", default="python")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=200)
    args = parser.parse_args()
    config = CampaignConfig(targets=(args.target,), grammar=args.grammar, seed=7,
                            batch_size=args.batch_size)
    print(f"campaign: {args.programs} programs of grammar {args.grammar}, reference cpython, "
          f"target {args.target}, batches of {args.batch_size}; {os.cpu_count()} cores")
    rates = {}
    for workers in (1, args.workers):
        seconds, buckets = run(config, args.programs, workers)
        rates[workers] = args.programs / seconds
        print(f"  {workers} worker{'s' if workers > 1 else ' '}: {seconds:6.1f} s  "
              f"{rates[workers]:7.0f} programs/s  ({buckets} buckets)")
    speedup = rates[args.workers] / rates[1]
    print(f"speed-up with {args.workers} workers: {speedup:.2f}x (goal >= 1.7x on 2 cores)")


if __name__ == "__main__":
    main()
