"""Grammar flaws: strings a grammar of Python derives that CPython's ``compile()`` rejects.

``find_flaws(grammar)`` derives a coverage set and a random sample from the grammar, compiles every
string (never runs it) in a worker process, and groups the rejected strings by the SyntaxError
message and the production responsible, each group with a count and its shortest example.

How the strings are made. The flaw finder derives its own *derivation trees* (a rule, the index of
the alternative chosen, the subtrees of its nonterminals), because blaming a production needs the
tree of each rejected string:

* the coverage set: for every alternative of every reachable rule, one program -- the shortest
  context that reaches the rule from the start rule (a shortest-path search, Dijkstra over text
  lengths), the alternative, and the shortest derivation of everything else. Each alternative is
  thus used in a program as short as it can be, which makes the examples short from the start;
* the random sample: derivations that choose uniformly among the alternatives that fit the size
  budget, with the budget accounting of ``tinyfuzz.engine.derivation`` (so every derivation finishes).

Trees follow the context-free grammar and ``@indent``; the rest of the semantic layer (``@use``,
``@eval``...) is not applied: it restricts the program's meaning, not its syntax. Alternatives of
``@since`` rules newer than the running Python are left out, as the generator does.
(``coverage.coverage_listing`` was not used: its programs come without trees, and on Lark's
python.lark it takes minutes, with an Earley parse of each program to read coverage back.)

How strings are checked. Each string is wrapped in a six-line program that only passes it to
``compile(text, "<flaw>", "exec")`` and prints the SyntaxError's message; the wrappers run on the
``cpython`` target's warm worker (``targets.load_target("cpython").pool(1)``, the JSON-lines
protocol of ``_runner.py``): the harness never compiles a generated string itself, a compiler crash
or hang costs a worker (restarted, the culprit named), not the run, and the string itself is never
executed. Verdicts are cached by text.

How a production is blamed. Rejected strings are grouped by message (the names the program chose
left out: ``duplicate argument 'a'`` and ``'b'`` are one message) and taken shortest first:

1. Reduce the tree while ``compile()`` keeps rejecting it with the same message: each subtree, top
   down, is replaced by the shortest of: a subtree of the same rule inside it (hoisting); another
   alternative of its rule with the shortest children, or with its own subtrees where the rules
   match (at any depth) -- when that makes the whole text shorter. Repeated until nothing changes.
2. In the reduced tree, a node is *repairable* when another alternative of its rule (its own
   children kept where the rules match, the shortest derivation elsewhere) makes the string
   compile. The responsible production is the lowest common ancestor of the lowest repairable
   nodes: one node for ``return`` outside a function (``flow_stmt: return_stmt``: ``raise`` there
   compiles) or for an invalid literal (``STRING`` as ``ru''``); the list that holds both parts
   of a conflict (``def a(a, a)``: the parameter list, as either name repairs it); the root if no
   single change repairs it. Its *context* is its nearest ancestor that is not a unit production
   (one symbol), e.g. the ``del`` statement whose target is an expression.
3. A later string with the same message that uses a group's production joins that group when
   changing every use of the production (to any other alternative) makes its message go away:
   that production is what they have in common. Others are reduced and blamed in turn, up to
   ``max_groups`` productions per message (beyond that, one group says it did not blame them).

Sound in the sense that every group's example is a string the grammar derives and CPython
rejects with that message, reduced as far as single replacements go, and that its blamed
production demonstrably matters: another alternative there (or, for a list, in one of its
parts) makes the example compile.
"""

from __future__ import annotations

import dataclasses
import heapq
import json
import keyword
import math
import random
import re
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field

from tinyfuzz.errors import InvalidArgument
from tinyfuzz.grammar.load import load_grammar
from tinyfuzz.grammar.model import Grammar, NonTerminal, Rule, Terminal, alternative_cost, min_costs
from tinyfuzz.grammar.semantics import Semantics, indent_block

DEFAULT_MAX_SIZE = 200
_CHECK = """import json, warnings
warnings.simplefilter("ignore")
try:
    compile({text!r}, "<flaw>", "exec")
except SyntaxError as error:
    print(json.dumps([error.msg, error.lineno, error.offset]))
    raise
"""
_SYNTAX_ERRORS = ("SyntaxError", "IndentationError", "TabError")


