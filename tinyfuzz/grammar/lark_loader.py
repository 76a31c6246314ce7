"""Lark (EBNF) grammars as tinyfuzz grammars: ``load_lark_grammar("lark:python")``.

Lark reads the grammar file itself (``lark.load_grammar``, the loader ``lark.Lark`` uses): ``?``,
``*``, ``+`` and ``[]`` come back expanded into plain BNF rules (helper rules such as
``__suite_plus_23``), templates instantiated (``comprehension{test}``), ``%import``/``%override``/
``%extend`` resolved, ``%ignore``d terminals set apart. This module turns that compiled BNF into a
tinyfuzz ``Grammar``:

* each Lark rule is a rule of the same name (sanitised: ``comprehension{test}`` becomes
  ``comprehension.test``), its alternatives in Lark's order;
* a literal terminal (``"def"``, ``"("``) is its text followed by one space, except after ``(``,
  ``[``, ``{`` and ``.``: every pair of adjacent tokens is then separated where Python's tokenizer
  needs it (``1 .real``, ``not x``, ``* *``) and nowhere does a space change a token;
* a regex terminal (``NAME``, ``STRING``, ``DEC_NUMBER``...) is a rule whose alternatives are a few
  concrete strings that match its pattern (checked with ``re.fullmatch``), derived from the parsed
  regex: the shortest, and ones that take each branch, one more repetition, other characters of a
  class -- so a permissive pattern shows what it admits (``ur""``). Strings that are also a literal
  terminal of the grammar are left out: Lark's lexer reads them as that literal;
* ``_NEWLINE`` is ``"\\n"``; ``_NEWLINE _INDENT ... _DEDENT`` (the ``%declare``d terminals of Lark's
  ``PythonIndenter``) becomes ``"\\n"`` followed by a new rule ``<rule.block>`` marked ``@indent``,
  so generated blocks are indented as Python wants them; ``%ignore``d terminals are dropped.

``lark_origin(grammar)`` says where each rule and alternative came from (the Lark production, with
its alias), so a flaw found in the tinyfuzz grammar can be traced back to the line to fix.
"""

from __future__ import annotations

import functools
import json
import pkgutil
import re
import weakref
from dataclasses import dataclass, field
from pathlib import Path

from tinyfuzz._internal.files import FileMemo, read_text
from tinyfuzz.errors import GrammarError, InvalidArgument
from tinyfuzz.grammar.bnf import parse_bnf
from tinyfuzz.grammar.model import Grammar

try:  # Python 3.11+: the regex parser moved
    import re._constants as _sre
    import re._parser as _sre_parse
except ImportError:  # pragma: no cover - Python < 3.11
    import sre_constants as _sre  # type: ignore[no-redef]
    import sre_parse as _sre_parse  # type: ignore[no-redef]

BUNDLED = {"python": ("grammars/python.lark", "file_input")}  # lark:NAME -> file in the lark package
MAX_EXAMPLES = 8  # concrete strings per regex terminal
_NO_SPACE_AFTER = {"(", "[", "{", "."}
_INDENTS = {"_INDENT", "INDENT"}
_DEDENTS = {"_DEDENT", "DEDENT"}
_NEWLINES = {"_NEWLINE", "NEWLINE", "_NL", "NL"}


@dataclass
class LarkOrigin:
    """Where the rules of a grammar made from a Lark file came from."""

    path: str  # the .lark file, or lark:NAME
    start: str
    rules: dict = field(default_factory=dict)  # tinyfuzz rule -> Lark rule or terminal name
    productions: dict = field(default_factory=dict)  # (tinyfuzz rule, alternative) -> Lark text
    terminals: dict = field(default_factory=dict)  # rule -> the regex (with flags) of a terminal
    bnf: str = ""  # the BNF text the grammar was parsed from

    def production(self, rule: str, alternative: int) -> str:
        return self.productions.get((rule, alternative), f"{rule}#{alternative}")


_ORIGINS: "weakref.WeakKeyDictionary[Grammar, LarkOrigin]" = weakref.WeakKeyDictionary()


def lark_origin(grammar: Grammar) -> LarkOrigin | None:
    """The Lark provenance of a grammar made by ``load_lark_grammar`` (None for a BNF grammar)."""
    return _ORIGINS.get(grammar)


