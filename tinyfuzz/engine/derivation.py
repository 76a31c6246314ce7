"""The one derivation engine: grammar + semantic layer + a source of choices -> program text.

The dataset sampler feeds it choices from ``random.Random``; the Hypothesis strategy feeds it choices
drawn with ``st.integers``, so Hypothesis can store and shrink them. Everything else (budgets, scopes,
shared and evaluated symbols, redraws) lives here once.

The grammar is compiled to Python source (``generate_source``): one function per rule returning
its text, children built left to right in one f-string. Rules with one alternative and no semantics
are inlined, adjacent terminals merged, rules that only choose among terminals become a single pick,
and each rule's alternatives are sorted cheapest first, so choice 0 is always the simplest
(Hypothesis shrinks toward it) and the alternatives that fit a budget are a prefix. What a @use deep
inside an alternative needs is known at compile time, so alternatives that would dead-end are not
chosen. The fast variant inlines ``int(R() * n)`` for choices; the strategy's calls ``d.choose``
and wraps every rule expansion in a Hypothesis span.

Termination is guaranteed by the size budget: ``committed`` counts expansions done plus the minimum
cost of every symbol still pending, and an alternative is chosen only if it keeps that within the
budget. The cheapest alternative never raises ``committed``, so a derivation always completes.
"""

from __future__ import annotations

import math
from typing import Callable, NamedTuple

from tinyfuzz.errors import InvalidArgument
from tinyfuzz.grammar.model import Grammar, NonTerminal, Rule, Terminal, alternative_cost, min_costs
from tinyfuzz.grammar.semantics import Semantics, assigned_value, divisor_may_be_zero, evaluate_integer, indent_block

USE, SCOPE, SHARED, SHARED_SCOPE, EVAL, NONZERO, FEATURE, ASSIGN, INDENT = (1 << k for k in range(9))
NONZERO_RETRIES = 20
LEVEL_PREFIX = "level:"
_GONE = object()
_EMPTY: frozenset = frozenset()


class Infeasible(Exception):
    """The semantic layer found no way to continue (e.g. nothing bound yet): redraw the program."""


class Program(NamedTuple):
    """A generated program: its source and what it was made from (a NamedTuple: cheap and immutable)."""

    source: str
    grammar: str = ""
    level: str = ""
    features: frozenset = frozenset()
    coverage: frozenset = frozenset()  # (rule name, alternative index) pairs; only the strategy records

    def __str__(self) -> str:
        return self.source


