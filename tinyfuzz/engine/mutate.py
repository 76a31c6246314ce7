"""Mutation and crossover of programs on their syntax trees, repaired by the grammar's semantics.

A program's tree is the record of its derivation: one ``Node`` per rule expansion, holding the
choices made there (which alternative, which terminal, which bound name) and the child expansions,
in the order the derivation engine asked for them. A new program is made by *replaying* a tree
through the same engine with a few things changed:

- regenerate: one subtree is derived afresh from its grammar symbol;
- point: one terminal choice (an operator, a digit, a name) is drawn again;
- crossover: one subtree is replayed from another program's subtree of the same symbol.

The replayed choices are preferences, not orders: every choice is still made by the engine, which
offers only what the semantic layer allows at that point (names bound in this scope, divisors
provably nonzero, loop counts and the size budget). A choice that is no longer allowed is drawn
afresh, so a donor subtree's names are re-bound to the recipient's, and a loop stays bounded: the
offspring are valid by construction, like every generated program (LangFuzz and Nautilus recombine
trees; here the grammar's semantic layer is what repairs them).

Trees come from generation itself (replaying records the new tree as it goes) or, for a program
that is only text (imported, learned), from its Earley parse (``grammar/parser.py``) turned into choices and
checked by replaying it: the replay must give back the text exactly.
"""

from __future__ import annotations

import json
import random
from collections import OrderedDict
from typing import Callable, NamedTuple

from tinyfuzz.engine.derivation import CompiledGrammar, Derivation, Infeasible, Program, program_from
from tinyfuzz.grammar.load import load_grammar
from tinyfuzz.grammar.model import Grammar, NonTerminal, Terminal

OPERATORS = ("regenerate", "point", "crossover")
DEFAULT_MAX_SIZE = 400  # room for a parent's whole tree plus a regenerated subtree
TREE_ATTEMPTS = 32
MAX_TREES = 1000  # parent trees kept in memory (Parents)
MAX_PARENTS = 5000  # corpus programs a mutator draws parents from (a random sample of a larger one)


class Node:
    """One rule expansion: the rule's index, its items in derivation order (choices as
    ``(rule, value)`` tuples, child expansions as Nodes) and the text it produced."""

    __slots__ = ("rule", "items", "text")

    def __init__(self, rule: int, items: list | None = None, text: str = ""):
        self.rule = rule
        self.items = [] if items is None else items
        self.text = text

    def walk(self):
        """This node and every node below it, depth first (a stack: nested generators cost a
        step per level for every node)."""
        stack = [self]
        while stack:
            node = stack.pop()
            yield node
            stack.extend(item for item in reversed(node.items) if type(item) is Node)


class Mutant(NamedTuple):
    program: Program  # its source, features and the grammar alternatives it used
    tree: Node
    operator: str  # regenerate, point or crossover

    @property
    def source(self) -> str:
        return self.program.source


class Replay:
    """The ``Derivation.tree`` of a replaying derivation: records the new tree while following an
    old one. ``replace`` maps ``id(old node)`` to a node to follow instead (None: derive it
    afresh); ``points`` holds the ids of old choices to draw again."""

    def __init__(self, old: Node | None, choose: Callable[[int], int], replace: dict | None = None,
                 points: frozenset = frozenset()):
        self.choose = choose
        self.replace = replace or {}
        self.points = points
        self.root = Node(-1)  # holds the start rule's node
        self.new = [self.root]
        self.old = [[Node(-1, [old] if old is not None else []), 0]]  # (node, next item) cursors

    @staticmethod
    def _next(cursor: list, wanted: Callable) -> object:
        """The next item of the old node at ``cursor`` that is ``wanted``, skipping others (where
        the new derivation took another way, the old items that follow may still fit)."""
        node, position = cursor
        if node is None:
            return None
        items = node.items
        for j in range(position, len(items)):
            if wanted(items[j]):
                cursor[1] = j + 1
                return items[j]
        return None

    def expand(self, rule: int, expand: Callable, derivation) -> str:
        old = self._next(self.old[-1], lambda x: type(x) is Node and x.rule == rule)
        if old is not None and id(old) in self.replace:
            # once: a graft from the same program may contain the node it replaces
            old = self.replace.pop(id(old))
        node = Node(rule)
        self.new[-1].items.append(node)
        self.new.append(node)
        self.old.append([old, 0])
        try:
            node.text = expand(derivation)
        finally:
            self.new.pop()
            self.old.pop()
        return node.text

    def guide(self, rule: int, options):
        """The choice at rule ``rule`` among ``options`` (alternatives, terminals or bound names):
        the old one if it is still allowed and not to be redrawn, else a fresh one."""
        old = self._next(self.old[-1], lambda x: type(x) is tuple and x[0] == rule)
        value = self._replayed(options, old)
        self.new[-1].items.append((rule, value))
        return value

    name = guide  # which bound name a use takes: ``Derivation.name``

    def _replayed(self, options, old):
        if old is not None:
            value = old[1]
            if id(old) in self.points:
                others = [o for o in options if o != value]
                if others:
                    return others[self.choose(len(others))]
            elif value in options:
                return value
        return options[self.choose(len(options))] if len(options) > 1 else options[0]

    def redraw(self) -> None:
        """The current expansion starts over (a @nonzero retry): afresh, recording anew."""
        self.new[-1].items.clear()
        self.old[-1] = [None, 0]