_LOADED = FileMemo()


def load_lark_grammar(path_or_spec, start: str | None = None) -> Grammar:
    """A tinyfuzz grammar from a Lark grammar file, or ``lark:python`` (Lark's bundled
    ``python.lark``, start rule ``file_input``). ``start``: the start rule (default: the bundled
    grammar's; for a file, its rule ``start``, else its first rule). Raises ``InvalidArgument``
    for a missing file, ``GrammarError`` (naming the file, line and fix) for one Lark or tinyfuzz
    cannot use. Memoized as ``load_grammar`` is: by resolved path and modification stamp."""
    spec = str(path_or_spec)
    if spec.startswith("lark:"):
        name = spec[len("lark:"):]
        if name not in BUNDLED:
            raise InvalidArgument(f"grammar {spec!r}: Lark bundles no such grammar here; "
                                  f"known: {', '.join('lark:' + n for n in BUNDLED)}")
        return _load_bundled(name, start or BUNDLED[name][1])
    file = Path(spec)
    if not file.is_file():
        raise InvalidArgument(f"grammar {spec!r} not found: give a path to a .lark file, or "
                              f"lark:python for Lark's bundled Python grammar")
    # start None: the file's rule ``start``, else its first rule
    return _LOADED.get(file, lambda: _convert(read_text(file), str(file), start),
                        start)


@functools.lru_cache(maxsize=8)
def _load_bundled(name: str, start: str) -> Grammar:
    resource = BUNDLED[name][0]
    data = pkgutil.get_data("lark", resource)
    if data is None:  # pragma: no cover - a broken lark installation
        raise InvalidArgument(f"grammar 'lark:{name}': lark has no {resource}; reinstall lark")
    return _convert(data.decode("utf-8"), f"lark:{name}", start)


# --------------------------------------------------------------------------------------------------
# Conversion


