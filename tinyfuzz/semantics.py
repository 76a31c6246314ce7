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
``@nonzero <r>``             an expansion of ``<r>`` that divides by a statically certain zero
                             (``x / 0``, ``x % (a - a)``) is redrawn.
``@feature NAME <r>``        a program that expands ``<r>`` uses construct NAME (statistics, swarm).
``@since 3.10 <r>``          ``<r>`` needs that Python version (targets declaring an older one skip it).

One implementation (``tinyfuzz.derivation``) applies these for both the dataset sampler and the
Hypothesis strategies.
"""

from __future__ import annotations

import ast
import operator
import re
from dataclasses import dataclass
from typing import Mapping

from tinyfuzz.grammar import Grammar


@dataclass(frozen=True)
class Semantics:
    uses: Mapping[str, tuple]  # rule -> kinds it may name
    binds: Mapping[str, str]  # rule -> kind it binds
    scopes: frozenset
    shared: Mapping[str, str]  # rule -> the rule whose expansion shares it
    evals: frozenset
    nonzero: frozenset
    features: Mapping[str, tuple]  # rule -> construct names
    since: Mapping[str, tuple]  # rule -> (major, minor)

    @classmethod
    def of(cls, grammar: Grammar) -> "Semantics":
        uses: dict = {}
        binds: dict = {}
        scopes: set = set()
        shared: dict = {}
        evals: set = set()
        nonzero: set = set()
        features: dict = {}
        since: dict = {}
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
            elif d.keyword == "feature":
                for n in names:
                    features[n] = features.get(n, ()) + (d.words[0],)
            elif d.keyword == "since":
                major, minor = d.words[0].split(".")
                for n in names:
                    since[n] = (int(major), int(minor))
        return cls(uses, binds, frozenset(scopes), shared, frozenset(evals), frozenset(nonzero),
                   features, since)

    def feature_names(self) -> list[str]:
        return sorted({f for names in self.features.values() for f in names})


# --------------------------------------------------------------------------------------------------
# Static arithmetic: small, exact and never ``eval`` (generated text never runs in the harness).

_BINOPS = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
    ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod, ast.Div: operator.truediv,
}


def static_value(node: ast.AST):
    """The value of an expression if it is certain without knowing any variable, else None."""
    if isinstance(node, ast.Constant) and type(node.value) in (int, float, bool):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        value = static_value(node.operand)
        if value is None:
            return None
        return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.BinOp):
        left, right = static_value(node.left), static_value(node.right)
        if isinstance(node.op, ast.Sub) and ast.dump(node.left) == ast.dump(node.right):
            return 0  # x - x
        if isinstance(node.op, ast.Mult) and (left == 0 and left is not None
                                              or right == 0 and right is not None):
            return 0  # 0 * x
        op = _BINOPS.get(type(node.op))
        if op is None or left is None or right is None:
            return None
        try:
            return op(left, right)
        except (ArithmeticError, ValueError):
            return None
    return None


def evaluate_integer(text: str) -> int:
    """Evaluate integer arithmetic such as ``3+2*2`` (for ``@eval``)."""
    value = _eval_cache.get(text)
    if value is None:
        try:
            value = static_value(ast.parse(text, mode="eval").body)
        except SyntaxError:
            value = None
        if not isinstance(value, int):
            raise ValueError(f"@eval expected integer arithmetic, got {text!r}")
        if len(_eval_cache) > 4096:
            _eval_cache.clear()
        _eval_cache[text] = value
    return value


_eval_cache: dict = {}
_DIVISION = re.compile(r"(?<![/*])(//|/|%)\s*")
_NUMBER = re.compile(r"[-+\s]*(\d[\d_]*\.?\d*(?:[eE][-+]?\d+)?)(?!\s*\*\*)")


def divides_by_certain_zero(text: str) -> bool:
    """Does ``text`` divide (``/``, ``//``, ``%``) by an operand that is certainly zero?

    The divisor of ``a / b * c`` is the atom right after the operator (Python's precedence), so a
    number or a parenthesised group there is checked; a name is never certain. Fast path: no operator.
    """
    if "/" not in text and "%" not in text:
        return False
    for match in _DIVISION.finditer(text):
        rest = text[match.end():]
        number = _NUMBER.match(rest)
        if number:
            if float(number.group(1).replace("_", "")) == 0:
                return True
            continue
        if rest.startswith("("):
            depth = 0
            for end, ch in enumerate(rest):
                depth += ch == "("
                depth -= ch == ")"
                if depth == 0:
                    break
            group = rest[:end + 1]
            try:
                value = static_value(ast.parse(group, mode="eval").body)
            except SyntaxError:
                continue
            if value == 0 and value is not None:
                return True
    return False
