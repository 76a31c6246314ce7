"""How fast ``tinyfuzz.strategy.from_grammar`` draws programs inside ``@given``, how many of them run
cleanly, and how well Hypothesis shrinks them -- beside Hypothesis's own floor and hypothesmith.

1. Drawing: a ``@given`` test with ``max_examples=N`` that only collects its examples, timed; the
   rate is examples per second of the whole test (Hypothesis's engine included). ``st.integers()``
   and a 30-long list of small integers show what the engine costs with next to no strategy.
2. Validity: every collected program runs in a ``WorkerPool`` (never in this process); the share with
   status ``ok`` and a count of what the others raised (or ``timeout`` etc.).
3. Peer: ``hypothesmith.from_grammar()`` (Python source from the CPython grammar), measured the same
   way with a smaller N. Skipped, with a hint, when hypothesmith is not installed.
4. Shrinking: ``hypothesis.find`` on planted properties for seeds 0..S-1; the number of lines of the
   shrunk program per seed beside the hand-written minimum.

    PYTHONPATH=. python bench/strategy_speed.py --examples 2000 --peer-examples 200 --seeds 8
"""

from __future__ import annotations

import argparse
import random
import sys
import time
import warnings
from collections import Counter
from pathlib import Path

from hypothesis import HealthCheck, find, given, settings
from hypothesis import strategies as st
from hypothesis.errors import NoSuchExample

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repo's tinyfuzz, run from anywhere

from tinyfuzz.execution.worker import Worker, WorkerPool
from tinyfuzz.strategy import from_grammar

NO_CHECKS = list(HealthCheck)  # slow strategies (hypothesmith) must not fail the benchmark


def draw(strategy, n: int) -> tuple[list, float]:
    """Run a ``@given`` test of ``n`` examples that only collects them: (examples, seconds)."""
    seen: list = []

    @settings(max_examples=n, database=None, deadline=None, suppress_health_check=NO_CHECKS)
    @given(strategy)
    def collect(example):
        seen.append(example)

    start = time.perf_counter()
    collect()
    return seen, time.perf_counter() - start


def validity(sources: list[str], workers: int, batch: int = 50) -> tuple[float, Counter]:
    """Run the sources in a worker pool: (share with status ok, Counter of what the rest did)."""
    failures: Counter = Counter()
    ok = 0
    with WorkerPool(workers) as pool:
        batches = [sources[i:i + batch] for i in range(0, len(sources), batch)]
        for outcomes in pool.map(batches):
            for outcome in outcomes:
                if outcome.status == "ok":
                    ok += 1
                else:
                    failures[outcome.exc_type if outcome.status == "exception" else outcome.status] += 1
    return ok / max(len(sources), 1), failures


def fmt_counter(counter: Counter, top: int = 4) -> str:
    items = [f"{name} {count}" for name, count in counter.most_common(top)]
    rest = sum(counter.values()) - sum(count for _, count in counter.most_common(top))
    return ", ".join(items + ([f"other {rest}"] if rest else [])) or "-"


def speed_table(args) -> None:
    rows = [("st.integers()", st.integers(), args.examples, None),
            ("st.lists(st.integers(0, 9), size 30)",
             st.lists(st.integers(0, 9), min_size=30, max_size=30), args.examples, None),
            ('tinyfuzz from_grammar("tinypy")', from_grammar("tinypy"), args.examples,
             lambda p: p.source),
            ('tinyfuzz from_grammar("tinypy", swarm=True)', from_grammar("tinypy", swarm=True),
             args.examples, lambda p: p.source)]
    try:
        import hypothesmith
    except ImportError:
        hypothesmith = None
    if hypothesmith is not None:
        rows.append(("hypothesmith.from_grammar()", hypothesmith.from_grammar(), args.peer_examples,
                     lambda s: s))

    print(f"Drawing inside @given (max_examples=N, database=None, deadline=None), "
          f"validity in WorkerPool({args.workers})")
    header = f"{'strategy':<44} {'N':>5} {'unique':>6} {'seconds':>8} {'per s':>8} {'ok':>6}  not ok"
    print(header)
    print("-" * len(header))
    for name, strategy, n, to_source in rows:
        examples, seconds = draw(strategy, n)
        unique = len({repr(e) for e in examples})
        line = f"{name:<44} {len(examples):>5} {unique:>6} {seconds:>8.2f} {len(examples) / seconds:>8.0f}"
        if to_source is not None:
            share, failures = validity([to_source(e) for e in examples], args.workers)
            line += f" {share:>6.1%}  {fmt_counter(failures)}"
        print(line)
    if hypothesmith is None:
        print("hypothesmith is not installed: `pip install hypothesmith` to add it as a peer row")


def shrink_table(args) -> None:
    worker = Worker()

    def prints_negative(program) -> bool:
        return any(line.startswith("-") for outcome in worker.run([program.source])
                   for line in outcome.stdout.splitlines())

    properties = [("prints a negative number", prints_negative, 2),
                  ("uses division", lambda p: " / " in p.source, 2),
                  ("has an elif", lambda p: "elif" in p.source, 7)]
    strategy = from_grammar("tinypy")
    config = settings(max_examples=3000, database=None, deadline=None, suppress_health_check=NO_CHECKS)
    seeds = range(args.seeds)
    print("\nShrinking: lines of the program hypothesis.find shrinks to, per seed "
          "(max_examples=3000; '-' = not found)")
    header = (f"{'property':<26} {'min':>3}  " + " ".join(f"{s:>3}" for s in seeds)
              + f"  {'at min':>6} {'seconds':>8}")
    print(header)
    print("-" * len(header))
    try:
        for name, predicate, minimum in properties:
            lines, start = [], time.perf_counter()
            for seed in seeds:
                try:
                    found = find(strategy, predicate, settings=config, random=random.Random(seed))
                    lines.append(len(found.source.splitlines()))
                except NoSuchExample:
                    lines.append(None)
            at_min = sum(n == minimum for n in lines)
            cells = " ".join(f"{'-' if n is None else n:>3}" for n in lines)
            print(f"{name:<26} {minimum:>3}  {cells}  {at_min:>3}/{len(lines):<2} "
                  f"{time.perf_counter() - start:>8.1f}")
    finally:
        worker.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=2000, help="N for tinyfuzz and the floor")
    parser.add_argument("--peer-examples", type=int, default=200, help="N for hypothesmith")
    parser.add_argument("--seeds", type=int, default=8, help="shrink with seeds 0..SEEDS-1")
    parser.add_argument("--workers", type=int, default=2, help="worker processes for validity")
    args = parser.parse_args()
    # hypothesmith compile()s its candidates in this process (never runs them); quiet its warnings
    warnings.filterwarnings("ignore", category=SyntaxWarning)
    speed_table(args)
    shrink_table(args)


if __name__ == "__main__":
    main()
