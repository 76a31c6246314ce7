"""The reader of the BNF notation of the TinyPy paper, with its static checks.

Notation::

    # comment
    <name> ::= <other> "quoted" bare | ""        # "" is the empty string
    <digit> ::= 0 | 1 | ... | 9                   # a range of single characters
    <level1.1> ::= <init> <display>               # left recursion is fine
    @start <all>

A problem is reported Lark-style: file, line, column and a caret under the spot.
"""

from __future__ import annotations

import difflib
import math
import re
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Mapping

from tinyfuzz.errors import GrammarError
from tinyfuzz.grammar.model import DIRECTIVES, Directive, Grammar, NonTerminal, Rule, Terminal, min_costs, reachable

_NAME = r"[A-Za-z_][\w.\-]*"
_NONTERMINAL = re.compile(r"<(" + _NAME + r")>")
_RULE_HEAD = re.compile(r"^(\s*)<(" + _NAME + r")>\s*::=")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", '"': '"', "'": "'", "s": " ", "0": "\0"}

# --------------------------------------------------------------------------------------------------
# Loading


class _Lines:
    """Source lines of a grammar file, for error messages with a caret."""

    def __init__(self, text: str, path: str):
        self.lines = text.splitlines()
        self.path = path

    def error(self, message: str, line: int = 0, column: int = 0) -> GrammarError:
        source = self.lines[line - 1] if 0 < line <= len(self.lines) else None
        return GrammarError(message, path=self.path, line=line, column=column, source_line=source)


@dataclass
class _Token:
    kind: str  # "nt", "t", "bar", "range"
    value: str
    line: int
    column: int


def _strip_comment(line: str) -> str:
    """Drop a ``#`` comment that starts a line or follows whitespace, outside quotes.

    Scans the line token by token the way ``_tokenize_body`` does, so a quote opens a string exactly
    where the tokenizer would open one (also right after ``::=`` or a nonterminal) and an escaped
    backslash before the closing quote does not hide it.
    """
    head = _RULE_HEAD.match(line)
    i = head.end() if head else 0
    while i < len(line):
        ch = line[i]
        if ch in " \t|":
            i += 1
        elif ch == "#" and (i == 0 or line[i - 1] in " \t"):
            return line[:i]
        elif ch in "\"'":
            j = i + 1
            while j < len(line) and line[j] != ch:
                j += 2 if line[j] == "\\" else 1
            i = j + 1
        elif _NONTERMINAL.match(line, i):
            i = _NONTERMINAL.match(line, i).end()
        else:  # a bare word, as in _tokenize_body
            j = i + 1
            while j < len(line) and line[j] not in " \t|" and not (
                    line[j] == "<" and _NONTERMINAL.match(line, j)):
                j += 1
            i = j
    return line


def _unescape(text: str, src: _Lines, line: int, column: int) -> str:
    out = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            nxt = text[i + 1]
            if nxt not in _ESCAPES:
                raise src.error(f"unknown escape \\{nxt}; use one of \\n \\t \\r \\s \\\\ \\\" \\'",
                                line, column + i)
            out.append(_ESCAPES[nxt])
            i += 2
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def _tokenize_body(text: str, line: int, offset: int, src: _Lines) -> list[_Token]:
    """Tokens of a rule body (the part after ``::=``) on one source line."""
    tokens: list[_Token] = []
    i = 0
    while i < len(text):
        ch = text[i]
        col = offset + i + 1
        if ch in " \t":
            i += 1
            continue
        if ch == "|":
            tokens.append(_Token("bar", "|", line, col))
            i += 1
            continue
        if ch in "\"'":
            j = i + 1
            while j < len(text) and text[j] != ch:
                j += 2 if text[j] == "\\" else 1
            if j >= len(text):
                raise src.error(f"unterminated string: add the closing {ch}", line, col)
            tokens.append(_Token("t", _unescape(text[i + 1:j], src, line, col + 1), line, col))
            i = j + 1
            continue
        match = _NONTERMINAL.match(text, i)
        if match:
            tokens.append(_Token("nt", match.group(1), line, col))
            i = match.end()
            continue
        # A bare terminal runs to whitespace, a bar, or the start of a nonterminal.
        j = i
        while j < len(text) and text[j] not in " \t|":
            if j > i and text[j] == "<" and _NONTERMINAL.match(text, j):
                break
            j += 1
        word = text[i:j]
        if word == "...":
            tokens.append(_Token("range", word, line, col))
        else:
            tokens.append(_Token("t", _unescape(word, src, line, col), line, col))
        i = j
    return tokens


