"""The semantic layer: what a context-free grammar cannot say, declared by ``@`` lines in the grammar.

Each directive names nonterminals and gives them one meaning during derivation:

``@use KIND[,KIND...] <r>``  ``<r>`` derives the name of a variable already bound in one of the KINDs
                             (defined-before-use). An alternative that needs an empty KIND is not chosen.
``@bind KIND <r>``           the text ``<r>`` derives is bound in KIND once the alternative containing
                             ``<r>`` is complete (so ``x = x + 1`` never uses ``x`` before it exists).
                             Binding a name in one KIND removes it from the others: a name has one kind.
``@scope <r>``               names bound inside an expansion of ``<r>`` are forgotten after it.
``@shared <a>... in <s>``    inside one expansion of ``<s>``, each ``<a>`` is derived once and reused
                             (a loop header's ``<step>`` is the same number everywhere in the header).
``@eval <r>``                the integer arithmetic ``<r>`` derives is replaced by its value.
``@assign <r>``              ``<r>`` derives an assignment ``NAME = EXPR``: the value of EXPR, when
                             it is certain from literals and known values, becomes NAME's known
                             value (inside a ``@scope`` the value is forgotten: it may not run, or
                             run many times).
``@nonzero <r>``             an expansion of ``<r>`` that divides by something not provably nonzero
                             (``x / 0``, ``x % (a - a)``, ``x / y`` with y = 0 or unknown) is redrawn.
``@feature NAME <r>``        a program that expands ``<r>`` uses construct NAME (statistics, swarm).
``@since 3.10 <r>``          ``<r>`` needs that Python version (targets declaring an older one skip it).
``@indent <r>``              the text ``<r>`` derives is a block: each of its non-empty lines gets four
                             more spaces in front (nested blocks nest their indentation).

One implementation (``tinyfuzz.engine.derivation``) applies these for both the dataset sampler and the
Hypothesis strategies.
"""

from __future__ import annotations

import operator
import re
from dataclasses import dataclass
from typing import Mapping

from tinyfuzz.grammar.model import Grammar


@dataclass(frozen=True)
class Semantics:
    uses: Mapping[str, tuple]  # rule -> kinds it may name
    binds: Mapping[str, str]  # rule -> kind it binds
    scopes: frozenset
    shared: Mapping[str, str]  # rule -> the rule whose expansion shares it
    evals: frozenset
    nonzero: frozenset
    assigns: frozenset
    features: Mapping[str, tuple]  # rule -> construct names
    since: Mapping[str, tuple]  # rule -> (major, minor)
    indents: frozenset = frozenset()

    @classmethod
    def of(cls, grammar: Grammar) -> "Semantics":
        uses: dict = {}
        binds: dict = {}
        scopes: set = set()
        shared: dict = {}
        evals: set = set()
        nonzero: set = set()
        assigns: set = set()
        features: dict = {}
        since: dict = {}
        indents: set = set()
        for d in grammar.directives:
            names = [s.name for s in d.symbols if s is not None]
            if d.keyword == "use":
                for n in names:
                    uses[n] = tuple(d.words[0].split(","))
            elif d.keyword == "bind":
                for n in names:
                    binds[n] = d.words[0]
            elif d.keyword == "scope":
                scopes.update(names)
            elif d.keyword == "shared":
                for n in names[:-1]:
                    shared[n] = names[-1]
            elif d.keyword == "eval":
                evals.update(names)
            elif d.keyword == "nonzero":
                nonzero.update(names)
            elif d.keyword == "assign":
                assigns.update(names)
            elif d.keyword == "feature":
                for n in names:
                    features[n] = features.get(n, ()) + (d.words[0],)
            elif d.keyword == "since":
                major, minor = d.words[0].split(".")
                for n in names:
                    since[n] = (int(major), int(minor))
            elif d.keyword == "indent":
                indents.update(names)
        return cls(uses, binds, frozenset(scopes), shared, frozenset(evals), frozenset(nonzero),
                   frozenset(assigns), features, since, frozenset(indents))

    def feature_names(self) -> list[str]:
        return sorted({f for names in self.features.values() for f in names})


# --------------------------------------------------------------------------------------------------
# Static arithmetic over known values: a small exact evaluator, never ``eval`` (generated text never
# runs in the harness). Python's own operators compute, so values match CPython's to the bit.

_TOKEN = re.compile(r"\d[\d_]*\.\d*|\.\d+|\d[\d_]*|[A-Za-z_]\w*|\*\*|//|[-+*/%()]")
_BINARY = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv,
           "//": operator.floordiv, "%": operator.mod}
_KEYWORDS = frozenset({"and", "or", "not", "if", "else", "in", "is", "for", "lambda", "None", "True",
                       "False"})
_END = ""  # sentinel after the last token


