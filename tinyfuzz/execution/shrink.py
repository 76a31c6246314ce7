"""A grammar-aware test-case reducer that finishes the job after Hypothesis (issue 6).

``reduce(source, interesting)`` shrinks a Python program while ``interesting(candidate)`` stays
true. It is built like C-Reduce and shrinkray: a list of passes, tried in order until a whole round
makes no progress. Each pass looks at the current program and proposes candidates; they are tried
shortest first (ties broken by the text itself, so a reduction is reproducible), the first
interesting one is accepted and the pass starts again on it -- from the same position in its new
shortest-first list, as C-Reduce keeps a pass's state: the candidates before that position failed
a moment ago and mostly would again (retrying them at once cost twice the tests on the benchmark);
they are retried in the next round, and reduction stops only after a round in which no pass made
progress, so the result is still minimal for every pass. Every tested candidate is cached by its
text, so nothing runs twice, and only candidates smaller than the current program in shortlex order
(length, then text) count, so reduction always terminates.

The passes work on the AST (``ast.parse``, then ``ast.unparse``): candidates that do not compile are
skipped without running them. In order:

- ``delete``: statements and aligned runs of statements of every block (halves, quarters, ...,
  single statements, ddmin-style), including ``else``/``elif`` branches and ``except`` handlers;
  a body left empty becomes ``pass``;
- ``hoist``: a compound statement replaced by one of its bodies, an assignment by its value, an
  expression by one of its sub-expressions (a BinOp by its left or right, a call by an argument, ...);
- ``simplify``: an expression replaced by a simpler one (0, 1, -1, '', [], a smaller int, a
  shorter string, an ``and``/``or`` chain without one of its operands);
- ``inline``: a name assigned once, to a constant (or to anything, when it is read once), replaced
  by that value (with and without its assignment);
- ``rename``: bound identifiers renamed to the shortest unused names (all at once, then one by one);
- ``lines``: text pass, aligned runs of lines deleted (this is what reduces a program that does not
  parse);
- ``compact``: text pass, spaces around operators and indentation squeezed (``7 // 2`` ->
  ``7//2``), only where the tokens and the AST stay the same; once accepted, AST candidates are
  rendered compact too.

The interestingness test is a black box: run the program wherever it must run (never here).
"""

from __future__ import annotations

import ast
import builtins
import io
import keyword
import re
import tokenize
import warnings
from collections import Counter
from dataclasses import dataclass, field
from itertools import count, product
from string import ascii_lowercase
from typing import Callable, Iterable, Iterator

from tinyfuzz.errors import InvalidArgument

__all__ = ["ReductionResult", "reduce", "compact"]


@dataclass
class ReductionResult:
    source: str  # the smallest interesting program found
    tests_run: int  # calls of the interestingness test (cache hits and skipped candidates excluded)
    history: list[int] = field(default_factory=list)  # size after the input and each accepted step
    accepted: dict[str, int] = field(default_factory=dict)  # accepted candidates per pass
    exhausted: bool = False  # stopped by max_tests before the passes reached a fixed point
    tests_by_pass: dict[str, int] = field(default_factory=dict)  # where the tests went


class _OutOfTests(Exception):
    pass


def _shortlex(text: str) -> tuple[int, str]:
    return len(text), text


