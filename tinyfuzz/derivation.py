"""The one derivation engine: grammar + semantic layer + a source of choices -> program text.

The dataset sampler feeds it choices from ``random.Random``; the Hypothesis strategy feeds it choices
drawn with ``st.integers``, so Hypothesis can store and shrink them. Everything else (budgets, scopes,
shared and evaluated symbols, redraws) lives here once.

Compilation makes the hot loop cheap: rules with one alternative and no semantics are inlined, adjacent
terminals merged, rules that only choose among terminals become a single pick, and each rule's
alternatives are sorted cheapest first, so choice 0 is always the simplest (Hypothesis shrinks toward
it) and the alternatives that fit a budget are a prefix.

Termination is guaranteed by the size budget: ``committed`` counts expansions done plus the minimum
cost of every symbol still pending, and an alternative is chosen only if it keeps that within the
budget. The cheapest alternative never raises ``committed``, so a derivation always completes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from tinyfuzz.errors import InvalidArgument
from tinyfuzz.grammar import Grammar, NonTerminal, Terminal, alternative_cost
from tinyfuzz.semantics import Semantics, divides_by_certain_zero, evaluate_integer

USE, SCOPE, SHARED, SHARED_SCOPE, EVAL, NONZERO, FEATURE = (1 << k for k in range(7))
NONZERO_RETRIES = 20
LEVEL_PREFIX = "level:"


class Infeasible(Exception):
    """The semantic layer found no way to continue (e.g. nothing bound yet): redraw the program."""


@dataclass(frozen=True)
class Program:
    """A generated program: its source and what it was made from."""

    source: str
    grammar: str = ""
    level: str = ""
    features: frozenset = frozenset()

    def __str__(self) -> str:
        return self.source


class CompiledGrammar:
    """A grammar flattened into lists indexed by rule number, ready for fast derivation."""

    def __init__(self, grammar: Grammar, *, exclude_features=frozenset(),
                 python_version: tuple | None = None):
        self.grammar = grammar
        self.semantics = sem = Semantics.of(grammar)
        unknown = set(exclude_features) - set(sem.feature_names())
        if unknown:
            raise InvalidArgument(f"exclude_features={sorted(unknown)!r}: not features of "
                                  f"{grammar.path}; its features are {sem.feature_names()}")
        names = list(grammar.rules)
        self.names = names
        self.index = {name: i for i, name in enumerate(names)}
        cost = grammar.min_cost
        excluded = {name for name, feats in sem.features.items() if set(feats) & set(exclude_features)}
        if python_version is not None:
            excluded |= {name for name, v in sem.since.items() if v > tuple(python_version)[:2]}
        self.excluded = frozenset(excluded)

        flags = [0] * len(names)
        for name in sem.uses:
            flags[self.index[name]] |= USE
        for name in sem.scopes:
            flags[self.index[name]] |= SCOPE
        for name, scope in sem.shared.items():
            flags[self.index[name]] |= SHARED
            flags[self.index[scope]] |= SHARED_SCOPE
        for name in sem.evals:
            flags[self.index[name]] |= EVAL
        for name in sem.nonzero:
            flags[self.index[name]] |= NONZERO
        for name in sem.features:
            flags[self.index[name]] |= FEATURE
        self.flags = flags
        self.bind_kind = [sem.binds.get(n) for n in names]
        self.use_kinds = [sem.uses.get(n) for n in names]
        self.feature = [sem.features.get(n, ()) for n in names]
        for level, name in grammar.levels.items():  # a derivation records which level it took
            flags[self.index[name]] |= FEATURE
            self.feature[self.index[name]] += (LEVEL_PREFIX + level,)
        self.shared_in = [self.index[sem.shared[n]] if n in sem.shared else -1 for n in names]
        self.cost = [cost[n] for n in names]

        # Inline rules with one alternative and no semantics, unless their alternative binds (a bind
        # takes effect when its own alternative completes, which inlining would move).
        def inlinable(name: str) -> bool:
            alts = grammar.rules[name].alternatives
            return (flags[self.index[name]] == 0 and name not in sem.binds and len(alts) == 1
                    and not any(isinstance(s, NonTerminal) and s.name in sem.binds for s in alts[0]))

        inline_cache: dict[str, list] = {}

        def items_of(alternative, seen=()) -> list:
            items: list = []
            for symbol in alternative:
                if isinstance(symbol, Terminal):
                    items.append(symbol.text)
                elif inlinable(symbol.name) and symbol.name not in seen:
                    if symbol.name not in inline_cache:
                        inline_cache[symbol.name] = items_of(
                            grammar.rules[symbol.name].alternatives[0], seen + (symbol.name,))
                    items.extend(inline_cache[symbol.name])
                else:
                    items.append(self.index[symbol.name])
            merged: list = []
            for item in items:  # merge adjacent terminals
                if merged and isinstance(item, str) and isinstance(merged[-1], str):
                    merged[-1] += item
                else:
                    merged.append(item)
            return merged

        self.alts: list[list[tuple]] = []  # per rule: (items, delta, binds, needs_kinds), cheapest first
        self.picks: list = []  # per rule: tuple of strings if it only chooses among terminals
        for i, name in enumerate(names):
            compiled = []
            for original in grammar.rules[name].alternatives:
                if any(isinstance(s, NonTerminal) and s.name in excluded for s in original):
                    continue
                items = tuple(items_of(original))
                delta = alternative_cost(original, cost) - cost[name]
                binds = any(isinstance(x, int) and self.bind_kind[x] for x in items)
                compiled.append((items, delta, binds, ()))
            compiled.sort(key=lambda alt: alt[1])  # stable: ties keep the grammar's order
            self.alts.append(compiled)
            only_terminals = compiled and all(len(a[0]) <= 1 and all(isinstance(x, str) for x in a[0])
                                              and not a[2] for a in compiled)
            self.picks.append(tuple(a[0][0] if a[0] else "" for a in compiled)
                              if only_terminals else None)
        self.deltas = [[a[1] for a in alts] for alts in self.alts]
        self.may_bind = self._may_bind()
        self.alts = [[(items, delta, binds, self._needs(items)) for items, delta, binds, _ in alts]
                     for alts in self.alts]
        self.needed_kinds = [tuple(sorted({k for a in alts for kinds in a[3] for k in kinds}))
                             for alts in self.alts]
        # Fast items for the hot loop: a pick with no semantics and no bind becomes its tuple of strings.
        self.alts = [[(tuple(self._fast_item(x) for x in items), delta, binds, needs)
                      for items, delta, binds, needs in alts] for alts in self.alts]

    def _fast_item(self, x):
        if (isinstance(x, int) and self.picks[x] is not None and not self.flags[x]
                and not self.bind_kind[x] and len(self.picks[x]) > 1):
            return self.picks[x]
        if isinstance(x, int) and self.picks[x] is not None and len(self.picks[x]) == 1 \
                and not self.flags[x] and not self.bind_kind[x]:
            return self.picks[x][0]
        return x

    def _needs(self, items: tuple) -> tuple:
        """The kinds an alternative needs bound before it starts: its @use items up to the first
        item that may bind a name (whatever follows may find that name)."""
        needs = []
        for x in items:
            if isinstance(x, int):
                if self.use_kinds[x]:
                    needs.append(self.use_kinds[x])
                elif self.may_bind[x]:
                    break
        return tuple(needs)

    def _may_bind(self) -> list[bool]:
        """Can an expansion of each rule bind a name (so a redraw must restore the scopes)?"""
        result = [bool(self.bind_kind[i]) for i in range(len(self.names))]
        changed = True
        while changed:
            changed = False
            for i, alts in enumerate(self.alts):
                if not result[i] and any(result[x] for a in alts for x in a[0] if isinstance(x, int)):
                    result[i] = changed = True
        return result

    def rule_index(self, name: str) -> int:
        if name not in self.index:
            raise InvalidArgument(f"start={name!r} is not a rule of {self.grammar.path}")
        if name in self.excluded or not self.alts[self.index[name]]:
            raise InvalidArgument(f"start={name!r} is excluded by the chosen features or version")
        return self.index[name]


class Derivation:
    """One program's derivation state. ``choose(n)`` returns an int in ``range(n)``."""

    __slots__ = ("g", "choose", "budget", "committed", "out", "scopes", "memo", "features",
                 "alts", "deltas", "picks", "flags", "bind_kind", "needed_kinds")

    def __init__(self, compiled: CompiledGrammar, choose: Callable[[int], int], budget: int):
        self.g = compiled
        self.choose = choose
        self.budget = budget
        self.committed = 0
        self.out: list[str] = []
        self.scopes: dict[str, list] = {}
        self.memo: dict[int, dict] = {}
        self.features: set = set()
        self.alts = compiled.alts
        self.deltas = compiled.deltas
        self.picks = compiled.picks
        self.flags = compiled.flags
        self.bind_kind = compiled.bind_kind
        self.needed_kinds = compiled.needed_kinds

    def run(self, start: int) -> str:
        self.committed = self.g.cost[start]
        if self.committed > self.budget:
            raise InvalidArgument(f"max_size={self.budget} is below the minimum size "
                                  f"{self.committed} of <{self.g.names[start]}>")
        self.expand(start)
        return "".join(self.out)

    def expand(self, i: int) -> None:
        if self.flags[i]:
            self._expand_special(i)
            return
        pick = self.picks[i]
        if pick is not None:
            self.out.append(pick[self.choose(len(pick))] if len(pick) > 1 else pick[0])
            return
        self._expand_alternative(i)

    def _expand_alternative(self, i: int) -> None:
        alts = self.alts[i]
        kinds = self.needed_kinds[i]
        if kinds and not all(self.scopes.get(kind) for kind in kinds):
            candidates = self._feasible(i)  # some kind is empty: check each alternative
            items, delta, binds, _ = alts[candidates[self.choose(len(candidates))]
                                         if len(candidates) > 1 else candidates[0]]
        else:
            room = self.budget - self.committed
            deltas = self.deltas[i]
            n = len(deltas)
            while deltas[n - 1] > room:  # deltas[0] == 0 always fits
                n -= 1
            items, delta, binds, _ = alts[self.choose(n) if n > 1 else 0]
        self.committed += delta
        out = self.out
        choose = self.choose
        if not binds:
            for item in items:
                cls = item.__class__
                if cls is str:
                    out.append(item)
                elif cls is tuple:  # a pick among terminals, inlined
                    out.append(item[choose(len(item))])
                else:
                    self.expand(item)
            return
        bound = []
        for item in items:
            cls = item.__class__
            if cls is str:
                out.append(item)
            elif cls is tuple:
                out.append(item[choose(len(item))])
            else:
                start = len(out)
                self.expand(item)
                kind = self.bind_kind[item]
                if kind:
                    bound.append((kind, "".join(out[start:])))
        for kind, name in bound:
            self.bind(kind, name)

    def _feasible(self, i: int) -> list[int]:
        room = self.budget - self.committed
        scopes = self.scopes
        result = [k for k, (_, delta, _, needs) in enumerate(self.alts[i])
                  if delta <= room and all(any(scopes.get(kind) for kind in kinds) for kinds in needs)]
        if not result:
            raise Infeasible(f"<{self.g.names[i]}>: no alternative fits (nothing bound yet?)")
        return result

    def bind(self, kind: str, name: str) -> None:
        for other, names in self.scopes.items():
            if other != kind and name in names:
                names.remove(name)
        names = self.scopes.setdefault(kind, [])
        if name not in names:
            names.append(name)

    def _expand_special(self, i: int) -> None:
        flags = self.flags[i]
        out = self.out
        if flags & USE:
            names = [n for kind in self.g.use_kinds[i] for n in self.scopes.get(kind, ())]
            if not names:
                raise Infeasible(f"<{self.g.names[i]}>: no {'/'.join(self.g.use_kinds[i])} bound yet")
            out.append(names[self.choose(len(names))] if len(names) > 1 else names[0])
            return
        memo = None
        if flags & SHARED:
            memo = self.memo.get(self.g.shared_in[i])
            if memo is not None and i in memo:
                out.append(memo[i])
                return
        if flags & FEATURE:
            self.features.update(self.g.feature[i])
        start = len(out)
        if flags & NONZERO:
            self._expand_nonzero(i, start)
        else:
            self._expand_scoped(i)
        if flags & EVAL:
            value = evaluate_integer("".join(out[start:]))
            del out[start:]
            out.append(str(value))
        if memo is not None:
            memo[i] = "".join(out[start:])

    def _expand_nonzero(self, i: int, start: int) -> None:
        committed = self.committed
        saved = {k: list(v) for k, v in self.scopes.items()} if self.g.may_bind[i] else None
        for _ in range(NONZERO_RETRIES):
            self._expand_scoped(i)
            if not divides_by_certain_zero("".join(self.out[start:])):
                return
            del self.out[start:]
            self.committed = committed
            if saved is not None:
                self.scopes = {k: list(v) for k, v in saved.items()}
        raise Infeasible(f"<{self.g.names[i]}>: every redraw divided by zero")

    def _expand_scoped(self, i: int) -> None:
        flags = self.flags[i]
        if flags & SHARED_SCOPE:
            outer = self.memo.get(i)
            self.memo[i] = {}
        if flags & SCOPE:
            saved = {k: list(v) for k, v in self.scopes.items()}
        if self.picks[i] is not None:
            pick = self.picks[i]
            self.out.append(pick[self.choose(len(pick))] if len(pick) > 1 else pick[0])
        else:
            self._expand_alternative(i)
        if flags & SCOPE:
            self.scopes = saved
        if flags & SHARED_SCOPE:
            if outer is None:
                del self.memo[i]
            else:
                self.memo[i] = outer


def derive(compiled: CompiledGrammar, start: int, choose: Callable[[int], int],
           budget: int) -> tuple[str, frozenset]:
    """Derive one program; returns its text and the features it used. May raise ``Infeasible``."""
    derivation = Derivation(compiled, choose, budget)
    text = derivation.run(start)
    return text, frozenset(derivation.features)


def program_from(text: str, features: frozenset, grammar: str, default_level: str) -> Program:
    """A ``Program`` whose level is the ``@level`` rule the derivation went through."""
    level = default_level
    plain = set()
    for feature in features:
        if feature.startswith(LEVEL_PREFIX):
            level = feature[len(LEVEL_PREFIX):]
        else:
            plain.add(feature)
    return Program(text, grammar, level, frozenset(plain))
