"""Reproduce Table 1 of the TinyPy paper (arXiv 2403.06503): time and memory to generate datasets.

For each size (1k, 10k, 100k and 1M programs by default) the generation runs in a child process,
``python -c`` calling ``tinyfuzz.corpus.dataset.generate_dataset`` (or, with ``--cli``, the console command
``python -m tinyfuzz generate``). While it runs, the whole process tree -- the child and all its
descendants, i.e. the generator and its worker pool -- is sampled about every 100 ms with psutil (reading smaps costs ~5 ms a sample: faster sampling would steal CPU from the run it measures), and
the peaks of the summed RSS, PSS and USS are kept. RSS counts shared pages (the interpreter, shared
libraries) once per process, so its sum overstates what the tree really occupies; the PSS sum is the
fair total. When ``memory_full_info`` is refused (AccessDenied) RSS stands in for PSS and USS.

The dataset goes to a temporary directory, is checked to hold exactly N ``# output`` records, and is
deleted. Nothing here asserts on time: it prints a table, beside the paper's numbers and the goal.

    PYTHONPATH=. python bench/table1.py --sizes 1000,10000 --workers 2
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # run from anywhere, installed or not
MB = 1024 * 1024

# The paper's Table 1: programs -> (seconds, peak memory in MB).
PAPER = {1_000: (0.7, 2.6), 10_000: (7.0, 5.2), 100_000: (75.0, 29.8), 1_000_000: (983.0, 175.3)}
GOAL_N, GOAL_SECONDS, GOAL_MB = 1_000_000, 30.0, 100.0

# Runs in the child: generate, then report the generator's own summary as one JSON line on stdout.
CHILD = """\
import json, sys
from tinyfuzz.corpus.dataset import generate_dataset
n, output, seed, level, workers = sys.argv[1:6]
summary = generate_dataset(int(n), output, level=level, seed=int(seed), fmt="text",
                           workers=int(workers) or None)
print(json.dumps({"written": summary.written, "duplicates": summary.duplicates,
                  "redrawn": sum(summary.redrawn.values()), "infeasible": summary.infeasible,
                  "seconds": summary.seconds}))