def _convert(text: str, path: str, start: str | None) -> Grammar:
    from lark.exceptions import LarkError
    from lark.grammar import NonTerminal as LarkNonTerminal
    from lark.lexer import PatternStr
    from lark.load_grammar import load_grammar

    try:
        lark_grammar, _ = load_grammar(text, path, [str(Path(path).parent)]
                                       if not path.startswith("lark:") else [], False)
        names = [name for name, params, *_ in lark_grammar.rule_defs if not params]
        if start is None:
            start = "start" if "start" in names or not names else names[0]
        if start not in names:
            known = ", ".join(sorted(n for n in names if not n.startswith("_"))[:20]) or "none"
            raise GrammarError(f"no rule {start!r} to start from; the grammar's rules: {known}",
                               path=path)  # (the caller's start, or the file has no rule)
        terminals, rules, _ignore = lark_grammar.compile([start], ())
    except LarkError as error:
        raise _lark_error(error, path, text) from None

    terminal_defs = {t.name: t for t in terminals}
    literals = {t.pattern.value for t in terminals if isinstance(t.pattern, PatternStr)}
    origin = LarkOrigin(path=path, start=start)
    by_origin: dict[str, list] = {}
    for rule in rules:
        by_origin.setdefault(rule.origin.name, []).append(rule)

    bnf_names: dict[str, str] = {}

    def bnf_name(lark_name: str) -> str:
        if lark_name not in bnf_names:
            base = re.sub(r"[^\w.\-]+", ".", lark_name).strip(".") or "rule"
            if not re.match(r"[A-Za-z_]", base):
                base = "_" + base
            candidate, k = base, 1
            while candidate in bnf_names.values():
                k += 1
                candidate = f"{base}.{k}"
            bnf_names[lark_name] = candidate
            origin.rules[candidate] = lark_name
        return bnf_names[lark_name]

    out_rules: dict[str, list] = {}  # tinyfuzz rule -> alternatives (lists of BNF symbol texts)
    indented: list[str] = []
    regex_terminals: dict[str, str] = {}  # Lark terminal name -> tinyfuzz rule

    def terminal_text(name: str, lark_rule) -> str | None:
        """A terminal's BNF text ("..." literal or <RULE>); None to drop it."""
        if name in _NEWLINES:
            definition = terminal_defs.get(name)
            if definition is not None and not re.fullmatch(definition.pattern.to_regexp(), "\n"):
                raise _error_at(f"terminal {name} /{definition.pattern.value}/ does not match a "
                                "newline: rename it or make it match \\n", path, text, name)
            return _quote("\n")
        definition = terminal_defs.get(name)
        if definition is None:
            raise _error_at(
                f"terminal {name} (used in rule {lark_rule.origin.name}) has no pattern: a "
                "%declare'd terminal that a postlexer makes; tinyfuzz knows only _INDENT/_DEDENT "
                "(PythonIndenter): define it with a pattern", path, text, lark_rule.origin.name)
        pattern = definition.pattern
        if isinstance(pattern, PatternStr):
            value = pattern.value
            return _quote(value if value in _NO_SPACE_AFTER else value + " ")
        if name not in regex_terminals:
            rule_name = bnf_name(name)
            regex_terminals[name] = rule_name
            examples = regex_examples(pattern.to_regexp(), exclude=literals)
            if not examples:
                raise _error_at(
                    f"cannot produce a string for terminal {name} /{pattern.value}/: no string "
                    "built from its regex matches it in full; simplify the pattern (tinyfuzz reads "
                    "literals, classes, groups, |, ?, *, +, {m,n}; lookarounds are only checked)",
                    path, text, name)
            out_rules[rule_name] = [[_quote(e + " ")] for e in examples]
            origin.terminals[rule_name] = pattern.to_regexp()
            for k, example in enumerate(examples):
                origin.productions[(rule_name, k)] = f"{name}: /{pattern.value}/ (as {example!r})"
        return f"<{regex_terminals[name]}>"

    def symbols_text(symbols, lark_rule) -> list[str]:
        parts = []
        for symbol in symbols:
            if isinstance(symbol, LarkNonTerminal):
                parts.append(f"<{bnf_name(symbol.name)}>")
            else:
                text_ = terminal_text(symbol.name, lark_rule)
                if text_ is not None:
                    parts.append(text_)
        return parts

    reachable = _reachable(by_origin, start)
    for lark_name in [n for n in by_origin if n in reachable]:
        name = bnf_name(lark_name)
        alternatives = out_rules.setdefault(name, [])
        blocks = 0
        for rule in by_origin[lark_name]:
            expansion = list(rule.expansion)
            described = _describe(rule, terminal_defs)
            opens = [i for i, s in enumerate(expansion) if s.name in _INDENTS]
            closes = [i for i, s in enumerate(expansion) if s.name in _DEDENTS]
            if len(opens) != len(closes) or len(opens) > 1 or opens and opens[0] > closes[0]:
                raise _error_at(
                    f"rule {lark_name}: {described}: tinyfuzz reads one _INDENT ... _DEDENT pair "
                    "per alternative; move the block into a rule of its own", path, text, lark_name)
            if opens:
                blocks += 1
                block = f"{name}.block" + (f"{blocks}" if blocks > 1 else "")
                inner = expansion[opens[0] + 1:closes[0]]
                out_rules[block] = [symbols_text(inner, rule) or ['""']]
                origin.rules[block] = lark_name
                origin.productions[(block, 0)] = f"{described} (the indented block)"
                indented.append(block)
                parts = (symbols_text(expansion[:opens[0]], rule) + [f"<{block}>"]
                         + symbols_text(expansion[closes[0] + 1:], rule))
            else:
                parts = symbols_text(expansion, rule)
            origin.productions[(name, len(alternatives))] = described
            alternatives.append(parts or ['""'])

    lines = [f"# Converted from the Lark grammar {path} by tinyfuzz.grammar.lark_loader", f"@start <{bnf_name(start)}>"]
    if indented:
        lines.append("@indent " + " ".join(f"<{b}>" for b in indented))
    for name, alternatives in out_rules.items():
        lines.append(f"<{name}> ::= " + "\n    | ".join(" ".join(a) for a in alternatives))
    origin.bnf = "\n".join(lines) + "\n"
    try:
        grammar = parse_bnf(origin.bnf, path)
    except GrammarError as error:
        where = error.source_line.strip() if error.source_line else ""
        lark_rule = origin.rules.get(where[1:where.find(">")], "") if where.startswith("<") else ""
        raise _error_at(f"{error.message} (in the BNF made from Lark rule {lark_rule or '?'})",
                        path, text, lark_rule) from None
    _ORIGINS[grammar] = origin
    return grammar


