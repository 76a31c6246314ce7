"""tinyfuzz grammars as Lark Earley parsers: an independent check of what a generator produced.

``parser_for(grammar)`` turns a BNF grammar into a Lark grammar (each alternative aliased
``<rule>__<index>`` so a parse tree says which alternative matched) and parses program text with
Earley over characters (Lark's dynamic lexer), so no tokenizer has to agree with the grammar's
own spacing. ``@indent`` cannot be said in a context-free grammar: the text's indentation is turned
into explicit markers first (``INDENT``/``DEDENT`` characters, as Python's tokenizer does), and each
``@indent`` rule expects its text between them.

Used to assert coverage from the listing's text (not from the generator's own record), and to
cross-parse two grammars (``tinyfuzz grammar-diff``).
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass

from tinyfuzz.grammar.load import load_grammar
from tinyfuzz.grammar.model import Grammar, NonTerminal, Terminal
from tinyfuzz.grammar.semantics import Semantics

INDENT, DEDENT = "\u27e8", "\u27e9"  # ⟨ ⟩: characters no generated program contains
_INDENT_UNIT = "    "  # what ``semantics.indent_block`` puts before each line


@dataclass(frozen=True)
class GrammarParser:
    grammar: Grammar
    lark: object  # lark.Lark
    names: dict  # lark rule name -> tinyfuzz rule name
    indents: bool  # does the text need its indentation marked first

    def parse(self, text: str):
        """The Lark tree of ``text`` (raises ``lark.exceptions.LarkError`` if it does not parse)."""
        return self.lark.parse(mark_indentation(text) if self.indents else text)

    def accepts(self, text: str) -> bool:
        from lark.exceptions import LarkError

        try:
            self.parse(text)
        except LarkError:
            return False
        return True

    def k_paths_used(self, text: str, k: int) -> set:
        """The k-paths of some parse of ``text``: chains of k rules, each expanded directly
        inside the one before (Havrikov and Zeller's k-path coverage)."""
        paths: set = set()

        def walk(node, above: tuple) -> None:
            if not hasattr(node, "data"):
                return
            name = self.names.get(node.data.rpartition("__")[0]) if "__" in node.data else None
            chain = (above + (name,))[-k:] if name else above  # _ambig, start: not rules
            if name and len(chain) == k:
                paths.add(chain)
            for child in node.children:
                walk(child, chain)

        walk(self.parse(text), ())
        return paths

    def alternatives_used(self, text: str) -> set:
        """The (rule, alternative index) pairs some parse of ``text`` uses."""
        used = set()
        for node in self.parse(text).iter_subtrees():
            name, _, index = node.data.rpartition("__")
            if name in self.names and index.isdigit():
                used.add((self.names[name], int(index)))
        return used


def _lark_name(index: int, name: str) -> str:
    return f"r{index}_" + re.sub(r"[^a-z0-9_]", "_", name.lower())


def lark_grammar(grammar: Grammar, start: str | None = None) -> tuple[str, dict, bool]:
    """The Lark text of ``grammar`` from ``start``, its name map, and whether it uses @indent.

    ``@eval`` rules read as an integer literal (their text is their value); an alternative that
    repeats an earlier one of the same rule (a weight) is left out: text cannot tell them apart.
    """
    start = start or grammar.start
    sem = Semantics.of(grammar)
    indented, evaluated = sem.indents, sem.evals
    binders: dict = {}  # kind -> the rules that bind names of that kind
    for rule_name, kind in sem.binds.items():
        binders.setdefault(kind, []).append(rule_name)
    lark_names = {name: _lark_name(i, name) for i, name in enumerate(grammar.rules)}
    lines = [f"start: {lark_names[start]}"]
    for name, rule in grammar.rules.items():
        if name in evaluated:
            lines.append(f"{lark_names[name]}: /-?[0-9]+/ -> {lark_names[name]}__eval")
            continue
        alternatives, seen = [], set()
        for index, alternative in enumerate(rule.alternatives):
            parts = []
            for symbol in (_with_marked_indentation(alternative) if indented else alternative):
                if isinstance(symbol, NonTerminal):
                    parts.append(lark_names[symbol.name])
                elif isinstance(symbol, Terminal) and symbol.text:
                    parts.append(json.dumps(symbol.text))
            body = " ".join(parts)
            if body in seen:
                continue
            seen.add(body)
            if name in indented:
                body = f'"{INDENT}" {body} "{DEDENT}"'
            alternatives.append(f"{body} -> {lark_names[name]}__{index}")
        for kind in sem.uses.get(name, ()):  # @use: any name an in-scope @bind rule made
            for binder in binders.get(kind, ()):
                if binder != name and lark_names[binder] not in seen:
                    seen.add(lark_names[binder])
                    alternatives.append(f"{lark_names[binder]} -> {lark_names[name]}__use")
        lines.append(f"{lark_names[name]}: " + "\n    | ".join(alternatives))
    return "\n".join(lines) + "\n", {v: k for k, v in lark_names.items()}, bool(indented)


def _with_marked_indentation(alternative: tuple) -> list:
    """The alternative with the indentation written inside its terminals (``":\\n    break\\n"``)
    turned into markers exactly as ``mark_indentation`` marks the text, relative to the rule's own
    level (its ``@indent`` wrapper, or the enclosing one, marks that)."""
    out: list = []
    level, blanks = 0, ""
    # pending: at a line start whose depth is not known yet; a rule whose text starts indented
    # (``<class_body> ::= "    def __init__..."``) starts at a line start
    first = alternative[0] if alternative else None
    pending = isinstance(first, Terminal) and first.text.startswith(_INDENT_UNIT)

    def close(depth: int) -> str:
        nonlocal level, blanks
        marks = DEDENT * max(level - depth, 0) + blanks + INDENT * max(depth - level, 0)
        level, blanks = depth, ""
        return marks

    for symbol in alternative:
        if not isinstance(symbol, Terminal):
            if pending:  # a rule's text starts at the rule's own level
                out.append(Terminal(close(0)))
                pending = False
            out.append(symbol)
            continue
        text = ""
        segments = symbol.text.split("\n")
        for index, segment in enumerate(segments):
            ends_line = index < len(segments) - 1
            if pending and ends_line and not segment.strip():
                blanks += segment + "\n"  # a blank line keeps no level
                continue
            if pending and segment:
                depth = _indent_depth(segment)
                text += close(depth) + segment[len(_INDENT_UNIT) * depth:]
                pending = False
            elif not pending:
                text += segment
            if ends_line:
                text += "\n"
                pending = True
        out.append(Terminal(text))
    if pending and (level or blanks):  # what follows this rule starts at its level or lower
        out.append(Terminal(close(0)))
    return out


def grammar_k_paths(grammar: Grammar, k: int, start: str | None = None) -> set:
    """Every k-path of ``grammar`` from ``start``: chains of k rules, each appearing in an
    alternative of the one before, not passing through an ``@eval`` rule (its text is a value)."""
    evaluated = Semantics.of(grammar).evals
    children = {name: {s.name for alternative in rule.alternatives for s in alternative
                       if isinstance(s, NonTerminal) and s.name not in evaluated}
                for name, rule in grammar.rules.items()}
    # a path may start at any rule the start reaches
    paths = {(name,) for name, _ in observable_alternatives(grammar, start)}
    for _ in range(k - 1):
        paths = {path + (child,) for path in paths for child in children[path[-1]]}
    return paths


def observable_alternatives(grammar: Grammar, start: str | None = None) -> set:
    """The (rule, index) pairs a parse of the text can show: reachable from ``start`` without
    going through an ``@eval`` rule, and not a repeat of an earlier alternative of their rule."""
    evaluated = Semantics.of(grammar).evals
    result, todo, seen = set(), [start or grammar.start], set()
    while todo:
        name = todo.pop()
        if name in seen or name in evaluated:
            continue
        seen.add(name)
        bodies = set()
        for index, alternative in enumerate(grammar.rules[name].alternatives):
            if alternative not in bodies:
                bodies.add(alternative)
                result.add((name, index))
            todo.extend(s.name for s in alternative if isinstance(s, NonTerminal))
    return result


@functools.lru_cache(maxsize=16)
def _parser(grammar: Grammar, start: str | None) -> GrammarParser:
    from lark import Lark

    text, names, indents = lark_grammar(grammar, start)
    lark = Lark(text, parser="earley", lexer="dynamic", ambiguity="explicit")
    return GrammarParser(grammar, lark, names, indents)


def parser_for(grammar, start: str | None = None) -> GrammarParser:
    """An Earley parser for a grammar (a bundled name, a path or a ``Grammar``)."""
    return _parser(load_grammar(grammar), start)


def _indent_depth(line: str) -> int:
    """How many indentation units ``line`` starts with."""
    depth = 0
    while line.startswith(_INDENT_UNIT * (depth + 1)):
        depth += 1
    return depth


def mark_indentation(text: str) -> str:
    """Indentation made explicit: INDENT where a line is indented one unit deeper than the one
    before, DEDENT for each unit it comes back, right after the newline that ends the block
    (before any blank lines, which keep no level)."""
    out, level, blanks = [], 0, []
    for line in text.splitlines(keepends=True):
        if not line.strip():
            blanks.append(line)
            continue
        depth = _indent_depth(line)
        out.append(DEDENT * max(level - depth, 0))
        out += blanks
        out.append(INDENT * max(depth - level, 0) + line[len(_INDENT_UNIT) * depth:])
        level, blanks = depth, []
    return "".join(out) + DEDENT * level + "".join(blanks)
