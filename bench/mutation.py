"""Mutation and crossover: speed, validity on CPython, novelty, and what they find in a campaign.

    PYTHONPATH=. python bench/mutation.py [--parents 200] [--count 1000] [--campaign 6000]

(1) For each grammar (tinypy, python): trees of ``--parents`` generated programs made from their
text (Earley parse + replay: the cost a corpus program pays once), then ``--count`` programs per
operator (regenerate, point, crossover) made from them; printed: programs/s made (beside the
sampler drawing fresh programs), share that run cleanly on CPython (in workers), share distinct,
share not among the parents, and mean lines that differ from the parent. (2) With ``--campaign N``:
campaigns of N programs each against MicroPython on the python grammar, the same seed, one
generating every program, one making half of each batch from a corpus of generated programs;
printed: distinct buckets found by each, and by only one of them. A first campaign (another seed)
feeds its findings into the corpus first: mutation takes them as parents too.
"""

import argparse
import difflib
import os
import tempfile
import time
from collections import Counter

from tinyfuzz import Sampler
from tinyfuzz.corpus.corpus import Corpus
from tinyfuzz.engine.mutate import OPERATORS, Mutator
from tinyfuzz.execution.pair import run_on_reference


def changed_lines(before: str, after: str) -> int:
    return sum(1 for line in difflib.ndiff(before.splitlines(), after.splitlines())
               if line[:1] in "+-")


def operators(grammar: str, parents: int, count: int) -> None:
    sampler = Sampler(grammar, seed=1)
    sources = [sampler.draw().source for _ in range(parents)]
    start = time.perf_counter()
    for _ in range(count):
        sampler.draw()
    fresh_rate = count / (time.perf_counter() - start)
    mutator = Mutator(grammar, seed=2)
    start = time.perf_counter()
    trees = [mutator.tree_of(source) for source in sources]
    parse_seconds = (time.perf_counter() - start) / parents
    derivable = [t for t in trees if t is not None]
    print(f"\n{grammar}: {len(derivable)}/{parents} parents have a tree, "
          f"{parse_seconds * 1000:.1f} ms each; the sampler draws {fresh_rate:,.0f} fresh programs/s")
    print(f"  {'operator':11} {'made/s':>8} {'clean':>7} {'distinct':>9} {'novel':>7} "
          f"{'lines changed':>14}  not clean")
    parent_texts = {t.text for t in derivable}
    for op in OPERATORS:
        start = time.perf_counter()
        made, failed = [], 0
        while len(made) < count:
            mutant = mutator.offspring(derivable, op)
            if mutant is None:
                failed += 1
                continue
            made.append(mutant)
        rate = count / (time.perf_counter() - start)
        sources = [m.source for m in made]
        outcomes = run_on_reference(sources)
        clean = sum(o.ok for o in outcomes) / count
        bad = Counter(o.exc_type or o.status for o in outcomes if not o.ok)
        novel = sum(s not in parent_texts for s in sources) / count
        # lines changed against the closest parent (for crossover, the recipient is one of them)
        changes = [min(changed_lines(p, m.source) for p in parent_texts if p[:20] == m.source[:20])
                   if any(p[:20] == m.source[:20] for p in parent_texts) else None for m in made]
        known = [c for c in changes if c is not None]
        mean_change = f"{sum(known) / len(known):.1f}" if known else "-"
        print(f"  {op:11} {rate:8,.0f} {clean:7.2%} {len(set(sources)) / count:9.1%} "
              f"{novel:7.1%} {mean_change:>14}  {dict(bad.most_common(3)) or ''}"
              + (f" ({failed} attempts gave nothing)" if failed else ""))


def campaigns(programs: int, workers: int) -> None:
    """A first campaign feeds its findings into a corpus of 300 generated programs; then, with
    another seed, one campaign generates every program and one makes half of each batch from that
    corpus (its correct programs and the findings, as LangFuzz mutates failing tests)."""
    from tinyfuzz.campaign.config import Budget, CampaignConfig
    from tinyfuzz.campaign.driver import Campaign

    out = tempfile.mkdtemp(prefix="tinyfuzz-mutation-")
    corpus_db = os.path.join(out, "corpus.sqlite")
    Corpus(corpus_db).add_generated("python", 300, seed=99)

    def campaign(name: str, seed: int, **extra) -> set:
        config = CampaignConfig(targets=("micropython",), grammar="python", seed=seed, **extra)
        start = time.perf_counter()
        status = Campaign(config, db=os.path.join(out, f"{name}.sqlite"),
                          budget=Budget(programs=programs), workers=workers,
                          crashes=os.path.join(out, f"crashes-{name}")).run()
        seconds = time.perf_counter() - start
        print(f"  {name:13} seed {seed}: {status.programs:,} programs in {seconds:.0f} s "
              f"({status.programs / seconds:,.0f}/s): {len(status.buckets)} buckets")
        return set(status.buckets)

    first = campaign("first", 5, corpus=corpus_db)  # mutate 0: it only feeds the corpus
    generated = campaign("generated", 6)
    mutated = campaign("half-mutated", 6, corpus=corpus_db, mutate=0.5)
    print(f"  seed 6, buckets the first campaign had not found: generated {len(generated - first)}, "
          f"half mutated {len(mutated - first)}; only generated {len(generated - mutated)}, only "
          f"half mutated {len(mutated - generated)}, both {len(generated & mutated)}  "
          f"(stores in {out})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parents", type=int, default=200)
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--grammars", default="tinypy,python")
    parser.add_argument("--campaign", type=int, default=0,
                        help="programs per campaign against MicroPython (0: skip)")
    parser.add_argument("--workers", type=int, default=os.cpu_count())
    args = parser.parse_args()
    for grammar in args.grammars.split(","):
        operators(grammar, args.parents, args.count)
    if args.campaign:
        print(f"\ncampaigns against MicroPython, {args.campaign:,} programs each:")
        campaigns(args.campaign, args.workers)


if __name__ == "__main__":
    main()