def _alternatives(name: str, tokens: list[_Token], head: _Token, src: _Lines) -> tuple:
    """Split body tokens at bars, expand ``a | ... | z`` ranges."""
    groups: list[list[_Token]] = [[]]
    bars: list[_Token] = []
    for tok in tokens:
        if tok.kind == "bar":
            bars.append(tok)
            groups.append([])
        else:
            groups[-1].append(tok)
    for k, group in enumerate(groups):
        if not group:  # point at the bar that closes the empty alternative (or the trailing bar)
            at = bars[min(k, len(bars) - 1)] if bars else head
            raise src.error(f"empty alternative in <{name}>: write \"\" for the empty string",
                            at.line, at.column)
    alternatives: list[tuple] = []
    for k, group in enumerate(groups):
        if group[0].kind == "range":
            tok = group[0]
            if len(group) != 1 or k == 0 or k == len(groups) - 1:
                raise src.error("'...' must stand alone between two alternatives, as in a | ... | z",
                                tok.line, tok.column)
            low = alternatives[-1]
            high = groups[k + 1]
            if (len(low) != 1 or not isinstance(low[0], Terminal) or len(low[0].text) != 1
                    or len(high) != 1 or high[0].kind != "t" or len(high[0].value) != 1
                    or ord(high[0].value) <= ord(low[0].text)):
                raise src.error("'...' needs single characters on both sides, the lower first "
                                "(a | ... | z, 0 | ... | 9)", tok.line, tok.column)
            for code in range(ord(low[0].text) + 1, ord(high[0].value)):
                alternatives.append((Terminal(chr(code)),))
            continue
        symbols = []
        for tok in group:
            if tok.kind == "range":
                raise src.error("'...' must stand alone between two alternatives, as in a | ... | z",
                                tok.line, tok.column)
            if tok.kind == "nt":
                symbols.append(NonTerminal(tok.value, tok.line, tok.column))
            elif tok.value:  # "" is the empty string: contributes no symbol
                symbols.append(Terminal(tok.value))
        alternatives.append(tuple(symbols))
    return tuple(alternatives)


def _parse_directive(text: str, line: int, src: _Lines) -> Directive:
    stripped = text.lstrip()
    indent = len(text) - len(stripped)
    parts = stripped[1:].split()
    keyword = parts[0] if parts else ""
    if keyword not in DIRECTIVES:
        known = ", ".join("@" + k for k in DIRECTIVES)
        raise src.error(f"unknown directive @{keyword}; known directives: {known}", line, indent + 1)
    n_words, usage = DIRECTIVES[keyword]
    words, symbols = [], []
    column = indent + 2 + len(keyword)
    for part in parts[1:]:
        column = text.index(part, column - 1) + 1
        match = _NONTERMINAL.fullmatch(part)
        if match:
            symbols.append(NonTerminal(match.group(1), line, column))
        elif part == "in" and keyword == "shared":
            symbols.append(None)  # separator, checked below
        else:
            words.append(part)
        column += len(part)
    if len(words) != n_words or not symbols:
        raise src.error(f"malformed @{keyword}: write it as {usage}", line, indent + 1)
    if keyword == "start" and len(symbols) != 1 or keyword == "level" and len(symbols) != 1:
        raise src.error(f"malformed @{keyword}: write it as {usage}", line, indent + 1)
    if keyword == "shared" and (symbols.count(None) != 1 or symbols[-2] is not None
                                or len(symbols) < 3):
        raise src.error(f"malformed @shared: write it as {usage}", line, indent + 1)
    if keyword == "since" and not re.fullmatch(r"\d+\.\d+", words[0]):
        raise src.error(f"@since needs a version like 3.10, not {words[0]!r}", line, indent + 1)
    return Directive(keyword, tuple(words), tuple(symbols), line, indent + 1)