class CompiledAlternative(NamedTuple):
    """One alternative of a compiled rule, as ``CompiledGrammar.alts`` holds it (a NamedTuple:
    light and immutable; at run time only ``Derivation.feasible`` reads it, not the generated
    code)."""

    items: tuple  # in order: terminal text (str) and rule indices (int); inlined rules spelled out
    rules: tuple  # the rule indices among ``items``, in order: the rules it expands directly
    extra_cost: int  # what choosing it adds to the size beyond its rule's cheapest alternative
    # Tuples of kinds: before it starts, one kind of each must have a name bound. Filled in once
    # every rule's requirements are known (they depend on the alternatives of all rules).
    needs: tuple = ()

    @property
    def needed_kinds(self) -> frozenset:
        """Every kind its needs name."""
        return frozenset(kind for kinds in self.needs for kind in kinds)


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
        excluded = {name for name, feats in sem.features.items() if set(feats) & set(exclude_features)}
        if python_version is not None:
            excluded |= {name for name, v in sem.since.items() if v > tuple(python_version)[:2]}
        # Excluding a rule removes every alternative that needs it, and so on upward: costs are
        # recomputed on what is left, and an alternative of infinite cost is never compiled.
        cost = min_costs({n: Rule(n, ()) if n in excluded else r for n, r in grammar.rules.items()})
        self.excluded = frozenset(n for n, c in cost.items() if c == math.inf)

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
        for name in sem.assigns:
            flags[self.index[name]] |= ASSIGN
        for name in sem.indents:
            flags[self.index[name]] |= INDENT
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

        self.inlined = [inlinable(name) for name in names]  # expanded in place in their parents
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

        self.alts: list[list[CompiledAlternative]] = []  # per rule, cheapest first
        self.original_index: list[tuple] = []  # per rule: grammar position of each compiled alternative
        self.picks: list = []  # per rule: tuple of strings if it only chooses among terminals
        for i, name in enumerate(names):
            compiled = []
            order = []
            for k, original in enumerate(grammar.rules[name].alternatives):
                if name in self.excluded or alternative_cost(original, cost) == math.inf:
                    continue
                items = tuple(items_of(original))
                compiled.append(CompiledAlternative(
                    items, tuple(x for x in items if isinstance(x, int)),
                    alternative_cost(original, cost) - cost[name]))
                order.append(k)
            ranked = sorted(range(len(compiled)),
                            key=lambda m: compiled[m].extra_cost)  # stable on ties
            self.alts.append([compiled[m] for m in ranked])
            self.original_index.append(tuple(order[m] for m in ranked))
            only_terminals = compiled and all(len(a.items) <= 1 and not a.rules for a in compiled)
            self.picks.append(tuple(a.items[0] if a.items else "" for a in compiled)
                              if only_terminals else None)
        self.children = self._children()
        self.may_bind = self._may_bind()
        self.recursive = self._recursive()
        self.touches_state = self._touches_state()
        # Names bound by a rule's own expansion, visible to the siblings that follow it; a rule's
        # own @bind takes effect only when its parent's alternative completes.
        self.binds_inside = [any(self.may_bind[c] for c in self.children[i])
                             for i in range(len(names))]
        requirements = self._requirements()
        self.alts = [[a._replace(needs=tuple(self._needs(a.rules, requirements))) for a in alts]
                     for alts in self.alts]
        self.needed_kinds = [tuple(sorted({k for a in alts for k in a.needed_kinds}))
                             for alts in self.alts]
        # ``Derivation.feasible`` memo, per rule: which of its needed kinds have names (a bit
        # each) -> (alternative, extra cost) of the alternatives whose needs that meets, in order.
        self.feasible_by_bound: list[dict] = [{} for _ in names]
        self._code: dict[str, object] = {}  # mode -> its compiled expanders
        self.current: list = [None]  # the derivation being drawn by the strategy (for its spans)

    def _needs(self, rules: tuple, requirements: list) -> frozenset:
        """What an alternative needs bound before it starts: the requirements of the rules it
        expands up to the first one that may bind a name (whatever follows may find that name). A
        requirement is a tuple of kinds, one of which must have a name."""
        needs: set = set()
        for x in rules:
            needs |= requirements[x]
            if self.binds_inside[x]:
                break
        return frozenset(needs)

    def _requirements(self) -> list:
        """Per rule, what every expansion of it needs bound, however deep the @use that needs it
        (a fixed point): choosing only alternatives whose needs are met avoids dead ends such as a
        subclass statement when no class exists yet, instead of restarting the derivation."""
        requirements = [frozenset({self.use_kinds[i]}) if self.is_use(i) else frozenset()
                        for i in range(len(self.names))]
        for _ in range(100):  # a fixed point, normally within a few rounds
            changed = False
            for i, alts in enumerate(self.alts):
                if self.is_use(i) or not alts:
                    continue
                needs = [self._needs(a.rules, requirements) for a in alts]
                common = frozenset.intersection(*needs)
                if not common and all(len(n) == 1 for n in needs):  # one need each: any of them
                    common = frozenset({tuple(sorted({k for n in needs for t in n for k in t}))})
                if common != requirements[i]:
                    requirements[i], changed = common, True
            if not changed:
                break
        return requirements

    def original_alternative(self, i: int, k: int) -> int:
        """What a derivation records for choice ``k`` of rule ``i``: the alternative's position in
        the grammar (a pick rule records its choice index as it is)."""
        return k if self.picks[i] is not None else self.original_index[i][k]

    # What readers ask of a rule; the bit flags stay this module's own (the hot paths test them).

    def is_pick(self, i: int) -> bool:
        """Rule ``i`` only chooses among terminals (``picks[i]``, in the grammar's order)."""
        return self.picks[i] is not None

    def is_use(self, i: int) -> bool:
        """Rule ``i`` is a @use: a name bound to one of its ``use_kinds``; it expands nothing."""
        return bool(self.flags[i] & USE)

    def is_indented(self, i: int) -> bool:
        """Rule ``i``'s text is indented as a block (@indent)."""
        return bool(self.flags[i] & INDENT)

    def is_evaluated(self, i: int) -> bool:
        """Rule ``i``'s text is replaced by its integer value (@eval)."""
        return bool(self.flags[i] & EVAL)

    def expanders(self, random_source=None, guided: bool = False, tree: bool = False) -> list:
        """The generated expansion function of every rule, by rule index.

        With ``random_source`` (a ``random.Random().random``) choices are inlined as
        ``int(R() * n)``; without it they call ``d.choose(n)`` (the Hypothesis strategy), or with
        ``guided`` ``d.choose_alt(rule, n)`` and no Hypothesis spans (``Derivation.guide`` decides:
        the coverage listing); with ``tree`` guided and recording its syntax tree (mutation).
        """
        mode = "fast" if random_source is not None else "tree" if tree else "guided" if guided \
            else "strategy"
        if mode not in self._code:
            source = generate_source(self, mode)
            self._code[mode] = compile(source, f"<tinyfuzz expanders for {self.grammar.path}>", "exec")
        namespace = {"R": random_source, "P": self.picks, "Infeasible": Infeasible,
                     "indent_block": indent_block}
        if mode == "strategy":
            from hypothesis.strategies import composite
            namespace["composite"] = composite
            namespace["CURRENT"] = self.current
        exec(self._code[mode], namespace)  # our own generated code, never a generated program
        return namespace["RULES"]

    def expansions_to(self, targets) -> list[float]:
        """Per rule, the fewest rule expansions from it to a rule in ``targets`` (0 there, infinity
        where none is reachable; a @use rule names a variable and expands nothing). Guides steer
        by it: the coverage listing toward unused alternatives, ``--describe`` toward constructs."""
        distance = [0 if i in targets else math.inf for i in range(len(self.names))]
        changed = True
        while changed:  # shortest ways, to a fixed point
            changed = False
            for i, alternatives in enumerate(self.alts):
                if self.is_use(i):
                    continue
                for alternative in alternatives:
                    through = 1 + min((distance[c] for c in alternative.rules), default=math.inf)
                    if through < distance[i]:
                        distance[i], changed = through, True
        return distance

    def _may_bind(self) -> list[bool]:
        """Can an expansion of each rule bind a name (so a redraw must restore the scopes)?"""
        return self._spread([bool(self.bind_kind[i]) for i in range(len(self.names))])

    def _touches_state(self) -> list[bool]:
        """Can an expansion of each rule change state beyond its text: bind names, record
        features or assignments? (Then a redraw must snapshot and restore that state.)"""
        return self._spread([self.may_bind[i] or bool(self.flags[i] & (FEATURE | ASSIGN))
                             for i in range(len(self.names))])

    def _spread(self, result: list[bool]) -> list[bool]:
        """A property of rules, extended to every rule whose expansion can reach one that has it."""
        children = self.children
        changed = True
        while changed:
            changed = False
            for i in range(len(self.names)):
                if not result[i] and any(result[x] for x in children[i]):
                    result[i] = changed = True
        return result

    def _children(self) -> list[set]:
        """The rules each rule's expansion calls (a @use rule names a variable: it calls none)."""
        return [set() if self.is_use(i) else {x for a in alts for x in a.rules}
                for i, alts in enumerate(self.alts)]

    def _recursive(self) -> list[bool]:
        """Can an expansion of each rule contain another expansion of the same rule?"""
        children = self.children
        result = []
        for i in range(len(self.names)):
            seen, stack = set(), list(children[i])
            while stack:
                j = stack.pop()
                if j not in seen:
                    seen.add(j)
                    stack.extend(children[j])
            result.append(i in seen)
        return result

    def rule_index(self, name: str) -> int:
        if name not in self.index:
            raise InvalidArgument(f"start={name!r} is not a rule of {self.grammar.path}")
        if name in self.excluded:
            raise InvalidArgument(f"start={name!r}: the excluded features or the Python version "
                                  f"leave <{name}> nothing to derive")
        return self.index[name]