class Mutator:
    """Mutation and crossover for the programs of one grammar."""

    def __init__(self, grammar: Grammar | str = "python", *, seed: int = 0, level: str | None = None,
                 max_size: int = DEFAULT_MAX_SIZE, python_version: tuple | None = None):
        self.grammar = load_grammar(grammar)
        self.level = level or "all"
        # python_version: constructs newer than the targets' are not drawn in regenerated subtrees
        self.compiled = CompiledGrammar(self.grammar, python_version=python_version)
        self.rules = self.compiled.expanders(tree=True)
        self.start = self.compiled.rule_index(self.grammar.start_for(level))
        self.max_size = max_size
        self.random = random.Random(seed)
        # every random choice of the operators and of fresh subtrees: n -> a number below n
        # (``from_corpus`` puts Hypothesis draws here)
        self.choose: Callable[[int], int] = lambda n: int(self.random.random() * n)
        self._parser = None

    def derive(self, old: Node | None = None, *, replace: dict | None = None,
               points: frozenset = frozenset()) -> Node | None:
        """Replay ``old`` (None: a fresh program) with its changes; the new tree, or None if the
        derivation found no way through (rare; the caller tries another change)."""
        derived = self._derive(old, replace, points)
        return derived[0] if derived else None

    def fresh(self) -> Node:
        """A new random program's tree."""
        while True:
            tree = self.derive()
            if tree is not None:
                return tree

    def _derive(self, old, replace=None, points=frozenset(), choose=None) -> tuple | None:
        choose = choose or self.choose
        replay = Replay(old, choose, replace, points)
        derivation = Derivation(self.compiled, self.rules, choose, self.max_size)
        derivation.guide = replay.guide
        derivation.tree = replay
        try:
            derivation.text = derivation.run(self.start)
        except Infeasible:
            return None
        return replay.root.items[0], derivation

    # ---- trees of programs that are only text ----

    def tree_of(self, source: str) -> Node | None:
        """The tree of a program's text (its Earley parse, replayed), or None if the grammar does
        not derive exactly this text."""
        from lark.exceptions import LarkError

        from tinyfuzz.grammar.parser import parser_for

        if self._parser is None:
            self._parser = parser_for(self.grammar)
        # Trailing newlines are not significant (a dataset's text format adds one, the corpus keeps
        # one), but the grammar derives a certain number of them.
        body = source.rstrip("\n")
        for text in dict.fromkeys((source, body, body + "\n", body + "\n\n")):
            try:
                parse = self._parser.parse(text)
                break
            except LarkError:
                continue
        else:
            return None
        old = self._from_parse(parse.children[0])
        # A parse has no choices inside an @eval rule (its text is a number): those are drawn at
        # random, so a few replays may be needed to give back the same text. Their own random
        # sequence: the same text gives the same tree, whatever was drawn before.
        choose = random.Random(0).random
        for _ in range(TREE_ATTEMPTS):
            derived = self._derive(old, choose=lambda n: int(choose() * n))
            if derived is not None and derived[0].text.rstrip("\n") == body:
                return derived[0]
        return None

    # ---- trees as JSON data (the corpus keeps them: an Earley parse costs 0.1 s a program) ----

    def dump_tree(self, tree: Node) -> str:
        """``tree`` as compact JSON that survives a change of the compiled grammar (other excluded
        features, another Python version): rules by name, alternatives by grammar position,
        terminals and names by their text."""
        g = self.compiled

        def dump(node: Node) -> dict:
            items = []
            for item in node.items:
                if type(item) is Node:
                    items.append(dump(item))
                    continue
                rule, value = item
                if g.is_pick(rule):
                    value = g.picks[rule][value]
                elif not g.is_use(rule):
                    value = g.original_alternative(rule, value)
                items.append([g.names[rule], value])
            return {"r": g.names[node.rule], "i": items}

        return json.dumps(dump(tree), separators=(",", ":"))

    def load_tree(self, text: str, source: str) -> Node | None:
        """A tree from ``dump_tree`` data, replayed; None if this compiled grammar does not give
        back ``source`` (it leaves out constructs newer than the targets). A tree naming rules
        the grammar no longer has is made again from the text."""
        g = self.compiled

        def load(data: dict) -> Node:
            node = Node(g.index[data["r"]])
            for item in data["i"]:
                if isinstance(item, dict):
                    node.items.append(load(item))
                    continue
                rule, value = g.index[item[0]], item[1]
                if g.is_pick(rule):
                    value = g.picks[rule].index(value) if value in g.picks[rule] else None
                elif not g.is_use(rule):
                    order = g.original_index[rule]
                    value = order.index(value) if value in order else None
                if value is not None:
                    node.items.append((rule, value))
            return node

        try:
            old = load(json.loads(text))
        except (KeyError, TypeError, IndexError, ValueError):  # the grammar changed since: a rule renamed
            return self.tree_of(source)
        derived = self._derive(old, choose=_first)
        if derived is None or derived[0].text.rstrip("\n") != source.rstrip("\n"):
            return None
        return derived[0]

    def _from_parse(self, parse) -> Node:
        g, names = self.compiled, self._parser.names
        rules = self.grammar.rules

        def resolve(tree):
            while tree.data == "_ambig":
                tree = tree.children[0]
            name, _, alternative = tree.data.rpartition("__")
            return tree, g.index[names[name]], alternative

        def text_of(tree) -> str:
            tree, i, alternative = resolve(tree)
            if alternative == "use":
                return text_of(tree.children[0])
            if alternative == "eval":
                return str(tree.children[0])
            children = iter(c for c in tree.children if hasattr(c, "data"))
            return "".join(s.text if isinstance(s, Terminal) else text_of(next(children))
                           for s in rules[g.names[i]].alternatives[int(alternative)]
                           if isinstance(s, (Terminal, NonTerminal)))

        def items_of(tree) -> list:
            tree, i, alternative = resolve(tree)
            if g.inlined[i]:  # the compiled grammar expands it in place: its items are its parent's
                return [item for child in tree.children if hasattr(child, "data")
                        for item in items_of(child)]
            if g.is_use(i):
                return [(i, text_of(tree))]
            if g.is_pick(i):
                picks = g.picks[i]
                text = text_of(tree)
                return [(i, picks.index(text))] if len(picks) > 1 and text in picks else []
            return [convert(tree)]

        def convert(tree) -> Node:
            tree, i, alternative = resolve(tree)
            node = Node(i)
            if alternative.isdigit() and len(g.alts[i]) > 1 and int(alternative) in g.original_index[i]:
                node.items.append((i, g.original_index[i].index(int(alternative))))
            for child in tree.children:
                if hasattr(child, "data"):
                    node.items += items_of(child)
            return node

        return convert(parse)

    # ---- the operators ----

    def _nodes(self, tree: Node) -> dict[int, list[Node]]:
        """The tree's nodes below the root, by rule."""
        by_rule: dict[int, list[Node]] = {}
        for node in tree.walk():
            if node is not tree:
                by_rule.setdefault(node.rule, []).append(node)
        return by_rule

    def _pick(self, items: list):
        return items[self.choose(len(items))]

    def regenerate(self, tree: Node) -> tuple | None:
        """One subtree (a rule chosen uniformly, then one of its expansions) derived afresh."""
        by_rule = self._nodes(tree)
        if not by_rule:
            return None
        node = self._pick(by_rule[self._pick(sorted(by_rule))])
        return self._derive(tree, replace={id(node): None})

    def point(self, tree: Node) -> tuple | None:
        """One terminal choice (an operator, a constant's digit, a name) drawn again."""
        g = self.compiled
        choices = [item for node in tree.walk() for item in node.items
                   if type(item) is tuple and (g.is_pick(item[0]) or g.is_use(item[0]))]
        if not choices:
            return None
        return self._derive(tree, points=frozenset({id(self._pick(choices))}))

    def crossover(self, tree: Node, donor: Node) -> tuple | None:
        """One subtree of ``tree`` replayed from a different subtree of ``donor`` of the same rule."""
        mine, theirs = self._nodes(tree), self._nodes(donor)
        shared = sorted(set(mine) & set(theirs))
        for _ in range(8):
            if not shared:
                return None
            rule = self._pick(shared)
            node, graft = self._pick(mine[rule]), self._pick(theirs[rule])
            if node.text != graft.text:
                return self._derive(tree, replace={id(node): graft})
        return None

    def offspring(self, parents: list[Node], operator: str | None = None,
                  attempts: int = 20) -> Mutant | None:
        """A new program from ``parents``: by ``operator`` (or one chosen at random), different
        from its parent; None if ``attempts`` changes all failed or changed nothing."""
        for _ in range(attempts):
            op = operator or self._pick(OPERATORS if len(parents) > 1 else OPERATORS[:2])
            parent = self._pick(parents)
            if op == "crossover":
                derived = self.crossover(parent, self._pick(parents))
            else:
                derived = getattr(self, op)(parent)
            if derived is not None and derived[0].text != parent.text:
                program = program_from(derived[1], self.grammar.name, self.level)
                return Mutant(program, derived[0], op)
        return None


