"""A toy interpreter as a command target (a process per program) and as a warm worker (it serves
tinyfuzz's worker protocol through tinyfuzz.adapter), side by side: programs/s on the same TinyPy
programs, with every bug of examples/toyc live.

    PYTHONPATH=. python bench/toyc_forms.py [--programs 3000] [--workers 2]
"""

import argparse
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tinyfuzz.engine.sampler import Sampler
from tinyfuzz.execution.targets import load_target

TOYC = Path(__file__).resolve().parent.parent / "examples" / "toyc"


def rate(target_file: Path, programs: list, workers: int) -> float:
    """Programs/s over ``workers`` pools of the target, each warmed up first."""
    target = load_target(target_file)
    chunks = [programs[i::workers] for i in range(workers)]
    pools = [target.pool(1) for _ in range(workers)]
    try:
        for pool in pools:
            pool.run(programs[:2])
        start = time.perf_counter()
        with ThreadPoolExecutor(workers) as threads:
            list(threads.map(lambda pair: pair[0].run(pair[1]), zip(pools, chunks)))
        return len(programs) / (time.perf_counter() - start)
    finally:
        for pool in pools:
            pool.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--programs", type=int, default=3000)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    sampler = Sampler("tinypy", seed=0)
    programs = [sampler.draw().source for _ in range(args.programs)]
    worker = rate(TOYC / "toyc.toml", programs, args.workers)
    process = rate(TOYC / "toyc-process.toml", programs[: max(200, args.programs // 10)], args.workers)
    print(f"toyc, {args.workers} workers: a process per program {process:,.0f} programs/s, "
          f"warm worker (tinyfuzz.adapter) {worker:,.0f} programs/s: {worker / process:.0f}x")


if __name__ == "__main__":
    main()