class Derivation:
    """One program's derivation state and the semantic layer the generated expanders call into."""

    __slots__ = ("g", "rules", "choose", "budget", "committed", "scopes", "values", "pending",
                 "scope_depth", "memo", "features", "checking", "covered", "text", "draw",
                 "depth", "max_depth", "guide", "tree")

    def __init__(self, compiled: CompiledGrammar, rules: list, choose: Callable[[int], int],
                 budget: int):
        self.g = compiled
        self.rules = rules
        self.choose = choose
        self.budget = budget
        self.committed = 0
        self.scopes: dict[str, list] = {}  # kind -> names bound, in binding order
        self.values: dict[str, object] = {}  # name -> value known statically (@assign)
        # Assignments and rebindings not yet folded into ``values``: most programs never divide,
        # so values are worked out only when a @nonzero check asks (``known_values``).
        self.pending: list[tuple] = []
        self.scope_depth = 0
        self.memo: dict[int, dict] = {}
        self.features: set = set()
        self.checking: set = set()  # @nonzero rules being expanded: inner recursions skip the check
        self.covered: set = set()  # (rule, alternative) pairs chosen; recorded by the strategy's code
        self.depth = 0  # nesting of rule expansions; past max_depth only cheapest alternatives
        self.max_depth = math.inf  # (the strategy's code tracks depth; the sampler's does not)
        self.guide = None  # guided code: guide(rule, allowed alternatives) -> the one to take
        self.tree = None  # tree code: records and replays syntax trees (mutate.Replay)

    def run(self, start: int) -> str:
        self.committed = self.g.cost[start]  # the budget fits it: see check_budget
        return self.rules[start](self)

    # -- called by the generated code ------------------------------------------------------------

    def pick(self, i: int, n: int) -> int:
        k = self.choose(n) if self.guide is None else self.guide(i, range(n))
        self.covered.add((i, k))  # a pick rule's terminals keep the grammar's order
        return k

    def choose_alt(self, i: int, n: int) -> int:
        """Guided code's choice among the first ``n`` (cheapest) alternatives of rule ``i``."""
        return self.guide(i, range(n))

    def feasible(self, i: int) -> int:
        """Choose among the alternatives of rule ``i`` that fit the budget and find their names bound."""
        room = self.budget - self.committed
        scopes = self.scopes
        # Which alternatives find their names bound depends only on which of the rule's needed
        # kinds have names: worked out once per such combination (a rule with many alternatives
        # is asked often), then filtered by the room left, as before.
        bound = 0
        for bit, kind in enumerate(self.g.needed_kinds[i]):
            if scopes.get(kind):
                bound |= 1 << bit
        memo = self.g.feasible_by_bound[i]
        met = memo.get(bound)
        if met is None:
            # (``not needs`` first: most alternatives need nothing)
            met = memo[bound] = tuple(
                (k, alternative.extra_cost) for k, alternative in enumerate(self.g.alts[i])
                if not alternative.needs or all(any(scopes.get(kind) for kind in kinds)
                                                for kinds in alternative.needs))
        candidates = [k for k, cost in met if cost <= room]
        if not candidates:
            raise Infeasible(f"<{self.g.names[i]}>: no alternative fits (nothing bound yet?)")
        if self.guide is not None:
            return self.guide(i, candidates)
        return candidates[self.choose(len(candidates))] if len(candidates) > 1 else candidates[0]

    def use(self, i: int) -> str:
        kinds = self.g.use_kinds[i]
        if len(kinds) == 1:
            names = self.scopes.get(kinds[0])
        else:
            names = [n for kind in kinds for n in self.scopes.get(kind, ())]
        if not names:
            raise Infeasible(f"<{self.g.names[i]}>: no {'/'.join(kinds)} bound yet")
        return self.name(i, names)

    def name(self, i: int, names: list) -> str:
        """The bound name a use of rule ``i`` refers to (a replayed tree asks for the same one)."""
        if self.tree is not None:
            return self.tree.name(i, names)
        return names[self.choose(len(names))] if len(names) > 1 else names[0]

    def bind(self, kind: str, name: str) -> None:
        self.pending.append((name, None))  # rebound: a value known before no longer holds
        scopes = self.scopes
        if len(scopes) > 1:
            for other, names in scopes.items():
                if other != kind and name in names:
                    names.remove(name)
        names = scopes.get(kind)
        if names is None:
            names = scopes[kind] = []
        if name not in names:
            names.append(name)

    def special(self, i: int, core: Callable) -> str:
        """Expand rule ``i``, which carries semantic flags, with ``core`` choosing its alternative.
        (The generated code records features itself.)"""
        flags = self.g.flags[i]
        memo = None
        if flags & SHARED:
            memo = self.memo.get(self.g.shared_in[i])
            if memo is not None and i in memo:
                return memo[i]
        if flags & NONZERO and i not in self.checking:
            text = self._nonzero(i, core)
        else:
            text = self._scoped(i, core)
        if flags & INDENT:
            text = indent_block(text)
        if flags & EVAL:
            text = str(evaluate_integer(text))
        if flags & ASSIGN:
            self.assign(text)
        if memo is not None:
            memo[i] = text
        return text

    def assign(self, text: str) -> None:
        """Note an ``@assign`` statement; its value is worked out if and when it is needed."""
        self.pending.append((text, self.scope_depth))

    def known_values(self) -> dict:
        """Names whose values are statically known, after every assignment so far."""
        values = self.values
        for text, depth in self.pending:
            if depth is None:  # a rebinding: ``text`` is the name
                values.pop(text, None)
                continue
            name, value = assigned_value(text, values)
            if value is None or depth:  # inside a scope it may run never, or many times
                values.pop(name, None)
            else:
                values[name] = value
        self.pending.clear()
        return values

    def recheck_nonzero(self, i: int, core: Callable, text: str, committed: int) -> str:
        """After a first expansion of a @nonzero rule whose text divides: keep it if every divisor
        is provably nonzero, else redraw. Called by the generated fast path (for rules whose
        expansion changes no other state)."""
        if not divisor_may_be_zero(text, self.known_values()):
            return text
        self.committed = committed
        if self.tree is not None:
            self.tree.redraw()
        return self._nonzero(i, core)

    def _nonzero(self, i: int, core: Callable) -> str:
        committed = self.committed
        saved = None
        if self.g.touches_state[i]:  # a redraw must not leave the names or features it made
            saved = ({k: list(v) for k, v in self.scopes.items()}, dict(self.known_values()),
                     set(self.features))
        self.checking.add(i)
        try:
            for _ in range(NONZERO_RETRIES):
                text = self._scoped(i, core)
                if not divisor_may_be_zero(text, self.known_values()):
                    return text
                self.committed = committed
                if self.tree is not None:  # the next attempt is drawn afresh, not replayed
                    self.tree.redraw()
                if saved is not None:
                    scopes, values, features = saved
                    self.scopes = {k: list(v) for k, v in scopes.items()}
                    self.values = dict(values)
                    self.pending.clear()
                    self.features = set(features)
        finally:
            self.checking.discard(i)
        raise Infeasible(f"<{self.g.names[i]}>: every redraw divided by zero")

    def _scoped(self, i: int, core: Callable) -> str:
        flags = self.g.flags[i]
        if flags & SHARED_SCOPE:
            outer = self.memo.get(i)
            self.memo[i] = {}
        if flags & SCOPE:
            saved = {k: list(v) for k, v in self.scopes.items()}
            values = dict(self.known_values())
            self.scope_depth += 1
        text = core(self)
        if flags & SCOPE:
            self.scope_depth -= 1
            self.scopes = saved
            # A name assigned inside may or may not have changed: only values untouched stay known.
            inner = self.known_values()
            self.values = {k: v for k, v in values.items() if inner.get(k, _GONE) == v}
        if flags & SHARED_SCOPE:
            if outer is None:
                del self.memo[i]
            else:
                self.memo[i] = outer
        return text