def parse_bnf(text: str, path: str = "<grammar>", *, check_unreachable: bool = True) -> Grammar:
    """Parse and validate BNF source text. Raises ``GrammarError`` pointing at the first problem."""
    src = _Lines(text, path)
    rules: dict[str, Rule] = {}
    heads: dict[str, _Token] = {}
    bodies: dict[str, list[_Token]] = {}
    directives: list[Directive] = []
    current: str | None = None
    for number, raw in enumerate(src.lines, start=1):
        line = _strip_comment(raw)
        if not line.strip():
            continue
        if line.lstrip().startswith("@"):
            directives.append(_parse_directive(line, number, src))
            current = None
            continue
        head = _RULE_HEAD.match(line)
        if head:
            name = head.group(2)
            column = len(head.group(1)) + 1
            if name in heads:
                first = heads[name].line
                raise src.error(f"<{name}> is defined twice (first on line {first}): "
                                "merge the alternatives into one rule", number, column)
            heads[name] = _Token("nt", name, number, column)
            bodies[name] = _tokenize_body(line[head.end():], number, head.end(), src)
            current = name
            continue
        if current is None:
            col = len(line) - len(line.lstrip()) + 1
            raise src.error("expected a rule '<name> ::= ...' or a directive '@...'", number, col)
        bodies[current].extend(_tokenize_body(line, number, 0, src))  # continuation line
    if not heads:
        raise src.error("the grammar defines no rules: write one as <name> ::= ...", 1, 1)
    for name, head in heads.items():
        if not bodies[name]:
            raise src.error(f"<{name}> has no alternatives: write \"\" for the empty string",
                            head.line, head.column)
        rules[name] = Rule(name, _alternatives(name, bodies[name], head, src), head.line, head.column)

    def check_defined(symbol: NonTerminal) -> None:
        if symbol.name not in rules:
            close = difflib.get_close_matches(symbol.name, list(rules), n=1)
            hint = f" (did you mean <{close[0]}>?)" if close else f": define it as <{symbol.name}> ::= ..."
            raise src.error(f"undefined nonterminal <{symbol.name}>{hint}", symbol.line, symbol.column)

    for rule in rules.values():
        for alternative in rule.alternatives:
            for symbol in alternative:
                if isinstance(symbol, NonTerminal):
                    check_defined(symbol)
    for directive in directives:
        for symbol in directive.symbols:
            if symbol is not None:
                check_defined(symbol)

    starts = [d for d in directives if d.keyword == "start"]
    if len(starts) > 1:
        raise src.error("more than one @start: keep one", starts[1].line, starts[1].column)
    if starts:
        start = starts[0].symbols[0].name
    elif "start" in rules:
        start = "start"
    else:
        raise src.error("no start rule: add a line '@start <name>' or define <start> ::= ...", 1, 1)
    levels = {d.words[0]: d.symbols[0].name for d in directives if d.keyword == "level"}

    cost = min_costs(rules)
    for name, rule in rules.items():
        if cost[name] == math.inf and _is_cause_of_nontermination(name, rules, cost):
            raise src.error(f"<{name}> can never finish: every alternative refers back to a rule that "
                            "never finishes; add an alternative without that recursion",
                            rule.line, rule.column)
    if check_unreachable:
        roots = {start, *levels.values()}
        reached = reachable(rules, roots)
        for name, rule in rules.items():
            if name not in reached:
                raise src.error(f"<{name}> is unreachable from the start rule <{start}>: use it in "
                                "a rule or delete it", rule.line, rule.column)
    stem = Path(path).stem if path != "<grammar>" else "grammar"
    return Grammar(rules=MappingProxyType(rules), start=start, levels=MappingProxyType(levels),
                   directives=tuple(directives), min_cost=MappingProxyType(cost), path=path, name=stem)


def _is_cause_of_nontermination(name: str, rules: Mapping[str, Rule], cost) -> bool:
    """Whether the never-finishing rule ``name`` is a cause rather than a victim of another one.

    Blame a rule in a *bottom* cycle of never-finishing rules (every never-finishing rule it leads to
    leads back to it), not a rule such as the start rule that merely uses a broken rule.
    """
    def onward(root: str) -> set[str]:
        seen: set[str] = set()
        stack = [root]
        while stack:
            for alternative in rules[stack.pop()].alternatives:
                for s in alternative:
                    if isinstance(s, NonTerminal) and cost[s.name] == math.inf and s.name not in seen:
                        seen.add(s.name)
                        stack.append(s.name)
        return seen

    return all(name in onward(other) for other in onward(name))