# --------------------------------------------------------------------------------------------------
# Derivation trees


@dataclass(frozen=True, eq=False)  # compared by identity: trees share subtrees
class Node:
    rule: str
    alt: int
    children: tuple  # one Node per nonterminal of the alternative, in order


class Trees:
    """Derivation trees of a grammar: shortest, coverage set, random; their text."""

    def __init__(self, grammar: Grammar, python_version: tuple | None = None):
        self.grammar = grammar
        sem = Semantics.of(grammar)
        self.indents = sem.indents
        version = tuple(python_version or sys.version_info[:2])
        newer = {name for name, since in sem.since.items() if since > version}
        rules = {n: Rule(n, ()) if n in newer else r for n, r in grammar.rules.items()}
        self.cost = min_costs(rules)
        self.alts = {n: r.alternatives for n, r in rules.items()}
        self.alt_cost = {n: [alternative_cost(a, self.cost) for a in alts]
                         for n, alts in self.alts.items()}
        self.children_of = {n: [tuple(s.name for s in a if isinstance(s, NonTerminal)) for a in alts]
                            for n, alts in self.alts.items()}
        self.length, self.alt_length = self._lengths()
        self._shortest: dict = {}
        self._text: dict = {}  # id(node) -> (node, text): nodes are shared, texts computed once

    def _lengths(self) -> tuple:
        """The length of the shortest text each rule (and each alternative) derives."""
        fixed = {n: [sum(len(s.text) for s in a if isinstance(s, Terminal)) for a in alts]
                 for n, alts in self.alts.items()}
        length = {n: math.inf for n in self.alts}
        changed = True
        while changed:
            changed = False
            for name, children in self.children_of.items():
                for k, kids in enumerate(children):
                    if self.usable(name, k):
                        total = fixed[name][k] + sum(length[c] for c in kids)
                        if total < length[name]:
                            length[name], changed = total, True
        alt_length = {n: [fixed[n][k] + sum(length[c] for c in kids) if self.usable(n, k) else math.inf
                          for k, kids in enumerate(children)]
                      for n, children in self.children_of.items()}
        return length, alt_length

    def usable(self, rule: str, alt: int) -> bool:
        return self.alt_cost[rule][alt] < math.inf

    def shortest(self, rule: str) -> Node:
        """The derivation of ``rule`` with the shortest text (the fewest expansions among those)."""
        if rule not in self._shortest:
            lengths, costs = self.alt_length[rule], self.alt_cost[rule]
            best = min(range(len(costs)), key=lambda k: (lengths[k], costs[k]))
            self._shortest[rule] = self.with_alt(rule, best)
        return self._shortest[rule]

    def with_alt(self, rule: str, alt: int) -> Node:
        return Node(rule, alt, tuple(self.shortest(c) for c in self.children_of[rule][alt]))

    def transplant(self, node: Node, alt: int, deep: bool = False) -> Node:
        """``node`` with alternative ``alt`` instead: each nonterminal of ``alt`` takes the first
        unused child of ``node`` of the same rule (with ``deep``, the first unused subtree at
        any depth, preorder, outside those taken), else the shortest derivation."""
        spare = [(path, n) for path, n in _paths(node) if path] if deep else \
            [((i,), child) for i, child in enumerate(node.children)]
        taken: list = []
        children = []
        for name in self.children_of[node.rule][alt]:
            found = next((path for path, n in spare if n.rule == name and not any(
                path[:len(t)] == t or t[:len(path)] == path for t in taken)), None)
            if found is None:
                children.append(self.shortest(name))
            else:
                taken.append(found)
                children.append(_at(node, found))
        return Node(node.rule, alt, tuple(children))

    def text(self, node: Node) -> str:
        hit = self._text.get(id(node))
        if hit is not None:
            return hit[1]
        parts = []
        children = iter(node.children)
        for symbol in self.alts[node.rule][node.alt]:
            parts.append(symbol.text if isinstance(symbol, Terminal) else self.text(next(children)))
        text = "".join(parts)
        if node.rule in self.indents:
            text = indent_block(text)
        self._text[id(node)] = (node, text)
        return text

    def coverage_set(self, start: str) -> list:
        """One tree per usable alternative reachable from ``start``: the shortest context that
        reaches its rule, the alternative, the shortest children."""
        context = {start: 0}  # rule -> text length of the shortest tree with a hole for the rule
        parent: dict = {}  # rule -> (parent rule, alternative, slot) of that shortest context
        heap = [(0, start)]
        while heap:
            cost, name = heapq.heappop(heap)
            if cost > context[name]:
                continue
            for k, children in enumerate(self.children_of[name]):
                if not self.usable(name, k):
                    continue
                for slot, child in enumerate(children):
                    through = cost + self.alt_length[name][k] - self.length[child]
                    if through < context.get(child, math.inf):
                        context[child] = through
                        parent[child] = (name, k, slot)
                        heapq.heappush(heap, (through, child))
        trees = []
        for name in context:
            for k in range(len(self.alts[name])):
                if self.usable(name, k):
                    trees.append(self._in_context(self.with_alt(name, k), parent))
        return trees

    def _in_context(self, node: Node, parent: dict) -> Node:
        while node.rule in parent:
            name, k, slot = parent[node.rule]
            children = list(self.with_alt(name, k).children)
            children[slot] = node
            node = Node(name, k, tuple(children))
        return node

    def random_tree(self, start: str, rand: random.Random, budget: int) -> Node:
        """Uniform among the alternatives that fit the budget (``committed`` counts the
        expansions made plus the cheapest cost of every symbol still pending)."""
        committed = [self.cost[start]]
        budget = max(budget, self.cost[start])

        def expand(name: str) -> Node:
            room = budget - committed[0]
            own = self.cost[name]
            fits = [k for k, c in enumerate(self.alt_cost[name]) if c - own <= room]
            k = fits[int(rand.random() * len(fits))]
            committed[0] += self.alt_cost[name][k] - own
            return Node(name, k, tuple(expand(c) for c in self.children_of[name][k]))

        return expand(start)


