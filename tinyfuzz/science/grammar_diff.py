"""``tinyfuzz grammar-diff``: do two grammars describe the same language? Cross-parsing.

Each grammar's coverage listing and a random sample are parsed by the other's Earley parser
(``grammar/parser.py``); what one generates and the other rejects is a counterexample, the shortest
reduced further while it still separates them. None found is evidence, not proof: equivalence of
context-free grammars is undecidable.
"""

from __future__ import annotations

from dataclasses import dataclass

from tinyfuzz.grammar.load import load_grammar
from tinyfuzz.grammar.parser import parser_for


@dataclass(frozen=True)
class Counterexample:
    text: str  # a program one grammar generates and the other does not accept
    generated_by: str  # path of the grammar that generated it
    rejected_by: str


def grammar_diff(first, second, *, samples: int = 200, seed: int = 0,
                 max_examples: int = 5) -> list[Counterexample]:
    """Cross-parse two grammars: each one's coverage listing and random sample, parsed by the
    other's Earley parser. Returns counterexamples (shortest first, at most ``max_examples`` each
    way); none means no difference was found (not a proof: equivalence of context-free grammars is
    undecidable)."""
    from tinyfuzz.engine.sampler import Sampler
    from tinyfuzz.science.coverage import coverage_listing

    grammars = load_grammar(first), load_grammar(second)
    found = []
    for source, other in (grammars, grammars[::-1]):
        parser = parser_for(other)
        texts = set(coverage_listing(source, seed=seed).programs)
        sampler = Sampler(source, seed=seed)
        texts.update(sampler.draw().source for _ in range(samples))
        rejected = sorted((t for t in texts if not parser.accepts(t)), key=lambda t: (len(t), t))
        if rejected:  # the shortest, reduced further while one grammar accepts it and the other not
            own = parser_for(source)
            rejected[0] = _reduce(rejected[0], lambda t: own.accepts(t) and not parser.accepts(t))
        found += [Counterexample(t, source.path, other.path) for t in rejected[:max_examples]]
    return found


def _reduce(text: str, interesting) -> str:
    from tinyfuzz.errors import InvalidArgument
    from tinyfuzz.execution.shrink import reduce

    try:
        return reduce(text, interesting, max_tests=300).source
    except (InvalidArgument, SyntaxError):  # not Python the reducer can parse: keep it as it is
        return text
