"""The grammar model: rules, alternatives, symbols, directives, minimum derivation costs.

A grammar is the simplest model that works (fuzzingbook's lesson): each nonterminal maps to a tuple of
alternatives, each alternative a tuple of symbols. Beside the rules, a grammar file declares *directives*
(lines starting with ``@``): the start rule, named levels, and the semantic layer a context-free grammar
cannot say (``grammar/semantics.py`` says what each one means). Readers of grammar files live beside
it (``bnf.py``, ``lark_loader.py``) and ``load.py`` chooses one, as Lark keeps ``grammar.py`` apart
from ``load_grammar.py``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Mapping, Union


@dataclass(frozen=True)
class Terminal:
    text: str

    def __str__(self) -> str:
        return repr(self.text)


@dataclass(frozen=True)
class NonTerminal:
    name: str
    line: int = field(default=0, compare=False)
    column: int = field(default=0, compare=False)

    def __str__(self) -> str:
        return f"<{self.name}>"


Symbol = Union[Terminal, NonTerminal]
Alternative = tuple  # tuple[Symbol, ...]


@dataclass(frozen=True)
class Rule:
    name: str
    alternatives: tuple  # tuple[Alternative, ...]
    line: int = 0
    column: int = 0


@dataclass(frozen=True)
class Directive:
    """One ``@keyword args...`` line: the semantic layer reads these (``semantics.Semantics``)."""

    keyword: str
    words: tuple  # plain words (kinds, feature names, versions, level names)
    symbols: tuple  # tuple[NonTerminal, ...] named by the directive
    line: int
    column: int


DIRECTIVES = {
    # keyword: (number of plain words before the symbols, help text)
    "start": (0, "@start <rule>"),
    "level": (1, "@level NAME <rule>"),
    "use": (1, "@use KIND[,KIND...] <rule>..."),
    "bind": (1, "@bind KIND <rule>..."),
    "scope": (0, "@scope <rule>..."),
    "shared": (0, "@shared <rule>... in <scope-rule>"),
    "eval": (0, "@eval <rule>..."),
    "nonzero": (0, "@nonzero <rule>..."),
    "assign": (0, "@assign <rule>..."),
    "feature": (1, "@feature NAME <rule>..."),
    "since": (1, "@since 3.10 <rule>..."),
    "indent": (0, "@indent <rule>..."),
}


@dataclass(frozen=True, eq=False)  # compared and hashed by identity: cheap cache keys
class Grammar:
    """A validated grammar: rules, start rule, named levels, directives, minimum derivation costs."""

    rules: Mapping[str, Rule]
    start: str
    levels: Mapping[str, str]
    directives: tuple
    min_cost: Mapping[str, int]
    path: str = "<grammar>"
    name: str = "grammar"

    def start_for(self, level: str | None = None) -> str:
        """The start rule for ``level`` (a declared level name, ``all``, or a rule name)."""
        if level is None or level == "all" and "all" not in self.levels:
            return self.start
        if level in self.levels:
            return self.levels[level]
        if level.strip("<>") in self.rules:
            return level.strip("<>")
        from tinyfuzz.errors import InvalidArgument

        known = ", ".join(["all", *self.levels]) or "none"
        raise InvalidArgument(
            f"level={level!r} is not a level of {self.path}; known levels: {known}")

    def alternatives(self, name: str) -> tuple:
        return self.rules[name].alternatives

    def __repr__(self) -> str:
        return f"Grammar({self.name!r}, {len(self.rules)} rules, start=<{self.start}>)"


def min_costs(rules: Mapping[str, Rule]) -> dict[str, float]:
    """Minimum number of rule expansions to derive a terminal string, per nonterminal (fixed point)."""
    cost: dict[str, float] = {name: math.inf for name in rules}
    changed = True
    while changed:
        changed = False
        for name, rule in rules.items():
            best = min((alternative_cost(alt, cost) for alt in rule.alternatives), default=math.inf)
            if best < cost[name]:
                cost[name] = best
                changed = True
    return {name: (int(c) if c != math.inf else c) for name, c in cost.items()}


def alternative_cost(alternative: tuple, cost: Mapping[str, float]) -> float:
    return 1 + sum(cost[s.name] for s in alternative if isinstance(s, NonTerminal))


def reachable(rules: Mapping[str, Rule], roots) -> set[str]:
    seen: set[str] = set()
    stack = list(roots)
    while stack:
        name = stack.pop()
        if name in seen:
            continue
        seen.add(name)
        for alternative in rules[name].alternatives:
            stack.extend(s.name for s in alternative if isinstance(s, NonTerminal))
    return seen
