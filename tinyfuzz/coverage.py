"""Grammar coverage: a listing of programs that together use every alternative of every rule.

``coverage_listing(grammar)`` derives programs with the grammar's own semantic layer (so each one
is valid and runs), steered by a guide instead of chance: at each choice it takes an alternative not
used yet, else the cheapest alternative from which an unused one can still be reached, else the
cheapest. A program is kept when it uses something new; the loop ends when nothing reachable is
left. Every rule is reached in whatever context the grammar puts it (the twelve augmented
assignment operators inside the one rule that uses them are simply alternatives to cover there).

What a listing covers is then read back from its *text* by an independent Earley parse of the
grammar (``parsing.py``), per rule; alternatives whose text the semantic layer replaces (``@eval``)
or that repeat an earlier alternative (weights) are reported apart, not silently counted.
"""

from __future__ import annotations

import random
import sys
from dataclasses import dataclass, field

from tinyfuzz.derivation import CompiledGrammar, Infeasible, derive
from tinyfuzz.grammar import Grammar, load_grammar
from tinyfuzz.parsing import grammar_k_paths, observable_alternatives, parser_for

INFINITY = float("inf")


def choice_alternatives(compiled: CompiledGrammar) -> frozenset:
    """The (rule, alternative) pairs a derivation records choosing: every alternative of every
    rule with more than one (after ``@since`` and excluded features)."""
    pairs = set()
    for i, name in enumerate(compiled.names):
        options = {compiled.original_alternative(i, k) for k in range(len(compiled.alts[i]))}
        if len(options) > 1:
            pairs.update((name, k) for k in options)
    return frozenset(pairs)


class _Guide:
    """Chooses, for the guided expanders, what brings the listing closest to full coverage."""

    def __init__(self, compiled: CompiledGrammar, rand: random.Random):
        self.g = compiled
        self.rand = rand
        self.used: set = set()  # (rule index, original alternative) chosen in kept programs
        count = len(compiled.names)
        self.original = compiled.original_alternative
        # per rule, the original alternatives this compiled grammar can choose (after @since and
        # excluded features); rules with one are covered whenever their parent's choice is
        self.choices = [{self.original(i, k) for k in range(len(compiled.alts[i]))}
                        for i in range(count)]
        # the rules each compiled alternative expands directly
        self.children = [[{item for item in alt[0] if isinstance(item, int)}
                          for alt in compiled.alts[i]] for i in range(count)]
        self.distance: list = []
        self._distances_for = -1  # len(self.used) when ``distance`` was worked out
        self.explore = False

    def open_rules(self) -> set:
        """Rules with an alternative not used yet."""
        used: dict = {}
        for rule, alternative in self.used:
            used.setdefault(rule, set()).add(alternative)
        return {i for i, choices in enumerate(self.choices)
                if len(choices) > 1 and choices - used.get(i, set())}

    def _distances(self) -> list:
        """Per rule, the fewest expansions to a rule with an unused alternative (0: it has one)."""
        open_rules = self.open_rules()
        # an unused alternative that names a kind (@use) can only be taken once a name of that
        # kind is bound: the rules that bind one are worth going to as well
        needed = {kind for i in open_rules for k, alternative in enumerate(self.g.alts[i])
                  if (i, self.original(i, k)) not in self.used
                  for kinds in alternative[3] for kind in kinds}
        while True:  # and what those need bound first (an instance needs its class)
            binders = {j for j, kind in enumerate(self.g.bind_kind) if kind in needed}
            more = {kind for j in binders for alternative in self.g.alts[j]
                    for kinds in alternative[3] for kind in kinds} - needed
            if not more:
                break
            needed |= more
        return self.g.expansions_to(open_rules | binders)

    def __call__(self, i: int, options) -> int:
        options = list(options)
        if self.explore:  # plain random: what the guide keeps missing may come by chance
            return self.rand.choice(options)
        unused = [k for k in options if (i, self.original(i, k)) not in self.used
                  and (i, self.original(i, k)) not in self.taken]
        if unused:  # the cheapest new one, once per program (else it recurses into itself)
            self.taken.add((i, self.original(i, unused[0])))
            return unused[0]
        if self.g.picks[i] is None:
            # the shortest way to something unused (a random one of equals: the first may lead
            # only where the semantic layer finds nothing to use)
            ways = {k: 1 + min((self.distance[c] for c in self.children[i][k]), default=INFINITY)
                    for k in options}
            best = min(ways.values())
            # on a shortest way (each step closer), and through each rule a few times a program
            # at most: where the way's next step does not fit, the cheapest choice may lead back
            if best <= self.distance[i] and self.followed[i] < 3:
                self.followed[i] += 1
                return self.rand.choice([k for k in options if ways[k] == best])
        # elsewhere by chance: a use is only possible where an earlier choice happened to bind
        # a name of its kind, which no distance says
        return self.rand.choice(options)

    def draw(self, rules, start: int, budget: int, attempts: int = 20):
        if self._distances_for != len(self.used):  # they change only when a program is kept
            self.distance, self._distances_for = self._distances(), len(self.used)
        for _ in range(attempts):
            self.taken = set()  # unused alternatives this derivation has taken
            self.followed = [0] * len(self.choices)  # ways followed through each rule
            try:
                return derive(self.g, rules, start, lambda n: int(self.rand.random() * n), budget,
                              guide=self)
            except Infeasible:
                continue
        return None


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
    guide = _Guide(compiled, random.Random(seed))
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


def _cover_k_paths(listing: Listing, k: int, parser, guide: _Guide, rules, start_index: int,
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
