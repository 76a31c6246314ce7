"""Mutation analysis side by side (issue 15): how much of Python each program source reaches.

Scores, with the bundled suite of semantic mutants (``tinyfuzz mutants``), in one run:
  * ``--python N`` programs of the python grammar (default 5 000);
  * ``--tinypy N`` programs of the TinyPy grammar (default 100 000);
  * with ``--paper PATH`` (the TinyPy paper's own ``code_generator.py``, from
    github.com/MarwaNair/TinyPy-Generator, whose ``anytree`` and ``tqdm`` must be installed), the
    same number of programs of the paper's generator, made by it in its own process.

It prints the killed mutants per section for each source, side by side, and how long each took.
Nothing is asserted: the numbers go in the README.

    PYTHONPATH=. python bench/mutants.py --python 5000 --tinypy 100000 --paper ../TinyPy-Generator/code_generator.py
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tinyfuzz.corpus.formats import read_programs  # noqa: E402
from tinyfuzz.science._mutant_api import SECTIONS  # noqa: E402
from tinyfuzz.science.mutants import sample_programs, score  # noqa: E402


def paper_programs(generator: Path, count: int) -> list[str]:
    """``count`` programs of the paper's generator (level ALL, deduplicated as it does), read back
    from the file it writes (the program and its ``# output`` lines; the comments are dropped by
    Python, so each program runs as the paper ran it)."""
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "paper.txt"
        subprocess.run([sys.executable, str(generator), "--num_programs", str(count), "--level", "ALL",
                        "--filename", str(out)], check=True, cwd=folder, capture_output=True)
        return list(read_programs(out))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--python", type=int, default=5000, help="programs of the python grammar (0: none)")
    parser.add_argument("--tinypy", type=int, default=100_000, help="programs of the TinyPy grammar (0: none)")
    parser.add_argument("--paper", type=Path, help="the paper's code_generator.py: as many TinyPy programs of it")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=None)
    args = parser.parse_args()

    sources = {}
    if args.python:
        sources[f"python ({args.python:,})"] = lambda: sample_programs("python", args.python, seed=args.seed)
    if args.tinypy:
        sources[f"tinypy ({args.tinypy:,})"] = lambda: sample_programs("tinypy", args.tinypy, seed=args.seed)
        if args.paper:
            sources[f"paper's generator ({args.tinypy:,})"] = lambda: paper_programs(args.paper, args.tinypy)
    scores = {}
    for name, make in sources.items():
        started = time.monotonic()
        programs = make()
        made = time.monotonic() - started
        scores[name] = score(programs, workers=args.workers)
        result = scores[name]
        print(f"{name}: {len(programs):,} distinct programs made in {made:.1f} s, {result.programs_used:,} "
              f"used ({dict(result.excluded) or 'none excluded'}), scored in {result.seconds:.1f} s: "
              f"{result.killed} of {len(result.results)} killed ({result.kill_ratio:.1%})", flush=True)

    names = list(scores)
    print("\n| section | " + " | ".join(names) + " |")
    print("|---|" + "---|" * len(names))
    for section in [*SECTIONS, "all"]:
        cells = []
        for name in names:
            result = scores[name]
            killed, total = (result.killed, len(result.results)) if section == "all" \
                else result.sections().get(section, (0, 0))
            cells.append(f"{killed}/{total}")
        print(f"| {section} | " + " | ".join(cells) + " |")
    if len(names) > 1:
        killed = {name: {r.mutant.id for r in scores[name].results if r.killed} for name in names}
        for name in names:
            others = set().union(*(killed[other] for other in names if other != name))
            only = sorted(killed[name] - others)
            print(f"\nkilled only by {name}: {', '.join(only) or 'none'}")


if __name__ == "__main__":
    main()