def _literal(text: str) -> str:
    """``text`` as the literal part of a double-quoted f-string."""
    escaped = text.encode("unicode_escape").decode("ascii").replace('"', '\\"')
    return escaped.replace("{", "{{").replace("}", "}}")


def generate_source(g: CompiledGrammar, mode: str) -> str:
    """Python source with one function per rule, each returning the text it derives: ``c<i>``
    chooses and builds an alternative, ``r<i>`` is what a parent calls (``c<i>`` itself, or
    ``c<i>`` wrapped by the semantic layer). Children are expanded left to right inside one f-string.
    ``mode``: fast (the sampler), strategy (Hypothesis draws, one span per rule expansion) or
    guided (``Derivation.guide`` chooses alternatives: the coverage listing), or tree (guided, with
    each rule expansion and each name choice reported to ``Derivation.tree``: mutation).
    """
    fast = mode == "fast"
    guided = mode in ("guided", "tree")

    def choice(n) -> str:
        return f"int(R() * {n})" if fast else f"d.choose({n})"

    def alternative_choice(i: int, n) -> str:
        return f"d.choose_alt({i}, {n})" if guided else choice(n)

    def pick(j: int) -> str:
        """A choice among the terminals of pick rule ``j`` (recorded for coverage by the strategy)."""
        n = len(g.picks[j])
        return f"int(R() * {n})" if fast else f"d.pick({j}, {n})"

    def inline_pick(j: int) -> bool:
        return g.picks[j] is not None and not g.flags[j] and not g.bind_kind[j]

    def item_code(item, bound: list) -> str:
        """The f-string part that derives one item of an alternative."""
        if isinstance(item, str):
            return _literal(item)
        if inline_pick(item):
            picks = g.picks[item]
            return f"{{P{item}[{pick(item)}]}}" if len(picks) > 1 else _literal(picks[0])
        if g.flags[item] == USE and len(g.use_kinds[item]) == 1:
            if mode == "tree":
                return f"{{d.name({item}, d.scopes.get({g.use_kinds[item][0]!r}) or d.use({item}))}}"
            names = f"(names := d.scopes.get({g.use_kinds[item][0]!r}) or d.use({item}))"
            index = choice("len(names)") if fast else "d.choose(len(names)) if len(names) > 1 else 0"
            return f"{{{names}[{index}]}}"
        if g.bind_kind[item]:
            var = f"b{len(bound)}"
            bound.append((var, g.bind_kind[item]))
            if g.picks[item] is not None and not g.flags[item] and len(g.picks[item]) > 1:
                return f"{{({var} := P{item}[{pick(item)}])}}"
            return f"{{({var} := r{item}(d))}}"
        return f"{{r{item}(d)}}"

    lines: list[str] = []
    emit = lines.append
    for j, picks in enumerate(g.picks):
        if picks is not None:
            emit(f"P{j} = P[{j}]")
    for i, name in enumerate(g.names):
        emit(f"def c{i}(d):  # <{name}>")
        alts = g.alts[i]
        if not alts:
            emit(f"    raise Infeasible('<{name}> is excluded')")
        elif g.picks[i] is not None:
            picks = g.picks[i]
            emit(f"    return P{i}[{pick(i)}]" if len(picks) > 1 else f"    return {picks[0]!r}")
        else:
            deltas = [a.extra_cost for a in alts]
            indent = "    "
            if g.needed_kinds[i]:
                kinds = " and ".join(f"scopes.get({k!r})" for k in g.needed_kinds[i])
                if fast:
                    # Unfiltered when every alternative's needs are met: a need is a tuple of
                    # kinds one of which must have a name, so test `(a or b) and c`, not every
                    # kind (an int operand needs any of five kinds: testing all five sent it to
                    # ``feasible`` on nearly every expansion). ``feasible`` would offer the same
                    # alternatives then, and chooses among them with the same draw.
                    needs = sorted({need for alternative in alts for need in alternative.needs})
                    kinds = " and ".join("(" + " or ".join(f"scopes.get({k!r})" for k in need) + ")"
                                         if len(need) > 1 else f"scopes.get({need[0]!r})"
                                         for need in needs)
                emit("    scopes = d.scopes")
                emit(f"    if not ({kinds}):")
                emit(f"        k = d.feasible({i})")
                emit("    else:")
                indent = "        "
            if len(alts) == 1:
                emit(f"{indent}k = 0")
            elif deltas[-1] == 0:
                emit(f"{indent}k = {alternative_choice(i, len(alts))}")
            else:
                emit(f"{indent}room = d.budget - d.committed" if fast else
                     f"{indent}room = d.budget - d.committed if d.depth < d.max_depth else 0")
                thresholds = sorted({x for x in deltas if x}, reverse=True)
                for t_index, threshold in enumerate(thresholds):
                    count = sum(1 for x in deltas if x <= threshold)
                    keyword = "if" if t_index == 0 else "elif"
                    emit(f"{indent}{keyword} room >= {threshold}:")
                    emit(f"{indent}    k = {alternative_choice(i, count)}")
                emit(f"{indent}else:")
                zero = sum(1 for x in deltas if x == 0)
                emit(f"{indent}    k = {alternative_choice(i, zero) if zero > 1 else 0}")
            if not fast and len(g.grammar.rules[name].alternatives) > 1:
                emit(f"    d.covered.add(({i}, {g.original_index[i]!r}[k]))")
            for k, alternative in enumerate(alts):
                if len(alts) > 1:
                    emit(f"    {'if' if k == 0 else 'elif'} k == {k}:")
                body = "        " if len(alts) > 1 else "    "
                if alternative.extra_cost:
                    emit(f"{body}d.committed += {alternative.extra_cost}")
                bound: list = []
                parts = [item_code(item, bound) for item in alternative.items]
                if len(parts) == 1 and parts[0].startswith("{") and not parts[0].startswith("{{") \
                        and not bound:  # ("{{": a literal that starts with a brace, "{}")
                    text = parts[0][1:-1]  # one child: its text as it is
                else:
                    text = 'f"' + "".join(parts) + '"'
                if not bound:
                    emit(f"{body}return {text}")
                    continue
                emit(f"{body}text = {text}")
                for var, kind in bound:  # bound once the whole alternative is complete
                    emit(f"{body}d.bind({kind!r}, {var})")
                emit(f"{body}return text")
        if g.flags[i] & USE:
            emit(f"def r{i}(d):")
            emit(f"    return d.use({i})")
        elif g.flags[i]:
            emit(f"def r{i}(d):")
            if g.flags[i] & FEATURE:
                emit(f"    d.features.update({g.feature[i]!r})")
            rest = g.flags[i] & ~FEATURE
            if rest == INDENT:
                emit(f"    return indent_block(c{i}(d))")
            elif rest == ASSIGN:
                emit(f"    text = c{i}(d)")
                emit("    d.pending.append((text, d.scope_depth))  # d.assign, inlined")
                emit("    return text")
            elif rest == NONZERO and not g.touches_state[i]:  # inline: check only text that divides
                if g.recursive[i]:
                    emit(f"    if {i} in d.checking:")
                    emit(f"        return c{i}(d)")
                    emit(f"    d.checking.add({i})")
                emit("    committed = d.committed")
                emit(f"    text = c{i}(d)")
                if g.recursive[i]:
                    emit(f"    d.checking.discard({i})")
                emit("    if '/' in text or '%' in text:")
                emit(f"        return d.recheck_nonzero({i}, c{i}, text, committed)")
                emit("    return text")
            elif rest:
                emit(f"    return d.special({i}, c{i})")
            else:
                emit(f"    return c{i}(d)")
        else:
            emit(f"r{i} = c{i}")
    expanding = [i for i in range(len(g.names)) if g.picks[i] is None and not g.flags[i] & USE]
    if mode == "strategy":  # each expansion of a rule is a Hypothesis span of its own, for the shrinker
        for i in expanding:
            # One strategy object per rule, made once: the derivation in progress is CURRENT.
            emit(f"def s{i}(draw):")
            emit(f"    return w{i}(CURRENT[0])")
            emit(f"S{i} = composite(s{i})()")
            emit(f"w{i} = r{i}")
            emit(f"def r{i}(d):")
            emit("    d.depth += 1")
            emit(f"    text = d.draw(S{i})")
            emit("    d.depth -= 1")
            emit("    return text")
    if mode == "tree":  # each expansion of a rule is a node of the recorded tree
        for i in expanding:
            emit(f"w{i} = r{i}")
            emit(f"def r{i}(d):")
            emit(f"    return d.tree.expand({i}, w{i}, d)")
    emit(f"RULES = [{', '.join(f'r{i}' for i in range(len(g.names)))}]")
    return "\n".join(lines) + "\n"