def _compiles(text: str) -> bool:
    """Does it compile? (``compile`` only: nothing runs.) Catches ``break`` outside a loop too."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            compile(text, "<candidate>", "exec", dont_inherit=True)
        return True
    except (SyntaxError, ValueError, RecursionError, MemoryError, OverflowError):
        return False


def _parse(text: str) -> ast.Module | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


# --- compacting whitespace ----------------------------------------------------------------------

_WORDY = {tokenize.NAME, tokenize.NUMBER, tokenize.STRING}


def _tokens(text: str) -> list[tuple[int, str]] | None:
    try:
        return [(t.type, t.string) for t in tokenize.generate_tokens(io.StringIO(text).readline)
                if t.type not in (tokenize.NL, tokenize.COMMENT)]
    except (tokenize.TokenError, SyntaxError, IndentationError):
        return None


def _compact_line(line: str) -> str:
    """One line with the spaces beside operators removed where its tokens stay the same."""
    stripped = line.lstrip(" ")
    indent = line[: len(line) - len(stripped)]
    try:
        toks = [t for t in tokenize.generate_tokens(io.StringIO(stripped).readline)
                if t.type not in (tokenize.NEWLINE, tokenize.NL, tokenize.ENDMARKER,
                                  tokenize.INDENT, tokenize.DEDENT)]
    except (tokenize.TokenError, SyntaxError, IndentationError):
        return line
    if not toks or any(t.start[0] != 1 or t.end[0] != 1 for t in toks):
        return line  # a multi-line string, a comment-only line or an error: leave it alone
    want = [(t.type, t.string) for t in toks]
    out = toks[0].string
    for k, (prev, tok) in enumerate(zip(toks, toks[1:]), start=2):
        gap = stripped[prev.end[1]:tok.start[1]]
        if gap and (prev.type not in _WORDY or tok.type not in _WORDY) and \
                _line_tokens(out + tok.string) == want[:k]:
            out += tok.string
        else:
            out += gap + tok.string
    return indent + out + stripped[toks[-1].end[1]:]


def _line_tokens(text: str) -> list[tuple[int, str]]:
    """The tokens of a (possibly unfinished) line, up to where tokenizing it stops."""
    out = []
    try:
        for t in tokenize.generate_tokens(io.StringIO(text).readline):
            if t.type not in (tokenize.NEWLINE, tokenize.NL, tokenize.ENDMARKER, tokenize.INDENT,
                              tokenize.DEDENT):
                out.append((t.type, t.string))
    except (tokenize.TokenError, SyntaxError, IndentationError):
        pass
    return out


def compact(text: str) -> str:
    """``text`` with whitespace squeezed (spaces beside operators, indentation to one space a
    level), keeping only the changes that leave its AST unchanged."""
    tree = _parse(text)
    if tree is None:
        return text
    want = ast.dump(tree)

    def same(lines):
        parsed = _parse("\n".join(lines))
        return parsed is not None and ast.dump(parsed) == want

    lines = text.split("\n")
    for i, line in enumerate(lines):
        new = _compact_line(line)
        if new != line and same(lines[:i] + [new] + lines[i + 1:]):
            lines[i] = new
    indented = [re.sub(r"^((?:    )+)", lambda m: " " * (len(m.group(1)) // 4), line)
                for line in lines]
    if indented != lines and same(indented):
        lines = indented
    return "\n".join(lines)


# --- addressing the AST -------------------------------------------------------------------------

_STMT_LISTS = ("body", "orelse", "finalbody", "handlers")


def _statements(node: ast.AST, name: str) -> list:
    """The statement list ``node.name``, or [] (``lambda``'s and ``x if c else y``'s ``body`` and
    ``orelse`` are expressions)."""
    value = getattr(node, name, None)
    return value if isinstance(value, list) else []

_TARGET_FIELDS = {"targets", "target", "optional_vars", "name", "names"}  # binding positions
_REQUIRED = {"body"}  # lists that must not be empty (orelse/finalbody may)


def _slots(tree: ast.AST) -> Iterator[tuple[ast.AST, str, int | None]]:
    """Every (parent, field, index) that holds an AST node, outer first, in source order."""
    for node in ast.walk(tree):
        for name, value in ast.iter_fields(node):
            if isinstance(value, list):
                for i, item in enumerate(value):
                    if isinstance(item, ast.AST):
                        yield node, name, i
            elif isinstance(value, ast.AST):
                yield node, name, None


def _get(parent, name, index):
    value = getattr(parent, name)
    return value if index is None else value[index]


def _set(parent, name, index, node):
    if index is None:
        setattr(parent, name, node)
    else:
        getattr(parent, name)[index] = node


def _load_exprs(tree: ast.AST) -> list[tuple[ast.AST, str, int | None]]:
    """Slots holding an expression that is read (not a binding target), outer first."""
    found = []

    def visit(node, in_target=False):
        for name, value in ast.iter_fields(node):
            target = in_target or name in _TARGET_FIELDS
            items = list(enumerate(value)) if isinstance(value, list) else [(None, value)]
            for index, child in items:
                if not isinstance(child, ast.AST):
                    continue
                if isinstance(child, ast.expr) and not target and \
                        not isinstance(getattr(child, "ctx", ast.Load()), (ast.Store, ast.Del)) \
                        and not isinstance(node, (ast.JoinedStr, ast.FormattedValue)):
                    found.append((node, name, index))
                visit(child, target)
    visit(tree)
    return found


def _sub_exprs(node: ast.expr) -> list[ast.expr]:
    """Direct sub-expressions of ``node`` that could stand in for it."""
    if isinstance(node, (ast.JoinedStr, ast.FormattedValue)):
        return []
    if isinstance(node, ast.Call):
        return list(node.args) + [k.value for k in node.keywords]
    if isinstance(node, (ast.ListComp, ast.SetComp, ast.GeneratorExp)):
        return [node.elt] + [g.iter for g in node.generators]
    if isinstance(node, ast.DictComp):
        return [node.key, node.value] + [g.iter for g in node.generators]
    if isinstance(node, ast.Lambda):
        return [node.body]
    return [c for c in ast.iter_child_nodes(node) if isinstance(c, ast.expr)
            and not isinstance(getattr(c, "ctx", None), (ast.Store, ast.Del))]


def _const(value) -> ast.expr:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value < 0:
        return ast.UnaryOp(ast.USub(), ast.Constant(-value))
    return ast.Constant(value)


def _simpler(node: ast.expr) -> list[ast.expr]:
    """Simpler expressions to try in place of ``node``."""
    out = [ast.Constant(0), ast.Constant(1), _const(-1), ast.Constant(""),
           ast.List([], ast.Load())]
    value = _constant_value(node)
    if isinstance(value, bool):
        out.append(ast.Constant(False))
    elif isinstance(value, int):
        toward_zero = value - 1 if value > 0 else value + 1
        for smaller in sorted({value // 2, toward_zero, abs(value), abs(value) // 2, min(value, 2)}):
            out.append(_const(smaller))
    elif isinstance(value, float):
        out += [_const(int(value)), _const(value / 2)]
    elif isinstance(value, str) and value:
        out += [ast.Constant(value[: len(value) // 2]), ast.Constant(value[1:]),
                ast.Constant(value[:-1])]
    elif isinstance(node, ast.BoolOp) and len(node.values) > 2:  # a and b and c: a and c, ...
        out += [ast.BoolOp(node.op, node.values[:i] + node.values[i + 1:])
                for i in range(len(node.values))]
    elif isinstance(node, (ast.List, ast.Tuple, ast.Set)) and node.elts:
        out.append(type(node)(elts=node.elts[: len(node.elts) // 2], ctx=ast.Load())
                   if not isinstance(node, ast.Set) else ast.Set(node.elts[:1]))
    return out


def _constant_value(node):
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and \
            isinstance(node.operand, ast.Constant) and \
            isinstance(node.operand.value, (int, float)) and \
            not isinstance(node.operand.value, bool):
        return -node.operand.value
    return None


# --- the reducer --------------------------------------------------------------------------------


class _Reducer:
    def __init__(self, source: str, interesting: Callable[[str], bool], max_tests: int | None):
        self.current = source
        self.interesting = interesting
        self.max_tests = max_tests
        self.tests_run = 0
        self.cache: dict[str, bool] = {}
        self.history = [len(source)]
        self.accepted: dict[str, int] = {}
        self.tests_by_pass: dict[str, int] = {}
        self.pass_name = "input"
        # a compact input (one reduced before) gets compact candidates: rendered with the spaces
        # ast.unparse puts in, every one of them would be longer than it and never tried
        self.compact_style = _parse(source) is not None and compact(source) == source
        self.passes: list[tuple[str, Callable[[str], Iterable[str]]]] = [
            ("delete", self.pass_delete),
            ("hoist", self.pass_hoist),
            ("inline", self.pass_inline),
            ("simplify", self.pass_simplify),
            ("rename", self.pass_rename),
            ("lines", self.pass_lines),
            ("compact", self.pass_compact),
        ]

    # testing

    def test(self, text: str) -> bool:
        if text in self.cache:
            return self.cache[text]
        if self.max_tests is not None and self.tests_run >= self.max_tests:
            raise _OutOfTests()
        self.tests_run += 1
        self.tests_by_pass[self.pass_name] = self.tests_by_pass.get(self.pass_name, 0) + 1
        result = bool(self.interesting(text))
        self.cache[text] = result
        return result

    def render(self, tree: ast.AST) -> str | None:
        try:
            text = ast.unparse(tree)
        except Exception:  # an AST no source can express (unparse raises assorted errors)
            return None
        return compact(text) if self.compact_style else text

    def run(self) -> None:
        if not self.test(self.current):
            raise InvalidArgument("reduce: the input is not interesting (interesting(source) is "
                                  "false), so there is nothing to keep while reducing")
        progress = True
        while progress:
            progress = False
            for name, make in self.passes:
                position = 0
                while (position := self.step(name, make, position)) is not None:
                    progress = True  # and go on from the same position (see the docstring)

    def step(self, name: str, make, start: int = 0) -> int | None:
        """Try the pass's candidates shortest first from index ``start``; accept the first
        interesting one and return its index (None when none is)."""
        self.pass_name = name
        parses = _parse(self.current) is not None
        here = _shortlex(self.current)
        candidates = sorted({c for c in make(self.current) if c is not None
                             and _shortlex(c) < here}, key=_shortlex)
        for position, candidate in enumerate(candidates[start:], start):
            if candidate not in self.cache and parses and not _compiles(candidate):
                continue  # skipped without running it (a non-parseable input is exempt)
            if self.test(candidate):
                self.current = candidate
                self.history.append(len(candidate))
                self.accepted[name] = self.accepted.get(name, 0) + 1
                if name == "compact":
                    self.compact_style = True
                return position
        return None

    # passes: each yields candidate texts for the current program

    def _edits(self, text: str, make_edits) -> Iterator[str]:
        """Apply each edit in place, render, undo; ``make_edits(tree)`` yields (slot, new value)."""
        tree = _parse(text)
        if tree is None:
            return
        for (parent, name, index), new in list(make_edits(tree)):
            old = getattr(parent, name)
            if isinstance(old, list):
                saved = list(old)
                if index is None:
                    setattr(parent, name, new)
                else:
                    old[index:index + 1] = new if isinstance(new, list) else [new]
                yield self.render(tree)
                setattr(parent, name, saved)
            else:
                setattr(parent, name, new)
                yield self.render(tree)
                setattr(parent, name, old)

    def pass_delete(self, text: str) -> Iterator[str]:
        def edits(tree):
            for node in ast.walk(tree):
                for name in _STMT_LISTS:
                    stmts = _statements(node, name)
                    if not stmts:
                        continue
                    n = len(stmts)
                    size = n
                    while True:
                        for start in range(0, n, size):
                            kept = stmts[:start] + stmts[start + size:]
                            if not kept and name in _REQUIRED and not isinstance(node, ast.Module):
                                kept = [ast.Pass()]
                            yield (node, name, None), kept
                        if size == 1:
                            break
                        size = (size + 1) // 2
        return self._edits(text, edits)

    def pass_hoist(self, text: str) -> Iterator[str]:
        def edits(tree):
            for node in ast.walk(tree):
                for name in _STMT_LISTS[:3]:
                    for i, stmt in enumerate(_statements(node, name)):
                        bodies = [getattr(stmt, f, None) for f in ("body", "orelse", "finalbody")]
                        if isinstance(stmt, ast.Try) or type(stmt).__name__ == "TryStar":
                            bodies += [h.body for h in stmt.handlers]
                        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                            bodies = [stmt.body]
                        for body in bodies:
                            if isinstance(body, list) and body:
                                yield (node, name, i), body
                        if isinstance(stmt, (ast.Assign, ast.AugAssign, ast.AnnAssign)) and stmt.value:
                            yield (node, name, i), [ast.Expr(stmt.value)]  # a = f() -> f()
            for slot in _load_exprs(tree):
                for sub in _sub_exprs(_get(*slot)):
                    yield slot, sub
        return self._edits(text, edits)

    def pass_simplify(self, text: str) -> Iterator[str]:
        def edits(tree):
            for slot in _load_exprs(tree):
                parent, name, _ = slot
                if (isinstance(parent, ast.Call) and name == "func") or \
                        isinstance(parent, ast.Expr):
                    continue  # a constant called, or a constant statement: deleting does better
                for new in _simpler(_get(*slot)):
                    yield slot, new
        return self._edits(text, edits)

    def pass_inline(self, text: str) -> Iterator[str]:
        tree = _parse(text)
        if tree is None:
            return
        stores: dict[str, list] = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
                stores.setdefault(node.id, []).append(node)
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                stores.setdefault(node.name, []).extend([node, node])
            elif isinstance(node, ast.arg):
                stores.setdefault(node.arg, []).extend([node, node])
            elif isinstance(node, (ast.Global, ast.Nonlocal, ast.Import, ast.ImportFrom)):
                for alias in node.names:
                    name = alias if isinstance(alias, str) else (alias.asname or alias.name)
                    stores.setdefault(name.split(".")[0], []).extend([node, node])
        reads = Counter(node.id for node in ast.walk(tree)
                        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load))
        assigns = {}
        for node in ast.walk(tree):
            for name in _STMT_LISTS[:3]:
                for i, stmt in enumerate(_statements(node, name)):
                    if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and \
                            isinstance(stmt.targets[0], ast.Name) and \
                            (_constant_value(stmt.value) is not None
                             or reads[stmt.targets[0].id] == 1) and \
                            len(stores.get(stmt.targets[0].id, ())) == 1:
                        assigns[stmt.targets[0].id] = (node, name, i, stmt.value)
        for var, (holder, field_name, index, value) in assigns.items():
            for drop in (True, False):
                new = _parse(text)
                loads = [(p, f, i) for p, f, i in _slots(new)
                         if isinstance(_get(p, f, i), ast.Name) and _get(p, f, i).id == var
                         and isinstance(_get(p, f, i).ctx, ast.Load)]
                if not loads:
                    continue
                for slot in loads:
                    _set(*slot, value)
                if drop:
                    # find the same assignment in the fresh tree by position
                    for node in ast.walk(new):
                        stmts = getattr(node, field_name, None)
                        if isinstance(stmts, list) and type(node) is type(holder) and \
                                getattr(node, "lineno", 0) == getattr(holder, "lineno", 0) and \
                                len(stmts) > index and isinstance(stmts[index], ast.Assign) and \
                                isinstance(stmts[index].targets[0], ast.Name) and \
                                stmts[index].targets[0].id == var:
                            del stmts[index]
                            if not stmts and field_name in _REQUIRED and \
                                    not isinstance(node, ast.Module):
                                stmts.append(ast.Pass())
                            break
                yield self.render(new)

    def pass_rename(self, text: str) -> Iterator[str]:
        tree = _parse(text)
        if tree is None:
            return
        bound: list[str] = []
        used: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Name):
                used.add(node.id)
                # bound here, or free but not a builtin (a NameError kept as the finding)
                if (not isinstance(node.ctx, ast.Load) or not hasattr(builtins, node.id)) \
                        and node.id not in bound:
                    bound.append(node.id)
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                used.add(node.name)
                if node.name not in bound:
                    bound.append(node.name)
            elif isinstance(node, ast.arg):
                used.add(node.arg)
                if node.arg not in bound:
                    bound.append(node.arg)
            elif isinstance(node, ast.Attribute):
                used.add(node.attr)
            elif isinstance(node, ast.keyword) and node.arg:
                used.add(node.arg)
        if not bound:
            return
        free = (n for size in count(1) for n in map("".join, product(ascii_lowercase, repeat=size))
                if n not in used and not keyword.iskeyword(n))
        mapping = {}
        for name in sorted(bound, key=_shortlex):
            new = next(free)
            if _shortlex(new) < _shortlex(name):
                mapping[name] = new
            else:
                break  # ``free`` is in shortlex order: nothing later can improve on it
        renamings = [mapping] + [{old: new} for old, new in mapping.items()]
        for renaming in renamings:
            new_tree = _parse(text)
            for node in ast.walk(new_tree):
                if isinstance(node, ast.Name) and node.id in renaming:
                    node.id = renaming[node.id]
                elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and \
                        node.name in renaming:
                    node.name = renaming[node.name]
                elif isinstance(node, ast.arg) and node.arg in renaming:
                    node.arg = renaming[node.arg]
                elif isinstance(node, (ast.Global, ast.Nonlocal)):
                    node.names = [renaming.get(n, n) for n in node.names]
                elif isinstance(node, ast.keyword) and node.arg in renaming:
                    node.arg = renaming[node.arg]  # calls of a renamed function's parameters
            yield self.render(new_tree)

    def pass_lines(self, text: str) -> Iterator[str]:
        lines = text.split("\n")
        n = len(lines)
        size = n
        while True:
            for start in range(0, n, size):
                yield "\n".join(lines[:start] + lines[start + size:])
            if size == 1:
                break
            size = (size + 1) // 2

    def pass_compact(self, text: str) -> Iterator[str]:
        yield compact(text)
        tree = _parse(text)
        if tree is not None:
            yield compact(ast.unparse(tree))


def reduce(source: str, interesting: Callable[[str], bool], *,
           max_tests: int | None = None) -> ReductionResult:
    """Shrink ``source`` while ``interesting(candidate)`` holds; see the module docstring.

    ``interesting`` is called once on ``source`` first (raises ``InvalidArgument`` if that is
    false), then at most once per distinct candidate. ``max_tests`` caps the calls in all; the
    smallest interesting program found so far is returned when it is reached.
    """
    if max_tests is not None and max_tests < 1:
        raise InvalidArgument(f"reduce: max_tests={max_tests!r} must be at least 1 (or None)")
    reducer = _Reducer(source, interesting, max_tests)
    exhausted = False
    try:
        reducer.run()
    except _OutOfTests:
        exhausted = True
    return ReductionResult(reducer.current, reducer.tests_run, reducer.history, reducer.accepted,
                           exhausted, reducer.tests_by_pass)
