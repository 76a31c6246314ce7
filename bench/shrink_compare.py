"""Reduction benchmark (issue 6): tinyfuzz.execution.shrink.reduce beside shrinkray and picireny.

For each task in bench/tasks/ (a program and a buggy implementation), the interestingness test is
"the buggy target still disagrees with CPython with the original finding signature", both run in
warm workers (bench/tasks/differential.py). Prints tool, final characters, test runs and seconds.

    PYTHONPATH=. python bench/shrink_compare.py [--task floordiv59] [--no-peers]

shrinkray is run if its command is on PATH or given with --shrinkray (e.g. a virtualenv's
``bin/shrinkray``; ``pip install shrinkray``), with an executable test script that runs the same
test (one fresh pair of workers per call) and logs each call so its test runs can be counted.
picireny needs an ANTLR grammar of Python and the ANTLR jar (Java); without them its row shows the
issue's reference numbers.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE / "tasks"))

from differential import TASKS, DifferentialTest  # noqa: E402

from tinyfuzz.execution.shrink import reduce  # noqa: E402

REFERENCE = {  # the numbers on floordiv59: (characters, test runs)
    "shrinkray": (21, 1408),
    "picireny": (26, 200),
}
HAND_MINIMAL = "print(-7//2*13)"


def run_tinyfuzz(source: str):
    with DifferentialTest(source) as test:
        start = time.perf_counter()
        result = reduce(source, test)
        seconds = time.perf_counter() - start
    return result.source, result.tests_run, seconds, result


def run_shrinkray(command: str, task: Path, timeout: float):
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        log = tmp / "calls.log"
        script = tmp / "interesting.sh"
        script.write_text(
            "#!/bin/sh\n"
            f"echo >> '{log}'\n"
            f"exec '{sys.executable}' '{HERE / 'tasks' / 'differential.py'}' '{task}'\n")
        script.chmod(0o755)
        work = tmp / task.name
        shutil.copy(task, work)
        out = tmp / "reduced.py"
        start = time.perf_counter()
        try:
            proc = subprocess.run([command, "--parallelism", "1", "--target", str(out),
                                   str(script), str(work)],
                                  capture_output=True, text=True, timeout=timeout,
                                  stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            return None, None, time.perf_counter() - start, f"timed out after {timeout:.0f} s"
        seconds = time.perf_counter() - start
        calls = len(log.read_text().splitlines()) if log.exists() else 0
        if not out.exists():
            return None, calls, seconds, f"exit {proc.returncode}: {proc.stderr.strip()[-200:]}"
        return out.read_text(), calls, seconds, ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--task", default="floordiv59", choices=sorted(TASKS))
    parser.add_argument("--no-peers", action="store_true", help="only tinyfuzz.shrink")
    parser.add_argument("--shrinkray", default=shutil.which("shrinkray"),
                        help="the shrinkray command (default: from PATH)")
    parser.add_argument("--peer-timeout", type=float, default=900.0)
    args = parser.parse_args()
    task = TASKS[args.task]
    source = task.read_text()
    print(f"task {args.task}: {len(source.splitlines())} lines, {len(source)} characters; "
          f"hand-minimal {HAND_MINIMAL!r} ({len(HAND_MINIMAL)} characters)\n")
    rows = []
    reduced, tests, seconds, result = run_tinyfuzz(source)
    rows.append(("tinyfuzz.shrink", len(reduced), tests, f"{seconds:.1f}", repr(reduced)))
    by_pass = ", ".join(f"{k} {v}" for k, v in result.tests_by_pass.items())
    if not args.no_peers:
        ref_chars, ref_tests = REFERENCE["shrinkray"]
        if args.shrinkray:
            out, calls, seconds, error = run_shrinkray(args.shrinkray, task, args.peer_timeout)
            if out is not None:
                rows.append(("shrinkray", len(out), calls, f"{seconds:.1f}", repr(out[:40])))
            else:
                rows.append(("shrinkray (failed)", "-", calls if calls else "-", f"{seconds:.1f}",
                             error[:60]))
        else:
            rows.append(("shrinkray (not installed)", ref_chars, ref_tests, "-",
                         "issue's reference numbers"))
        ref_chars, ref_tests = REFERENCE["picireny"]
        rows.append(("picireny (not run)", ref_chars, f"~{ref_tests}", "-",
                     "issue's numbers; needs a Python ANTLR grammar + jar"))
    header = ("tool", "final chars", "test runs", "seconds", "result")
    widths = [max(len(str(r[i])) for r in rows + [header]) for i in range(len(header))]
    for row in [header] + rows:
        print("  ".join(str(cell).ljust(w) for cell, w in zip(row, widths)).rstrip())
    print(f"\ntinyfuzz.shrink tests by pass: {by_pass}; sizes: {result.history}")
    goal = len(reduced) <= REFERENCE["shrinkray"][0] and tests < REFERENCE["picireny"][1]
    print(f"goal (<= {REFERENCE['shrinkray'][0]} characters, < {REFERENCE['picireny'][1]} tests): "
          f"{'met' if goal else 'NOT met'}")


if __name__ == "__main__":
    main()