def _paths(tree: Node):
    """(path, node) in preorder; a path is the child indices from the root."""
    stack = [((), tree)]
    while stack:
        path, node = stack.pop()
        yield path, node
        for i in range(len(node.children) - 1, -1, -1):
            stack.append((path + (i,), node.children[i]))


def _replace(tree: Node, path: tuple, new: Node) -> Node:
    if not path:
        return new
    children = list(tree.children)
    children[path[0]] = _replace(children[path[0]], path[1:], new)
    return Node(tree.rule, tree.alt, tuple(children))


def _at(tree: Node, path: tuple) -> Node:
    for i in path:
        tree = tree.children[i]
    return tree


@contextmanager
def _deep_recursion(limit: int):
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(max(old, limit))
    try:
        yield
    finally:
        sys.setrecursionlimit(old)


# --------------------------------------------------------------------------------------------------
# The compiler, in a worker


class Compiler:
    """``compile()`` in the cpython target's warm worker: a verdict per text, cached."""

    def __init__(self, batch_size: int = 500):
        from tinyfuzz.execution.targets import load_target

        self.pool = load_target("cpython").pool(1)
        self.batch_size = batch_size
        self.cache: dict = {}  # text -> None (compiles) or the rejection message
        self.compiled = 0

    def check(self, texts) -> list:
        """For each text, None when it compiles, else the rejection message."""
        todo = list(dict.fromkeys(t for t in texts if t not in self.cache))
        for start in range(0, len(todo), self.batch_size):
            batch = todo[start:start + self.batch_size]
            outcomes = self.pool.run([_CHECK.format(text=t) for t in batch])
            for text, outcome in zip(batch, outcomes):
                self.cache[text] = _verdict(outcome)
            self.compiled += len(batch)
        return [self.cache[t] for t in texts]

    def close(self) -> None:
        self.pool.close()


def _verdict(outcome) -> str | None:
    if outcome.status == "ok":
        return None
    if outcome.status == "exception" and outcome.exc_type in _SYNTAX_ERRORS:
        try:
            message = json.loads(outcome.stdout.splitlines()[-1])[0]
        except (IndexError, ValueError, TypeError):
            message = outcome.exc_message
        return message if outcome.exc_type == "SyntaxError" else f"{outcome.exc_type}: {message}"
    if outcome.status == "exception":
        return f"{outcome.exc_type}: {outcome.exc_message}"
    return f"compile() did not return ({outcome.status}: {outcome.exc_message})"


