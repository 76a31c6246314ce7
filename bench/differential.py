"""End-to-end differential throughput: TinyPy programs compared between CPython and PyPy.

Draws N programs (``--level all``), runs them on the reference (CPython) and on each target in warm
workers (one worker per target, all targets at once, so 2 cores are used), compares every pair of
outcomes with the oracle, and prints programs compared per second and where the time went.

    python bench/differential.py [--programs 30000] [--target pypy] [--batch 500]

Goal (issue 5): at least 3 000 programs/s compared on 2 cores.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tinyfuzz.engine.sampler import Sampler  # noqa: E402
from tinyfuzz.execution.oracle import compare  # noqa: E402
from tinyfuzz.execution.targets import load_target  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--programs", type=int, default=30_000)
    parser.add_argument("--target", action="append", default=None,
                        help="target(s) to compare with CPython (default: pypy)")
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    names = args.target or ["pypy"]
    targets = [load_target("cpython")] + [load_target(name) for name in names]

    started = time.perf_counter()
    sampler = Sampler("tinypy", seed=args.seed)
    programs = [sampler.draw().source for _ in range(args.programs)]
    generated = time.perf_counter()
    batches = [programs[i:i + args.batch] for i in range(0, len(programs), args.batch)]

    outcomes: dict[str, list] = {}
    busy: dict[str, float] = {}

    def run(target) -> None:  # each target in its own thread: the waiting releases the GIL
        begun = time.perf_counter()
        with target.pool(1) as pool:
            warm = time.perf_counter()
            outcomes[target.name] = [o for batch in pool.map(iter(batches)) for o in batch]
        busy[target.name] = (warm - begun, time.perf_counter() - warm)

    threads = [threading.Thread(target=run, args=(t,)) for t in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ran = time.perf_counter()

    kinds: Counter = Counter()
    for target in targets[1:]:
        for expected, observed in zip(outcomes["cpython"], outcomes[target.name]):
            difference = compare(expected, observed, target)
            if difference is not None:
                kinds[target.name, difference.kind, difference.known or "BUG"] += 1
    compared = time.perf_counter()

    n = len(programs)
    print(f"{n:,} TinyPy programs (level all), batches of {args.batch}, targets: cpython (reference), "
          f"{', '.join(names)}")
    print(f"{'stage':<34}{'seconds':>9}{'programs/s':>13}")
    print(f"{'draw programs':<34}{generated - started:>9.2f}{n / (generated - started):>13,.0f}")
    for target in targets:
        startup, running = busy[target.name]
        print(f"{'  start ' + target.name + ' worker':<34}{startup:>9.2f}")
        print(f"{'  run on ' + target.name:<34}{running:>9.2f}{n / running:>13,.0f}")
    print(f"{'run on all targets at once (wall)':<34}{ran - generated:>9.2f}{n / (ran - generated):>13,.0f}")
    print(f"{'compare outcomes':<34}{compared - ran:>9.2f}{n / (compared - ran):>13,.0f}")
    total = compared - started
    print(f"{'end to end':<34}{total:>9.2f}{n / total:>13,.0f}")
    print(f"compared per second, run + compare: {n / (compared - generated):,.0f} "
          f"(goal: >= 3,000 on 2 cores)")
    for (name, kind, verdict), count in sorted(kinds.items()):
        print(f"  {name}: {count} {kind} differences ({verdict})")
    if not kinds:
        print("  no differences")


if __name__ == "__main__":
    main()