def _first(n: int) -> int:
    return 0


class Parents:
    """Corpus programs as parents, their trees made when first drawn: from the tree stored with the
    program if there is one (about 1 ms), else from its Earley parse (about 0.1 s for a program of
    the python grammar). The last MAX_TREES trees used are kept (a python-grammar tree takes ~46 KB);
    programs the grammar cannot derive are remembered, skipped and counted."""

    def __init__(self, mutator: Mutator, sources: list[str], stored: list | None = None):
        self.mutator = mutator
        self.sources = list(sources)
        self.stored = list(stored) if stored is not None else [None] * len(self.sources)
        self.trees: OrderedDict[int, Node] = OrderedDict()
        self.underivable_indices: set[int] = set()

    @property
    def underivable(self) -> int:
        return len(self.underivable_indices)

    def tree(self, index: int) -> Node | None:
        if index in self.underivable_indices:
            return None
        tree = self.trees.get(index)
        if tree is not None:
            self.trees.move_to_end(index)
            return tree
        source, stored = self.sources[index], self.stored[index]
        tree = self.mutator.load_tree(stored, source) if stored is not None \
            else self.mutator.tree_of(source)
        if tree is None:
            self.underivable_indices.add(index)
            return None
        self.trees[index] = tree
        if len(self.trees) > MAX_TREES:
            self.trees.popitem(last=False)
        return tree

    def draw(self, count: int = 2) -> list[Node]:
        """Up to ``count`` parents drawn at random (fewer if the grammar derives few of them)."""
        chosen: list[Node] = []
        for _ in range(4 * count):
            if len(chosen) == count or not self.sources:
                break
            tree = self.tree(self.mutator.choose(len(self.sources)))
            if tree is not None:
                chosen.append(tree)
        return chosen

    def offspring(self, operator: str | None = None) -> Mutant | None:
        parents = self.draw(2 if operator in (None, "crossover") else 1)
        return self.mutator.offspring(parents, operator) if parents else None