"""


@dataclass
class Peaks:
    rss: int = 0  # peak over samples of the tree's summed RSS
    pss: int = 0
    uss: int = 0
    root_rss: int = 0  # peak RSS of the generator process alone
    processes: int = 0  # most processes seen in one sample
    samples: int = 0
    sample_seconds: float = 0.0  # time spent sampling, in total
    slowest_sample: float = 0.0
    cpu: dict = field(default_factory=dict)  # pid -> last CPU seconds (user + system) seen
    denied: set = field(default_factory=set)  # pids whose full info was refused
    pids: set = field(default_factory=set)  # every pid seen


def sample(root: psutil.Process, peaks: Peaks) -> None:
    started = time.perf_counter()
    try:
        tree = [root] + root.children(recursive=True)
    except (psutil.NoSuchProcess, psutil.ZombieProcess):
        return
    rss = pss = uss = 0
    counted = 0
    for proc in tree:
        try:
            try:
                info = proc.memory_full_info()
                p_rss, p_pss, p_uss = info.rss, getattr(info, "pss", info.uss), info.uss
            except psutil.AccessDenied:
                peaks.denied.add(proc.pid)
                p_rss = p_pss = p_uss = proc.memory_info().rss
            times = proc.cpu_times()
            peaks.cpu[proc.pid] = times.user + times.system
        except (psutil.NoSuchProcess, psutil.ZombieProcess, psutil.AccessDenied):
            continue  # exited between listing and reading
        if proc.pid == root.pid:
            peaks.root_rss = max(peaks.root_rss, p_rss)
        rss, pss, uss = rss + p_rss, pss + p_pss, uss + p_uss
        counted += 1
        peaks.pids.add(proc.pid)
    peaks.rss, peaks.pss, peaks.uss = max(peaks.rss, rss), max(peaks.pss, pss), max(peaks.uss, uss)
    peaks.processes = max(peaks.processes, counted)
    peaks.samples += 1
    took = time.perf_counter() - started
    peaks.sample_seconds += took
    peaks.slowest_sample = max(peaks.slowest_sample, took)


def command(n: int, output: Path, args) -> list[str]:
    if args.cli:
        argv = [sys.executable, "-m", "tinyfuzz", "generate", "-n", str(n), "--level", args.level,
                "--seed", str(args.seed), "-o", str(output), "--format", "text"]
        if args.workers:
            argv += ["--workers", str(args.workers)]
        return argv
    return [sys.executable, "-c", CHILD, str(n), str(output), str(args.seed), args.level,
            str(args.workers or 0)]


def count_records(path: Path) -> int:
    count = 0
    with open(path, "rb") as f:
        for line in f:
            if line.rstrip(b"\r\n") == b"# output":
                count += 1
    return count


def kill_tree(proc: subprocess.Popen) -> None:
    from tinyfuzz.execution.worker import reap

    reap(proc.pid)


def run_one(n: int, args) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix=f"tinyfuzz-table1-{n}-"))
    output = tmp / f"dataset-{n}.txt"
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    result = {"n": n, "problems": []}
    peaks = Peaks()
    try:
        with open(tmp / "stdout", "wb") as out, open(tmp / "stderr", "wb") as err:
            started = time.perf_counter()
            proc = subprocess.Popen(command(n, output, args), stdout=out, stderr=err, env=env,
                                    cwd=REPO)
            try:
                root = psutil.Process(proc.pid)
                tick = started
                while proc.poll() is None:
                    sample(root, peaks)
                    tick += args.interval
                    delay = tick - time.perf_counter()
                    if delay > 0:
                        time.sleep(delay)
                    else:
                        tick = time.perf_counter()  # fell behind: don't try to catch up
                wall = time.perf_counter() - started
            except BaseException:
                kill_tree(proc)
                raise
        result.update(wall=wall, peaks=peaks, returncode=proc.returncode, pid=proc.pid)
        stdout = (tmp / "stdout").read_text(errors="replace").strip()
        stderr = (tmp / "stderr").read_text(errors="replace").strip()
        if proc.returncode != 0:
            tail = "\n    ".join(stderr.splitlines()[-8:])
            result["problems"].append(f"exit code {proc.returncode}:\n    {tail}")
        if not args.cli and stdout:
            try:
                result["summary"] = json.loads(stdout.splitlines()[-1])
            except ValueError:
                result["problems"].append(f"unreadable summary: {stdout[-200:]!r}")
        if output.exists():
            records = count_records(output)
            result["records"] = records
            result["bytes"] = output.stat().st_size
            if records != n:
                result["problems"].append(f"output has {records} '# output' records, expected {n}")
        else:
            result["problems"].append("no output file was written")
        leftovers = [p for p in peaks.pids if psutil.pid_exists(p) and p != proc.pid]
        if leftovers:  # workers that outlived the generator (reparented, so no longer in the tree)
            result["problems"].append(f"{len(leftovers)} process(es) still alive after exit: "
                                      f"{sorted(leftovers)[:10]}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return result


def fmt_paper(n: int) -> tuple[str, str]:
    if n in PAPER:
        return f"{PAPER[n][0]:g}", f"{PAPER[n][1]:g}"
    return "-", "-"


def print_table(results: list[dict], args) -> None:
    head = ["programs", "wall s", "gen s", "prog/s", "RSS sum MB", "PSS sum MB", "USS sum MB",
            "gen RSS MB", "gen CPU s", "wrk CPU s", "procs", "paper s", "paper MB"]
    rows = []
    for r in results:
        p: Peaks = r.get("peaks") or Peaks()
        wall = r.get("wall")
        gen = r.get("summary", {}).get("seconds")
        paper_s, paper_mb = fmt_paper(r["n"])
        root_pid = r.get("pid")
        gen_cpu = p.cpu.get(root_pid, 0.0)
        workers_cpu = sum(t for pid, t in p.cpu.items() if pid != root_pid)
        rows.append([f"{r['n']:,}",
                     f"{wall:.2f}" if wall is not None else "-",
                     f"{gen:.2f}" if gen is not None else "-",
                     f"{r['n'] / wall:,.0f}" if wall and r.get("returncode") == 0 else "-",
                     f"{p.rss / MB:.1f}", f"{p.pss / MB:.1f}", f"{p.uss / MB:.1f}",
                     f"{p.root_rss / MB:.1f}", f"{gen_cpu:.1f}", f"{workers_cpu:.1f}",
                     str(p.processes), paper_s, paper_mb])
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(head)]
    line = lambda cells: "  ".join(c.rjust(w) for c, w in zip(cells, widths))  # noqa: E731
    mode = "python -m tinyfuzz generate" if args.cli else "generate_dataset in python -c"
    print(f"\nTable 1 -- {mode}; level={args.level} seed={args.seed} "
          f"workers={args.workers or os.cpu_count()} (cpus: {os.cpu_count()})")
    print(line(head))
    print(line(["-" * w for w in widths]))
    for row in rows:
        print(line(row))
    print(f"goal for {GOAL_N:,}: <= {GOAL_SECONDS:g} s, <= {GOAL_MB:g} MB (whole tree, PSS sum)")
    for r in results:
        if r["n"] == GOAL_N and "peaks" in r:
            ok_t, ok_m = r["wall"] <= GOAL_SECONDS, r["peaks"].pss / MB <= GOAL_MB
            print(f"  {GOAL_N:,}: time {'met' if ok_t else 'NOT met'}, "
                  f"memory {'met' if ok_m else 'NOT met'}")
    print("wall s: child process start to exit (interpreter start and imports included); "
          "gen s: generate_dataset's own timer; MB = 2**20 bytes;\n"
          "gen RSS / gen CPU: the generator process alone; wrk CPU: all its descendants (CPU seen "
          "at the last sample, so slightly low); procs: most processes in one sample.")

    for r in results:
        p: Peaks | None = r.get("peaks")
        s = r.get("summary")
        notes = []
        if s:
            notes.append(f"duplicates {s['duplicates']}, redrawn {s['redrawn']}, "
                         f"infeasible {s['infeasible']}")
        if "bytes" in r:
            notes.append(f"{r['records']:,} records, {r['bytes'] / MB:.1f} MB file")
        if p:
            mean = p.sample_seconds / max(p.samples, 1)
            notes.append(f"{p.samples} samples, {mean * 1000:.1f} ms mean / "
                         f"{p.slowest_sample * 1000:.1f} ms slowest, {len(p.pids)} pids seen")
            if p.denied:
                notes.append(f"AccessDenied for {len(p.denied)} pid(s): RSS used as PSS/USS")
            if p.samples < 3:
                notes.append("too few samples: peaks are unreliable")
        print(f"  {r['n']:,}: " + "; ".join(notes))
        for problem in r["problems"]:
            print(f"  {r['n']:,}: FAILED: {problem}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,10000,100000,1000000",
                        help="comma-separated numbers of programs (default: %(default)s)")
    parser.add_argument("--workers", type=int, default=None,
                        help="worker processes (default: the generator's default, one per CPU)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--level", default="all")
    parser.add_argument("--interval", type=float, default=0.1,
                        help="seconds between memory samples (default: %(default)s)")
    parser.add_argument("--cli", action="store_true",
                        help="run `python -m tinyfuzz generate` instead of generate_dataset")
    args = parser.parse_args()
    try:
        sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    except ValueError:
        parser.error(f"--sizes {args.sizes!r}: give comma-separated integers")

    results = []
    try:
        for n in sizes:
            print(f"generating {n:,} programs ...", flush=True)
            results.append(run_one(n, args))
            r = results[-1]
            print(f"  done in {r.get('wall', 0):.2f} s"
                  + (f" ({len(r['problems'])} problem(s))" if r["problems"] else ""), flush=True)
    except KeyboardInterrupt:
        print("interrupted; partial table:", flush=True)
    print_table(results, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