def _error_at(message: str, path: str, text: str, name: str | None) -> GrammarError:
    """A GrammarError pointing at the line that defines rule or terminal ``name`` (when the file
    has it: an imported or generated name has no line here)."""
    line, source = 0, None
    if name:
        head = re.compile(rf"\s*[?!]?{re.escape(name)}(\.-?\d+)?\s*(\{{[^}}]*\}})?\s*:")
        for number, candidate in enumerate(text.splitlines(), 1):
            if head.match(candidate):
                line, source = number, candidate
                break
    column = len(source) - len(source.lstrip()) + 1 if source else 0
    return GrammarError(message, path=path, line=line, column=column, source_line=source)


def _reachable(by_origin: dict, start: str) -> set:
    from lark.grammar import NonTerminal as LarkNonTerminal

    seen, todo = set(), [start]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        for rule in by_origin.get(name, ()):
            todo.extend(s.name for s in rule.expansion if isinstance(s, LarkNonTerminal))
    return seen


def _describe(rule, terminal_defs) -> str:
    """A Lark production as Lark would write it: ``atom_expr: atom_expr "." name -> getattr``."""
    from lark.lexer import PatternStr

    parts = []
    for symbol in rule.expansion:
        definition = terminal_defs.get(symbol.name) if symbol.is_term else None
        if definition is not None and isinstance(definition.pattern, PatternStr):
            parts.append(json.dumps(definition.pattern.value))
        else:
            parts.append(symbol.name)
    text = f"{rule.origin.name}: {' '.join(parts) or '<empty>'}"
    return text + (f" -> {rule.alias}" if rule.alias else "")


def _quote(text: str) -> str:
    escaped = (text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
               .replace("\t", "\\t").replace("\r", "\\r"))
    return f'"{escaped}"'


def _lark_error(error, path: str, text: str) -> GrammarError:
    """A Lark error as a tinyfuzz GrammarError with the file, line and a caret where Lark knows it."""
    message = str(error).strip()
    line = getattr(error, "line", 0) or 0
    column = getattr(error, "column", 0) or 0
    if not line:
        found = re.search(r"[Ll]ine:? (\d+)(?:,? [Cc]olumn:? (\d+))?", message)
        if found:
            line, column = int(found.group(1)), int(found.group(2) or 0)
    if not line:  # "... (in rule start)": point at that rule's definition
        named = re.search(r"in rule (\w+)", message)
        if named:
            head = re.compile(rf"\s*[?!]?{re.escape(named.group(1))}\b[^:]*:")
            line = next((n for n, source in enumerate(text.splitlines(), 1)
                         if head.match(source)), 0)
            column = 1 if line else 0
    first = message.splitlines()[0] if message else type(error).__name__
    source = text.splitlines()[line - 1] if 0 < line <= len(text.splitlines()) else None
    return GrammarError(f"Lark cannot read this grammar: {first}", path=path, line=line,
                        column=column, source_line=source)


# --------------------------------------------------------------------------------------------------
# Concrete strings for a regex


class _NoExample(Exception):
    pass


_ALPHABET = ("abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_ "
             "!#$%&()*+,-./:;<=>?@[]^`{|}~\"'\\\t\n\u00e9")


def regex_examples(pattern: str, *, exclude=(), limit: int = MAX_EXAMPLES) -> list[str]:
    """Up to ``limit`` different strings that ``pattern`` matches in full, shortest first.

    Built from the parsed regex by a few walks: each takes branch ``b`` at every alternation,
    ``r`` extra repetitions at every repeat (0 or 1: every optional part taken at once) and the
    ``c``-th fitting character of every class; the first ``limit`` different ones are kept
    (every branch without repetitions first, then with).
    Lookarounds and anchors produce nothing and are checked by the final ``re.fullmatch``."""
    compiled = re.compile(pattern)
    parsed = _sre_parse.parse(pattern)
    flags = parsed.state.flags
    branches = max([len(av[1]) for op, av in _walk(parsed) if op is _sre.BRANCH] or [1])
    found: list[str] = []
    for r in (0, 1):
        for b in range(min(branches, 4)):
            for c in range(3):
                try:
                    text = _Example(b, r, c, flags).items(parsed)
                except (_NoExample, RecursionError):
                    continue
                if compiled.fullmatch(text) and text not in exclude and text not in found:
                    found.append(text)
    return sorted(found[:limit], key=len)  # the first walks vary the most; the shortest first


