"""The learned generator (issue 9): training time, validation loss, validity and novelty of samples.

For each grammar, draws N programs with ``Sampler`` (the training corpus), trains an LSTM on them
(``tinyfuzz.learn.lstm.train``, or with ``--search K`` Optuna's TPE over units, layers, learning rate and
batch size first), samples S programs at each temperature and runs them on CPython in worker
processes. Prints per grammar and temperature: the configuration, epochs, training seconds,
validation loss, and of the samples the share that compiled, the share that ran cleanly (valid),
distinct valid programs, and the share of those that are novel (not in the training corpus,
compared after renaming and respacing).

    PYTHONPATH=. python bench/learned.py [--grammar tinypy] [--grammar python] [--programs 2000]
        [--samples 500] [--search 0] [--epochs 20] [--temperature 1.0 ...] [--seed 0] [--threads 1]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tinyfuzz.engine.sampler import Sampler  # noqa: E402
from tinyfuzz.learn import lstm as learn  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grammar", action="append", default=None,
                        help="grammar(s) of the training programs (default: tinypy)")
    parser.add_argument("--programs", type=int, default=2000, help="training corpus size")
    parser.add_argument("--samples", type=int, default=500)
    parser.add_argument("--search", type=int, default=0, metavar="K", help="Optuna trials first")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--temperature", type=float, action="append", default=None,
                        help="sampling temperature(s) (default: 1.0)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1, help="PyTorch threads")
    args = parser.parse_args()
    learn.use_threads(args.threads)

    rows = []
    for grammar in args.grammar or ["tinypy"]:
        sampler = Sampler(grammar, seed=args.seed)
        programs = [sampler.draw().source for _ in range(args.programs)]
        config = learn.Config(epochs=args.epochs)
        print(f"{grammar}: training on {len(programs):,} programs", flush=True)
        if args.search:
            model = learn.search(programs, args.search, config=config, seed=args.seed,
                                 on_trial=lambda row: print(
                                     f"  trial {row['trial']}: {learn.describe(row)}: validation "
                                     f"loss {row['validation_loss']:.3f} ({row['seconds']:.1f} s)",
                                     flush=True))
        else:
            model = learn.train(programs, config, seed=args.seed)
        print(f"  {model.summary()}", flush=True)
        for temperature in args.temperature or [1.0]:
            report = learn.sample(model, args.samples, temperature=temperature, seed=args.seed)
            print(f"  temperature {temperature}: {report.summary()}", flush=True)
            rows.append((grammar, model, temperature, report))

    print()
    header = ("grammar", "programs", "epochs", "train s", "search s", "val loss", "temp",
              "drawn", "compiled", "ran clean", "distinct", "novel")
    print("".join(f"{h:>10}" for h in header))
    for grammar, model, temperature, report in rows:
        stats, distinct = model.stats, len(report.programs)
        cells = (grammar, f"{stats['programs']:,}", str(len(stats["epochs"])),
                 f"{stats['seconds']:.1f}", f"{stats.get('search_seconds', 0):.1f}",
                 f"{stats['validation_loss']:.3f}", f"{temperature:g}", f"{report.drawn:,}",
                 f"{report.compiled / report.drawn:.1%}", f"{report.valid / report.drawn:.1%}",
                 f"{distinct:,}", f"{report.novel / distinct:.1%}" if distinct else "-")
        print("".join(f"{c:>10}" for c in cells))


if __name__ == "__main__":
    main()