# --------------------------------------------------------------------------------------------------
# The report


@dataclass
class Flaw:
    """A group of rejected strings: one message, one responsible production."""

    message: str  # the SyntaxError message (e.g. "'return' outside function")
    rule: str  # the responsible production: rule and alternative index in the tinyfuzz grammar
    alternative: int
    production: str  # that alternative as text (the Lark production for a Lark grammar)
    context: str  # its nearest ancestor production that is not a unit production
    path: tuple  # rule names from the context down to the responsible rule
    example: str  # the shortest rejected string of the group, reduced
    original: str  # the generated string it was reduced from
    count: int = 0  # rejected strings (of those checked) in the group


@dataclass
class FlawReport:
    grammar: str
    checked: int  # distinct strings compiled (coverage set and sample)
    coverage_programs: int
    samples: int
    rejected: int
    flaws: list = field(default_factory=list)  # Flaw, biggest group first
    seconds: float = 0.0
    compiles: int = 0  # compile() calls in all, reductions included

    def by_message(self) -> dict:
        out: dict = {}
        for flaw in self.flaws:
            out.setdefault(flaw.message, []).append(flaw)
        return out

    def format(self) -> str:
        lines = [f"{self.grammar}: {self.checked} distinct strings compiled ({self.coverage_programs} "
                 f"from the coverage set, {self.samples} random), {self.rejected} rejected by "
                 f"compile(), in {len(self.flaws)} groups ({self.compiles} compile() calls, "
                 f"{self.seconds:.1f} s)"]
        for number, flaw in enumerate(self.flaws, 1):
            lines.append("")
            lines.append(f"{number}. {flaw.message}  [{flaw.count} string"
                         f"{'s' if flaw.count != 1 else ''}]")
            lines.append(f"   production: {flaw.production}")
            if flaw.context:
                steps = list(flaw.path[1:-1])
                if len(steps) > 4:
                    steps[2:-1] = ["..."]
                via = " > ".join(steps)
                lines.append(f"   context:    {flaw.context}" + (f"  (via {via})" if via else ""))
            lines.append("   example:    " + _show(flaw.example))
        return "\n".join(lines)


def _show(text: str) -> str:
    body = text.rstrip("\n")
    if not body.strip():
        return repr(text)
    if "\n" not in body:
        return body
    return "\n" + "\n".join("      | " + line for line in body.split("\n"))


# --------------------------------------------------------------------------------------------------
# Finding and blaming


def find_flaws(grammar, *, samples: int = 500, seed: int = 0, max_size: int = DEFAULT_MAX_SIZE,
               start: str | None = None, max_groups: int = 8, coverage: bool = True) -> FlawReport:
    """Compile the grammar's coverage set and ``samples`` random programs; group the rejected
    strings by message and responsible production (see the module docstring).

    ``grammar``: a ``Grammar``, a bundled name, a .bnf or .lark path, or ``lark:python``.
    ``samples``: distinct random programs besides the coverage set (``coverage=False``: none).
    ``seed``: the same seed gives the same programs and the same report.
    ``max_size``: the size budget of random programs, in rule expansions.
    ``start``: a rule or @level to derive from instead of the start rule.
    ``max_groups``: at most this many productions are blamed per message; the strings left
    over go to one group marked as not blamed."""
    if not isinstance(samples, int) or samples < 0:
        raise InvalidArgument(f"samples={samples!r}: must be an int >= 0")
    if not isinstance(max_size, int) or max_size < 1:
        raise InvalidArgument(f"max_size={max_size!r}: must be a positive int (rule expansions)")
    began = time.monotonic()
    grammar = load_grammar(grammar)
    rule = grammar.start_for(start)
    trees = Trees(grammar)
    if trees.cost[rule] == math.inf:
        raise InvalidArgument(f"<{rule}> of {grammar.path} derives nothing on Python "
                              f"{sys.version_info[0]}.{sys.version_info[1]} (@since)")
    with _deep_recursion(20 * max_size + 2000):
        candidates: dict = {}  # text -> tree (the first that made it)
        for tree in (trees.coverage_set(rule) if coverage else []):
            candidates.setdefault(trees.text(tree), tree)
        from_coverage = len(candidates)
        rand = random.Random(seed)
        drawn = 0
        for _ in range(20 * samples):  # distinct programs (half of python.lark's are empty)
            if drawn == samples:
                break
            tree = trees.random_tree(rule, rand, max_size)
            text = trees.text(tree)
            if text not in candidates:
                candidates[text] = tree
                drawn += 1
        compiler = Compiler()
        try:
            texts = list(candidates)
            verdicts = compiler.check(texts)
            rejected = {t: v for t, v in zip(texts, verdicts) if v is not None}
            flaws = _group(trees, compiler, candidates, rejected, max_groups)
        finally:
            compiler.close()
    flaws.sort(key=lambda f: (-f.count, f.message, len(f.example)))
    return FlawReport(grammar=grammar.path, checked=len(candidates), coverage_programs=from_coverage,
                      samples=len(candidates) - from_coverage, rejected=len(rejected), flaws=flaws,
                      seconds=time.monotonic() - began, compiles=compiler.compiled)


