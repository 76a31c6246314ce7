"""Guides: who makes a derivation's choices when chance alone is not wanted.

A guide is called as ``guide(rule index, allowed alternatives) -> alternative`` by the guided
expanders (``derivation.py``, mode ``guided``). ``CoverageGuide`` steers toward alternatives not used
yet (the coverage listings of ``science/coverage.py``); ``prefer_unused`` makes a campaign's batch
prefer what the campaign has not used; ``choice_alternatives`` is what coverage is counted against.
"""

from __future__ import annotations

import random

from tinyfuzz.engine.derivation import CompiledGrammar, Infeasible, derive

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


class CoverageGuide:
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
                  for kind in alternative.needed_kinds}
        while True:  # and what those need bound first (an instance needs its class)
            binders = {j for j, kind in enumerate(self.g.bind_kind) if kind in needed}
            more = {kind for j in binders for alternative in self.g.alts[j]
                    for kind in alternative.needed_kinds} - needed
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
        if not self.g.is_pick(i):
            # the shortest way to something unused (a random one of equals: the first may lead
            # only where the semantic layer finds nothing to use)
            alternatives = self.g.alts[i]
            ways = {k: 1 + min((self.distance[c] for c in alternatives[k].rules), default=INFINITY)
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


def prefer_unused(compiled, unused: frozenset, rand):
    """A guide taking an alternative in ``unused`` wherever one is allowed, else any."""
    names, original = compiled.names, compiled.original_alternative

    def guide(i: int, options) -> int:
        fresh = [k for k in options if (names[i], original(i, k)) in unused]
        choices = fresh or options
        return choices[int(rand() * len(choices))]
    return guide