def check_budget(compiled: CompiledGrammar, start: int, max_size: int) -> None:
    """A size budget must fit the cheapest program from ``start``; checked once, not per program."""
    if compiled.cost[start] > max_size:
        raise InvalidArgument(f"max_size={max_size} is below the minimum size "
                              f"{compiled.cost[start]} of <{compiled.names[start]}>")


def derive(compiled: CompiledGrammar, rules: list, start: int, choose: Callable[[int], int],
           budget: int, draw=None, max_depth=math.inf, guide=None) -> Derivation:
    """Derive one program (``.run`` returned its text). May raise ``Infeasible``."""
    derivation = Derivation(compiled, rules, choose, budget)
    derivation.guide = guide
    derivation.draw = draw
    derivation.max_depth = max_depth
    if draw is not None:
        compiled.current[0] = derivation  # the strategy's spans, called back by Hypothesis, find it
    derivation.text = derivation.run(start)
    return derivation


def program_from(derivation: Derivation, grammar: str, default_level: str) -> Program:
    """A ``Program`` whose level is the ``@level`` rule the derivation went through."""
    level = default_level
    plain = set()
    for feature in derivation.features:
        if feature.startswith(LEVEL_PREFIX):
            level = feature[len(LEVEL_PREFIX):]
        else:
            plain.add(feature)
    names = derivation.g.names
    coverage = frozenset((names[i], k) for i, k in derivation.covered) if derivation.covered \
        else _EMPTY
    return Program(derivation.text, grammar, level, frozenset(plain), coverage)
