"""Programs from a task description: draws per kept program and seconds per description, for the
table of descriptions in ``tests/test_describe.py``.

    PYTHONPATH=. python bench/describe_table.py [--programs 20] [--seed 0] [--workers 1]

For each description: the grammar chosen, programs kept, draws, draws per kept program, the
commonest reason a draw was not kept, and the seconds ``generate_programs`` took (deriving,
checking, rewriting, and running every kept candidate on CPython in a fresh worker pool). One-time
costs are printed apart: loading spaCy and the patterns, and mapping each grammar (the minimal
program of every alternative, parsed; made once per process).
"""

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from test_describe import TABLE  # noqa: E402

from tinyfuzz.describe.task import generate_programs, grammar_map, parse  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--programs", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()

    started = time.perf_counter()
    parse("a loop")
    print(f"spaCy pipeline and patterns: {time.perf_counter() - started:.2f} s (once)")
    for name in ("tinypy", "python"):
        started = time.perf_counter()
        grammar_map(name)
        print(f"{name} grammar map: {time.perf_counter() - started:.2f} s (once)")

    print(f"\n{'description':58} {'grammar':7} {'kept':>4} {'draws':>5} {'per kept':>8} "
          f"{'seconds':>7}  commonest rejection")
    total_draws = total_kept = 0
    total_seconds = 0.0
    for case in TABLE:
        started = time.perf_counter()
        constraints = parse(case.description)
        generated = generate_programs(constraints, args.programs, seed=args.seed,
                                      workers=args.workers)
        seconds = time.perf_counter() - started
        kept = len(generated.programs)
        total_draws, total_kept, total_seconds = (total_draws + generated.draws, total_kept + kept,
                                                  total_seconds + seconds)
        why = ", ".join(f"{reason} ({count})" for reason, count in generated.rejected.most_common(1))
        print(f"{case.description[:58]:58} {generated.grammar:7} {kept:4} {generated.draws:5} "
              f"{generated.draws / kept:8.2f} {seconds:7.2f}  {why}")
    print(f"\n{len(TABLE)} descriptions, {total_kept} programs: {total_draws / total_kept:.2f} draws "
          f"per kept program, {total_seconds / len(TABLE):.2f} s per description "
          f"({total_seconds / total_kept * 1000:.0f} ms per program)")


if __name__ == "__main__":
    main()