def _walk(items):
    for op, av in items:
        yield op, av
        if op is _sre.BRANCH:
            for alternative in av[1]:
                yield from _walk(alternative)
        elif op is _sre.SUBPATTERN:
            yield from _walk(av[-1])
        elif op in (_sre.MAX_REPEAT, _sre.MIN_REPEAT) or op is getattr(_sre, "POSSESSIVE_REPEAT", None):
            yield from _walk(av[2])
        elif op is getattr(_sre, "ATOMIC_GROUP", None):
            yield from _walk(av)


class _Example:
    def __init__(self, branch: int, repeat: int, char: int, flags: int):
        self.branch, self.repeat, self.char = branch, repeat, char
        self.flags = flags
        self.groups: dict[int, str] = {}

    def items(self, items) -> str:
        return "".join(self.item(op, av) for op, av in items)

    def pick(self, fits) -> str:
        chars = [ch for ch in _ALPHABET if fits(ch)]
        if not chars:
            raise _NoExample
        return chars[self.char % len(chars)]

    def item(self, op, av) -> str:
        ignore = bool(self.flags & _sre.SRE_FLAG_IGNORECASE)
        if op is _sre.LITERAL:
            return chr(av)
        if op is _sre.NOT_LITERAL:
            return self.pick(lambda ch: ch != chr(av) and not (ignore and ch.lower() == chr(av).lower()))
        if op is _sre.ANY:
            return self.pick(lambda ch: ch != "\n" or bool(self.flags & _sre.SRE_FLAG_DOTALL))
        if op is _sre.IN:
            return self.pick(lambda ch: _in_class(ch, av, ignore))
        if op is _sre.BRANCH:
            alternatives = av[1]
            return self.items(alternatives[self.branch % len(alternatives)])
        if op is _sre.SUBPATTERN:
            group, add_flags, del_flags, sub = av
            saved = self.flags
            self.flags = (self.flags | add_flags) & ~del_flags
            text = self.items(sub)
            self.flags = saved
            if group is not None:
                self.groups[group] = text
            return text
        if op in (_sre.MAX_REPEAT, _sre.MIN_REPEAT) or op is getattr(_sre, "POSSESSIVE_REPEAT", None):
            low, high, sub = av
            count = min(low + self.repeat, high)
            return "".join(self.items(sub) for _ in range(count))
        if op is getattr(_sre, "ATOMIC_GROUP", None):
            return self.items(av)
        if op in (_sre.AT, _sre.ASSERT, _sre.ASSERT_NOT):
            return ""
        if op is _sre.GROUPREF:
            if av not in self.groups:
                raise _NoExample
            return self.groups[av]
        if op is _sre.GROUPREF_EXISTS:
            group, yes, no = av
            return self.items(yes if group in self.groups else (no or []))
        raise _NoExample


def _in_class(ch: str, items, ignore: bool) -> bool:
    forms = {ch, ch.lower(), ch.upper()} if ignore else {ch}
    negate = False
    hit = False
    for op, av in items:
        if op is _sre.NEGATE:
            negate = True
        elif op is _sre.LITERAL:
            hit |= chr(av) in forms
        elif op is _sre.RANGE:
            hit |= any(av[0] <= ord(f) <= av[1] for f in forms)
        elif op is _sre.CATEGORY:
            hit |= _in_category(ch, av)
        else:
            raise _NoExample
    return hit != negate


def _in_category(ch: str, category) -> bool:
    word = ch.isalnum() or ch == "_"
    table = {
        _sre.CATEGORY_DIGIT: ch.isdecimal(), _sre.CATEGORY_NOT_DIGIT: not ch.isdecimal(),
        _sre.CATEGORY_SPACE: ch.isspace(), _sre.CATEGORY_NOT_SPACE: not ch.isspace(),
        _sre.CATEGORY_WORD: word, _sre.CATEGORY_NOT_WORD: not word,
        _sre.CATEGORY_LINEBREAK: ch == "\n", _sre.CATEGORY_NOT_LINEBREAK: ch != "\n",
    }
    if category not in table:
        raise _NoExample
    return table[category]