class Unsupported(Exception):
    """The text is not plain arithmetic on numbers and names; the evaluator does not judge it."""


class _Evaluator:
    """Recursive descent over ``+ - * / // % **``, unary signs, parentheses, numbers and names.

    ``value`` is the number, or None when it depends on a name whose value is not known.
    ``unsafe_division`` is set when some divisor is not provably nonzero.
    """

    __slots__ = ("tokens", "pos", "env", "unsafe_division")

    def __init__(self, text: str, env: Mapping):
        tokens = _TOKEN.findall(text)
        if "".join(tokens) != "".join(text.split()):  # something the tokens do not cover
            raise Unsupported(text)
        tokens.append(_END)
        self.tokens = tokens
        self.pos = 0
        self.env = env
        self.unsafe_division = False

    def parse(self):
        value = self.sum()
        if self.tokens[self.pos] is not _END:
            raise Unsupported("trailing text")
        return value

    def sum(self):
        value = self.product()
        tokens = self.tokens
        while tokens[self.pos] in ("+", "-"):
            op = tokens[self.pos]
            self.pos += 1
            value = _apply(op, value, self.product())
        return value

    def product(self):
        value = self.unary()
        tokens = self.tokens
        while tokens[self.pos] in ("*", "/", "//", "%"):
            op = tokens[self.pos]
            self.pos += 1
            right = self.unary()
            if op != "*" and (right is None or right == 0):
                self.unsafe_division = True
                value = None
            else:
                value = _apply(op, value, right)
        return value

    def unary(self):
        op = self.tokens[self.pos]
        if op == "-" or op == "+":
            self.pos += 1
            value = self.unary()
            return None if value is None else (-value if op == "-" else value)
        base = self.atom()
        if self.tokens[self.pos] == "**":
            self.pos += 1
            exponent = self.unary()
            if base is None or exponent is None or abs(exponent) > 64 or base == 0 and exponent < 0:
                return None
            return base ** exponent
        return base

    def atom(self):
        token = self.tokens[self.pos]
        self.pos += 1
        first = token[:1]
        if first.isdigit() or first == ".":
            token = token.replace("_", "")
            return float(token) if "." in token else int(token)
        if first.isalpha() or first == "_":
            if token in _KEYWORDS:
                raise Unsupported(token)
            return self.env.get(token)
        if token == "(":
            value = self.sum()
            if self.tokens[self.pos] != ")":
                raise Unsupported("unbalanced parenthesis")
            self.pos += 1
            return value
        raise Unsupported(token or "missing operand")


def _apply(op, left, right):
    if left is None or right is None:
        return None
    try:
        return _BINARY[op](left, right)
    except (ArithmeticError, ValueError):
        return None


def static_value(text: str, env: Mapping = {}):
    """The value of arithmetic ``text`` given known variable values, or None if not certain."""
    try:
        return _Evaluator(text, env).parse()
    except Unsupported:
        return None


def evaluate_integer(text: str) -> int:
    """Evaluate integer arithmetic such as ``3+2*2`` (for ``@eval``; the same few texts recur)."""
    value = _integer_cache.get(text)
    if value is None:
        value = static_value(text)
        if not isinstance(value, int):
            raise ValueError(f"@eval expected integer arithmetic, got {text!r}")
        if len(_integer_cache) >= 4096:
            _integer_cache.clear()
        _integer_cache[text] = value
    return value


_integer_cache: dict = {}


def divisor_may_be_zero(text: str, env: Mapping = {}) -> bool:
    """Does ``text`` divide (``/``, ``//``, ``%``) by something not provably nonzero?

    Names count with their known values (``env``); a name whose value is not known might be zero.
    Text the evaluator does not understand is judged only on literal zero divisors.
    """
    if "/" not in text and "%" not in text:
        return False
    try:
        evaluator = _Evaluator(text, env)
        evaluator.parse()
        return evaluator.unsafe_division
    except Unsupported:
        return bool(_LITERAL_ZERO_DIVISOR.search(text))


_LITERAL_ZERO_DIVISOR = re.compile(r"(?://|/|%)\s*[-+(\s]*0+(?:\.0*)?(?![\d.xXoObBeEjJ_])")


_LINE_START = re.compile(r"^(?=.)", re.MULTILINE)


def indent_block(text: str) -> str:
    """For ``@indent``: four spaces before each non-empty line of ``text``."""
    return _LINE_START.sub("    ", text)


def assigned_value(text: str, env: Mapping):
    """For ``@assign``: the name and the static value of an assignment ``NAME = EXPR``."""
    name, _, expression = text.partition("=")
    expression = expression.strip()
    if expression.isdigit():  # the common case, fast
        return name.strip(), int(expression)
    return name.strip(), static_value(expression, env)