def message_key(message: str, text: str) -> str:
    """The message with the names the program chose left out: ``duplicate argument 'a'`` and
    ``duplicate argument 'b'`` are one flaw. (A quoted identifier that is a word of the text and
    not a keyword: ``'return' outside function`` keeps its keyword.)"""
    def name(match) -> str:
        word = match.group(1)
        if word.isidentifier() and not keyword.iskeyword(word) and re.search(
                rf"(?<![\w.]){re.escape(word)}(?!\w)", text):
            return "'…'"
        return match.group(0)

    return re.sub(r"'([^'\s]+)'", name, message)


def _group(trees: Trees, compiler: Compiler, candidates: dict, rejected: dict,
           max_groups: int) -> list:
    by_message: dict = {}
    for text in sorted(rejected, key=lambda t: (len(t), t)):
        by_message.setdefault(message_key(rejected[text], text), []).append(text)
    flaws = []
    for texts in by_message.values():
        groups: dict = {}  # (rule, alternative) -> Flaw
        for text in texts:  # shortest first
            tree, message = candidates[text], rejected[text]
            key = _member(trees, compiler, tree, message, list(groups))
            if key is None and len(groups) >= max_groups:
                key = ("", -1)
                if key not in groups:
                    groups[key] = Flaw(message, "", -1, f"(not blamed: more than {max_groups} "
                                       "productions for this message)", "", (), text, text)
            if key is None:
                key, flaw = blame(trees, compiler, reduce_tree(trees, compiler, tree, message),
                                  message)
                flaw.original = text
                if key not in groups:
                    groups[key] = flaw
                elif len(flaw.example) < len(groups[key].example):
                    groups[key] = dataclasses.replace(flaw, count=groups[key].count)
            groups[key].count += 1
        flaws.extend(groups.values())
    return flaws


def _member(trees: Trees, compiler: Compiler, tree: Node, message: str, keys: list):
    """The first group key (rule, alternative) that ``tree`` uses and whose every use, changed
    to another alternative of the rule, makes ``message`` go away; None if there is none."""
    keys = [k for k in keys if k[0]]
    if not keys:
        return None
    used = {(node.rule, node.alt) for _, node in _paths(tree)}
    experiments = []
    for key in keys:
        if key in used:
            for k in range(len(trees.alts[key[0]])):
                if k != key[1] and trees.usable(key[0], k):
                    experiments.append((key, trees.text(_replace_all(trees, tree, key, k))))
    verdicts = compiler.check([text for _, text in experiments])
    for key in keys:
        if any(k == key and v != message for (k, _), v in zip(experiments, verdicts)):
            return key
    return None


def _replace_all(trees: Trees, node: Node, key: tuple, alt: int) -> Node:
    children = tuple(_replace_all(trees, child, key, alt) for child in node.children)
    if any(new is not old for new, old in zip(children, node.children)):
        node = Node(node.rule, node.alt, children)
    if (node.rule, node.alt) == key:
        node = trees.transplant(node, alt)
    return node


