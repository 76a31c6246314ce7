"""Grammar coverage: a listing of programs that together use every alternative of every rule.

``coverage_listing(grammar)`` derives programs with the grammar's own semantic layer (so each one
is valid and runs), steered by a guide instead of chance (``engine/guides.py``): at each choice it
takes an alternative not used yet, else the cheapest alternative from which an unused one can still
be reached, else the cheapest. A program is kept when it uses something new; the loop ends when
nothing reachable is left.

What a listing covers is then read back from its *text* by an independent Earley parse of the
grammar (``grammar/parser.py``), per rule; alternatives whose text the semantic layer replaces
(``@eval``) or that repeat an earlier alternative (weights) are reported apart, not silently counted.
"""

from __future__ import annotations

import random
import sys
from dataclasses import dataclass, field

from tinyfuzz.engine.derivation import CompiledGrammar
from tinyfuzz.engine.guides import CoverageGuide
from tinyfuzz.grammar.load import load_grammar
from tinyfuzz.grammar.model import Grammar
from tinyfuzz.grammar.parser import grammar_k_paths, observable_alternatives, parser_for


@dataclass
class Listing:
    grammar: Grammar
    programs: list  # program texts, each valid on its own
    generated: set  # (rule, alternative) the generator recorded choosing
    parsed: set = field(default_factory=set)  # (rule, alternative) an Earley parse of the text shows
    observable: set = field(default_factory=set)  # what a parse can show at all
    k: int = 1  # with k > 1 the listing also covers k-paths (chains of k rules)
    k_paths: set = field(default_factory=set)  # every k-path of the grammar
    k_covered: set = field(default_factory=set)  # the k-paths some parse of a program shows

    def empty_k_paths(self) -> list:
        """Rules from which no k-path starts (their expansions are fewer than k rules deep)."""
        starts = {path[0] for path in self.k_paths}
        return sorted({name for name, _ in self.observable} - starts)

    @property
    def text(self) -> str:
        """All programs as one: each defines its names before use, so they run one after another."""
        return "".join(p if p.endswith("\n") else p + "\n" for p in self.programs)

    @property
    def missing(self) -> set:
        return self.observable - self.parsed

    def per_rule(self) -> dict:
        """rule -> (alternatives the parse shows, alternatives a parse can show)."""
        table: dict = {}
        for name, index in self.observable:
            seen, total = table.get(name, (0, 0))
            table[name] = (seen + ((name, index) in self.parsed), total + 1)
        return table


def coverage_listing(grammar, *, start: str | None = None, seed: int = 0, max_size: int = 400,
                     max_programs: int = 500, python_version: tuple | None = None,
                     k: int = 1) -> Listing:
    """Programs that together use every alternative reachable from ``start`` (default: the
    grammar's start rule), for the running Python's version unless ``python_version`` is given;
    with ``k`` > 1, also every k-path the generator can reach."""
    grammar = load_grammar(grammar)
    compiled = CompiledGrammar(grammar, python_version=python_version or sys.version_info[:2])
    start_index = compiled.rule_index(grammar.start_for(start))
    rules = compiled.expanders(guided=True)
    guide = CoverageGuide(compiled, random.Random(seed))
    programs = []
    stale = 0
    while len(programs) < max_programs and stale < 1000:
        guide.explore = stale >= 100 and stale % 2 == 1  # stuck: every other draw by chance
        derivation = guide.draw(rules, start_index, max(max_size, compiled.cost[start_index]))
        if derivation is None:
            break
        new = derivation.covered - guide.used
        if not new:
            stale += 1  # nothing reachable is left unused (or the budget hides it)
            continue
        stale = 0
        guide.used |= new
        programs.append(derivation.text)
    generated = {(compiled.names[i], k) for i, k in guide.used}
    listing = Listing(grammar, programs, generated)
    parser = parser_for(grammar, grammar.start_for(start))
    for program in programs:
        listing.parsed |= parser.alternatives_used(program)
    listing.observable = observable_alternatives(grammar, grammar.start_for(start))
    if k > 1:
        _cover_k_paths(listing, k, parser, guide, rules, start_index,
                       max(max_size, compiled.cost[start_index]), grammar.start_for(start))
    return listing


def _cover_k_paths(listing: Listing, k: int, parser, guide: CoverageGuide, rules, start_index: int,
                   budget: int, start: str, patience: int = 200) -> None:
    """Add programs until every k-path shows in some parse, or ``patience`` draws in a row add
    none (guided and plain random draws alternating: no guide steers towards paths yet)."""
    listing.k = k
    listing.k_paths = grammar_k_paths(listing.grammar, k, start)
    for program in listing.programs:
        listing.k_covered |= parser.k_paths_used(program, k) & listing.k_paths
    stale = 0
    while stale < patience and listing.k_covered < listing.k_paths:
        guide.explore = stale % 2 == 1
        derivation = guide.draw(rules, start_index, budget)
        if derivation is None:
            break
        new = (parser.k_paths_used(derivation.text, k) & listing.k_paths) - listing.k_covered
        if not new:
            stale += 1
            continue
        stale = 0
        listing.k_covered |= new
        listing.programs.append(derivation.text)
        listing.parsed |= parser.alternatives_used(derivation.text)
