"""Fast random programs for datasets: the derivation engine driven by a seeded ``random.Random``.

The same seed gives the same sequence of programs on every machine (``Random.random`` is stable
across CPython versions; ``randrange`` is not, so it is not used).
"""

from __future__ import annotations

import random
from pathlib import Path

from tinyfuzz.engine.derivation import CompiledGrammar, Infeasible, Program, check_budget, derive, program_from
from tinyfuzz.grammar.load import load_grammar
from tinyfuzz.grammar.model import Grammar

DEFAULT_MAX_SIZE = 200


class Sampler:
    """Draws programs from a grammar at a level; counts the draws the semantic layer had to redraw."""

    def __init__(self, grammar: Grammar | str | Path = "tinypy", *, level: str | None = None,
                 seed: int = 0, max_size: int = DEFAULT_MAX_SIZE, exclude_features=(),
                 python_version: tuple | None = None, guided: bool = False):
        self.grammar = load_grammar(grammar)
        self.compiled = CompiledGrammar(self.grammar, exclude_features=frozenset(exclude_features),
                                        python_version=python_version)
        self.level = level or "all"
        self.start = self.compiled.rule_index(self.grammar.start_for(level))
        check_budget(self.compiled, self.start, max_size)
        self.max_size = max_size
        self.infeasible = 0
        # guided: choices go through ``self.guide(rule, options)`` (random unless replaced) and
        # each Program records the (rule, alternative) pairs it used; as fast (campaigns)
        self.guided = guided
        self.guide = None
        self.reseed(seed)

    def reseed(self, seed: int) -> None:
        """Start the sequence of ``seed`` afresh, keeping the compiled grammar (campaigns draw each
        batch from its own seed; compiling the rich grammar costs 100 ms, a reseed 1 ms)."""
        rand = self.random = random.Random(seed).random
        self._choose = lambda n: int(rand() * n)
        if self.guided:  # the guided code takes its randomness from the guide: made once
            self.guide = lambda rule, options: options[int(rand() * len(options))]
            if not hasattr(self, "_rules"):
                self._rules = self.compiled.expanders(guided=True)
        else:
            self._rules = self.compiled.expanders(rand)

    def draw(self) -> Program:
        while True:
            try:
                derivation = derive(self.compiled, self._rules, self.start, self._choose,
                                    self.max_size, guide=self.guide)
            except Infeasible:
                self.infeasible += 1
                continue
            return program_from(derivation, self.grammar.name, self.level)