def reduce_tree(trees: Trees, compiler: Compiler, tree: Node, message: str,
                chunk: int = 16) -> Node:
    """The tree, reduced while ``compile()`` rejects its text with ``message``: top down, each
    subtree replaced by the smallest of its same-rule subtrees, or of its rule's alternatives
    (with the shortest children, or with its own subtrees where the rules match), that makes
    the whole text shorter and keeps the rejection. Repeated until nothing changes."""
    changed = True
    while changed:
        changed = False
        stack = [()]
        while stack:
            path = stack.pop()
            node = _at(tree, path)
            length = len(trees.text(tree))
            options = {id(n): n for _, n in _paths(node) if n.rule == node.rule and n is not node}
            for k in range(len(trees.alts[node.rule])):
                if trees.usable(node.rule, k):
                    for option in (trees.with_alt(node.rule, k), trees.transplant(node, k),
                                   trees.transplant(node, k, deep=True)):
                        options[id(option)] = option
            # by the length the option would give (exact but for the indentation of the lines it
            # adds or removes inside @indent blocks), shortest first; tried a chunk at a time
            own = len(trees.text(node))
            ranked = sorted((o for o in options.values() if len(trees.text(o)) < own),
                            key=lambda o: (len(trees.text(o)), trees.text(o)))
            for at in range(0, len(ranked), chunk):
                made = []
                for option in ranked[at:at + chunk]:
                    candidate = _replace(tree, path, option)
                    if len(trees.text(candidate)) < length:
                        made.append((candidate, option))
                verdicts = compiler.check([trees.text(c) for c, _ in made])
                found = next((m for m, v in zip(made, verdicts) if v == message), None)
                if found is not None:
                    tree, node = found
                    changed = True
                    break
            for i in range(len(node.children) - 1, -1, -1):
                stack.append(path + (i,))
    return tree


def blame(trees: Trees, compiler: Compiler, tree: Node, message: str) -> tuple:
    """The responsible production of a reduced tree that ``compile()`` rejects with ``message``:
    the lowest common ancestor of its lowest *repairable* nodes, where another alternative (its
    own subtrees kept where the rules match, the shortest derivation elsewhere) makes the text
    compile. (Not merely "makes the message go away": a change that brings in another flaw, a
    ``yield`` at module level, would hide the first one.) Returns ((rule, alternative), Flaw)."""
    experiments = []
    for path, node in _paths(tree):
        for k in range(len(trees.alts[node.rule])):
            if k != node.alt and trees.usable(node.rule, k):
                changed = _replace(tree, path, trees.transplant(node, k))
                experiments.append((path, trees.text(changed)))
    verdicts = compiler.check([text for _, text in experiments])
    repairable = {path for (path, _), verdict in zip(experiments, verdicts) if verdict is None}
    lowest = [p for p in repairable if not any(len(q) > len(p) and q[:len(p)] == p for q in repairable)]
    at: tuple = ()
    if lowest:
        at = lowest[0]
        for p in lowest[1:]:
            common = 0
            while common < min(len(at), len(p)) and at[common] == p[common]:
                common += 1
            at = at[:common]
    node = _at(tree, at)
    context_path, names = _context(trees, tree, at)
    context = _at(tree, context_path) if context_path is not None else None
    flaw = Flaw(message=message, rule=node.rule, alternative=node.alt,
                production=_production(trees.grammar, node.rule, node.alt),
                context=_production(trees.grammar, context.rule, context.alt) if context else "",
                path=names, example=trees.text(tree), original="")
    return (node.rule, node.alt), flaw


def _context(trees: Trees, tree: Node, path: tuple) -> tuple:
    """The path of the nearest proper ancestor of ``path`` whose alternative is not a unit
    production, and the rule names from it down to the node (None, names: the root)."""
    names = [_at(tree, path).rule]
    for cut in range(len(path) - 1, -1, -1):
        ancestor = _at(tree, path[:cut])
        names.insert(0, ancestor.rule)
        if len(trees.alts[ancestor.rule][ancestor.alt]) != 1:
            return path[:cut], tuple(names)
    return None, tuple(names)


def _production(grammar: Grammar, rule: str, alt: int) -> str:
    from tinyfuzz.grammar.lark_loader import lark_origin

    origin = lark_origin(grammar)
    if origin is not None:
        return origin.production(rule, alt)
    symbols = grammar.rules[rule].alternatives[alt]
    body = " ".join(str(s) if isinstance(s, NonTerminal) else json.dumps(s.text) for s in symbols)
    return f"<{rule}> ::= {body or chr(34) * 2}  (alternative {alt})"
