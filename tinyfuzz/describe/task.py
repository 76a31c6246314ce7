"""Programs from a task description: ``tinyfuzz generate --describe "a loop that prints the even
numbers below 20"``.

1. ``parse(description) -> Constraints``. A blank English spaCy pipeline (its tokenizer and the
   lookup-table lemmas of spacy-lookups-data: no model to download) and token patterns (spaCy's
   ``Matcher``) turn words into constructs, constants and names; words that ask for nothing known
   are reported, never silently dropped.
2. ``generate_programs(constraints, n)``. Programs are derived from a grammar (tinypy when it can
   make every construct asked for, else python) by the ordinary derivation engine, so they are
   valid by construction, under a guide that prefers choices leading to the constructs. Names and
   constants are then imposed by rewriting the syntax tree (a consistent rename that captures
   nothing; a literal replaced, a bound first). A program is kept when every constraint holds on
   its tree and it ran cleanly on the reference CPython, in a worker process, never here.
3. ``write_programs(constraints, n, output)`` writes them in the dataset formats (text, jsonl).

Each construct is declared once, in ``CONSTRUCTS``: the phrases that ask for it and the ``ast``
predicate that checks a program for it. The predicate is the only definition: the generator's
filter and the tests use it, and it is also how the generator learns where a grammar makes the
construct. ``GrammarMap`` derives, for every alternative of every rule, a minimal program taking
it; the alternatives whose minimal program passes a predicate when the rule's cheapest one does
not are the choices that introduce the construct, and the guide steers toward the nearest one.

Constraints are independent: "a while loop counting down" asks for a while loop and for a loop
counting down, not that they are the same loop.
"""

from __future__ import annotations

import ast
import builtins
import functools
import keyword
import math
import random
import sys
import time
import warnings
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, NamedTuple

from tinyfuzz.engine.derivation import CompiledGrammar, Infeasible, derive, program_from
from tinyfuzz.engine.sampler import DEFAULT_MAX_SIZE
from tinyfuzz.errors import InvalidArgument
from tinyfuzz.grammar.load import load_grammar
from tinyfuzz.grammar.semantics import evaluate_integer, indent_block

INFINITY = math.inf
DRAWS_PER_PROGRAM = 200  # give up after this many draws per program asked for
WANDER = 0.25  # how often the guide also accepts a way one step longer than the shortest (variety)
INSTALL = "pip install 'tinyfuzz[describe]'"


# ---- Checks: what a program's syntax tree must show ---------------------------------------------

def _has(*types) -> Callable[[ast.AST], bool]:
    return lambda tree: any(isinstance(node, types) for node in ast.walk(tree))


def _called(node: ast.AST) -> str:
    """The name a call calls: ``f`` for ``f(x)`` and for ``obj.f(x)``; '' if not a call."""
    if isinstance(node, ast.Call):
        if isinstance(node.func, ast.Name):
            return node.func.id
        if isinstance(node.func, ast.Attribute):
            return node.func.attr
    return ""


def _calls(*names: str) -> Callable[[ast.AST], bool]:
    return lambda tree: any(_called(node) in names for node in ast.walk(tree))


_NOT_LITERAL = object()


def _literal(node: ast.AST):
    """The value a literal stands for (``-1`` is a minus applied to 1 in the tree)."""
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) \
            and isinstance(node.operand, ast.Constant) and _is_number(node.operand.value):
        return -node.operand.value
    return _NOT_LITERAL


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _negative(node: ast.AST) -> bool:
    value = _literal(node)
    return _is_number(value) and value < 0


def _docstrings(tree: ast.AST) -> set:
    """Ids of the string literals that stand alone as statements: docstrings, not data."""
    return {id(node.value) for node in ast.walk(tree)
            if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str)}


def _has_string(tree: ast.AST) -> bool:
    docstrings = _docstrings(tree)
    return any(isinstance(node, ast.JoinedStr) or isinstance(node, ast.Constant)
               and isinstance(node.value, str) and id(node) not in docstrings
               for node in ast.walk(tree))


# calls that return a string whatever they are applied to (a method only strings have, or str())
_STRING_RESULTS = {"str", "repr", "format", "chr", "upper", "lower", "strip", "lstrip", "rstrip",
                   "title", "capitalize", "swapcase", "replace", "zfill", "center", "join"}


def _stringy(node: ast.AST, string_names=frozenset()) -> bool:
    """Is ``node`` certainly a string: a literal, an f-string, a name only ever given strings, or
    what string operations return?"""
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str)
    if isinstance(node, ast.JoinedStr):
        return True
    if isinstance(node, ast.Name):
        return node.id in string_names
    if isinstance(node, ast.BinOp):  # str + str, str * n, str % args: a string (or an error)
        return isinstance(node.op, (ast.Add, ast.Mult, ast.Mod)) and _stringy(node.left, string_names)
    if isinstance(node, ast.Subscript):
        return _stringy(node.value, string_names)
    if isinstance(node, ast.IfExp):
        return _stringy(node.body, string_names) and _stringy(node.orelse, string_names)
    return _called(node) in _STRING_RESULTS


def _string_names(tree: ast.AST) -> set:
    """Names every assignment of which gives a string (a cheap inference, enough for a check)."""
    given = {}
    for node in ast.walk(tree):
        if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
            for target in getattr(node, "targets", None) or [node.target]:
                given[id(target)] = node.value
    values: dict = {}
    for node in ast.walk(tree):  # loop variables, unpacking, parameters: not known, not strings
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            values.setdefault(node.id, []).append(given.get(id(node)))
    names: set = set()
    for _ in range(3):  # names given other string names, a few steps deep
        names = {name for name, assigned in values.items()
                 if all(value is not None and _stringy(value, names) for value in assigned)}
    return names


def _compares_strings(tree: ast.AST) -> bool:
    names = _string_names(tree)
    return any(isinstance(node, ast.Compare)
               and all(_stringy(side, names) for side in [node.left, *node.comparators])
               for node in ast.walk(tree))


def _is_list(node: ast.AST) -> bool:
    return (isinstance(node, ast.List) and isinstance(node.ctx, ast.Load)
            or isinstance(node, ast.ListComp) or _called(node) in ("list", "sorted"))


def _is_dict(node: ast.AST) -> bool:
    return isinstance(node, (ast.Dict, ast.DictComp)) or _called(node) == "dict"


def _binary(*ops, right=None) -> Callable[[ast.AST], bool]:
    """An arithmetic ``a OP b`` (``'%d' % n`` formats a string: not arithmetic), with a literal
    right operand equal to ``right`` if given."""
    def check(tree: ast.AST) -> bool:
        return any(isinstance(node, ast.BinOp) and isinstance(node.op, ops)
                   and not _stringy(node.left)
                   and (right is None or isinstance(node.right, ast.Constant)
                        and node.right.value == right)
                   for node in ast.walk(tree))
    return check


def _methods(tree: ast.AST) -> set:
    """Ids of the definitions directly in a class body: methods (and nested classes)."""
    return {id(item) for node in ast.walk(tree) if isinstance(node, ast.ClassDef)
            for item in node.body
            if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}


def _recursive(tree: ast.AST) -> bool:
    """A function that calls itself by name."""
    return any(isinstance(f, ast.FunctionDef)
               and any(_called(node) == f.name and isinstance(node.func, ast.Name)
                       for statement in f.body for node in ast.walk(statement))
               for f in ast.walk(tree))


def _nested_function(tree: ast.AST) -> bool:
    """A function defined inside a function, or a lambda a function returns (a closure)."""
    return any(isinstance(f, ast.FunctionDef)
               and any(isinstance(node, ast.FunctionDef) or isinstance(node, ast.Return)
                       and isinstance(node.value, ast.Lambda)
                       for statement in f.body for node in ast.walk(statement))
               for f in ast.walk(tree))


def _counts_down(tree: ast.AST) -> bool:
    """A for loop over a range with a negative step, over reversed(...) or a slice with a negative
    step; or a while loop whose body decreases a name its condition reads."""
    for loop in ast.walk(tree):
        if isinstance(loop, ast.For):
            over = loop.iter
            if _called(over) == "reversed":
                return True
            if _called(over) == "range" and len(over.args) == 3 and _negative(over.args[2]):
                return True
            if isinstance(over, ast.Subscript) and isinstance(over.slice, ast.Slice) \
                    and over.slice.step is not None and _negative(over.slice.step):
                return True
        elif isinstance(loop, ast.While):
            read = {node.id for node in ast.walk(loop.test) if isinstance(node, ast.Name)}
            if any(isinstance(node, ast.AugAssign) and isinstance(node.op, ast.Sub)
                   and isinstance(node.target, ast.Name) and node.target.id in read
                   for statement in loop.body for node in ast.walk(statement)):
                return True
    return False


def _sums(tree: ast.AST) -> bool:
    """sum(...), or a for loop adding what it reads to a name (``total += v``)."""
    return _calls("sum")(tree) or any(
        isinstance(loop, ast.For)
        and any(isinstance(node, ast.AugAssign) and isinstance(node.op, ast.Add)
                and {n.id for n in ast.walk(node.value) if isinstance(n, ast.Name)}
                & {n.id for n in ast.walk(loop.target) if isinstance(n, ast.Name)}
                for statement in loop.body for node in ast.walk(statement))
        for loop in ast.walk(tree))


def _reverses(tree: ast.AST) -> bool:
    return _calls("reversed", "reverse")(tree) or any(
        isinstance(node, ast.Slice) and node.step is not None and _negative(node.step)
        for node in ast.walk(tree))


def _returns_value(tree: ast.AST) -> bool:
    return any(isinstance(node, ast.Return) and node.value is not None for node in ast.walk(tree))


def _handles(tree: ast.AST) -> bool:
    return any(isinstance(node, (ast.Try, ast.TryStar)) and node.handlers for node in ast.walk(tree))


# ---- Constructs: each declared once, as the phrases that ask for it and the check ---------------

@dataclass(frozen=True)
class Construct:
    name: str
    what: str  # how messages say it: "a while loop"
    phrases: tuple  # what asks for it; lemmatised like descriptions, so "prints" finds "print"
    check: Callable[[ast.AST], bool]
    rank: int = 2  # DEFINITION, BLOCK or 2: what generation steers toward first (see _Guide)


DEFINITION, BLOCK = 0, 1


CONSTRUCTS: dict[str, Construct] = {c.name: c for c in [
    Construct("loop", "a loop", ("loop", "iterate", "iteration", "repeat", "times"),
              _has(ast.For, ast.While), BLOCK),
    Construct("for_loop", "a for loop", ("for loop", "for each"), _has(ast.For), BLOCK),
    Construct("while_loop", "a while loop", ("while loop",), _has(ast.While), BLOCK),
    Construct("countdown", "a loop counting down", ("count down", "countdown", "decrement",
                                                     "backwards"), _counts_down, BLOCK),
    Construct("break", "a break statement", ("break",), _has(ast.Break)),
    Construct("continue", "a continue statement", ("continue", "skip"), _has(ast.Continue)),
    Construct("if", "an if statement", ("if", "if statement", "condition", "conditional", "else",
                                        "otherwise", "branch"), _has(ast.If), BLOCK),
    Construct("comparison", "a comparison", ("compare", "comparison", "greater", "less", "smaller",
                                             "equal"), _has(ast.Compare)),
    Construct("string_comparison", "a comparison of two strings",
              ("compare string", "string comparison"), _compares_strings),
    Construct("function", "a function definition", ("function", "def", "procedure", "subroutine"),
              _has(ast.FunctionDef), DEFINITION),
    Construct("return", "a return statement", ("return",), _returns_value),
    Construct("recursion", "a recursive function", ("recursive", "recursion", "recurse",
                                                    "recursively"), _recursive, DEFINITION),
    Construct("closure", "a nested function", ("closure", "nested function", "inner function"),
              _nested_function, DEFINITION),
    Construct("lambda", "a lambda", ("lambda", "anonymous function"), _has(ast.Lambda)),
    Construct("class", "a class definition", ("class",), _has(ast.ClassDef), DEFINITION),
    Construct("method", "a method", ("method",), lambda tree: bool(_methods(tree)), DEFINITION),
    Construct("inheritance", "a subclass", ("inherit", "inheritance", "subclass", "base class",
                                            "parent class"),
              lambda tree: any(isinstance(node, ast.ClassDef) and node.bases
                               for node in ast.walk(tree)), DEFINITION),
    Construct("print", "a print call", ("print", "output", "display", "show"), _calls("print")),
    Construct("assignment", "an assignment", ("assign", "assignment", "variable", "store"),
              _has(ast.Assign, ast.AugAssign, ast.AnnAssign, ast.NamedExpr)),
    Construct("augmented_assignment", "an augmented assignment (+= and the like)",
              ("increment", "accumulate", "accumulator"), _has(ast.AugAssign)),
    Construct("arithmetic", "arithmetic", ("arithmetic", "add", "subtract", "addition",
                                           "subtraction", "plus", "minus"),
              _binary(ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv)),
    Construct("multiplication", "a multiplication", ("multiply", "multiplication", "product"),
              _binary(ast.Mult)),
    Construct("division", "a division", ("divide", "division", "quotient"),
              _binary(ast.Div, ast.FloorDiv)),
    Construct("power", "a power (**)", ("power", "square", "cube", "exponent"),
              lambda tree: _binary(ast.Pow)(tree) or _calls("pow")(tree)),
    Construct("modulo", "a modulo (%)", ("modulo", "remainder", "mod", "modulus", "divisible"),
              _binary(ast.Mod)),
    Construct("parity", "a parity test (% 2)", ("even", "odd", "parity"), _binary(ast.Mod, right=2)),
    Construct("sum", "a sum", ("sum", "total", "add up"), _sums),
    Construct("max", "a call of max()", ("max", "maximum", "largest", "biggest", "greatest",
                                         "highest"), _calls("max")),
    Construct("min", "a call of min()", ("min", "minimum", "smallest", "lowest"), _calls("min")),
    Construct("sort", "sorting", ("sort", "ascending", "descending"), _calls("sorted", "sort")),
    Construct("length", "a call of len()", ("length", "len", "size"), _calls("len")),
    Construct("reverse", "a reversal", ("reverse",), _reverses),
    Construct("slicing", "a slice", ("slice", "substring"),
              lambda tree: any(isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Slice)
                               for node in ast.walk(tree))),
    Construct("list", "a list", ("list", "array"),
              lambda tree: any(_is_list(node) for node in ast.walk(tree))),
    Construct("dict", "a dictionary", ("dictionary", "dict", "mapping", "key"),
              lambda tree: any(_is_dict(node) for node in ast.walk(tree))),
    Construct("tuple", "a tuple", ("tuple",),
              lambda tree: any(isinstance(node, ast.Tuple) and isinstance(node.ctx, ast.Load)
                               for node in ast.walk(tree))),
    Construct("string", "a string", ("string", "text"), _has_string),
    Construct("fstring", "an f-string", ("f string", "format string", "formatted string"),
              _has(ast.JoinedStr)),
    Construct("comprehension", "a comprehension", ("comprehension", "generator expression"),
              _has(ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)),
    Construct("list_comprehension", "a list comprehension", ("list comprehension",),
              _has(ast.ListComp)),
    Construct("dict_comprehension", "a dictionary comprehension",
              ("dictionary comprehension", "dict comprehension"), _has(ast.DictComp)),
    Construct("try", "a try statement with a handler", ("try", "except", "exception", "catch"),
              _handles, BLOCK),
    Construct("raise", "a raise statement", ("raise", "throw"), _has(ast.Raise)),
    Construct("global", "a global statement", ("global",), _has(ast.Global)),
    Construct("match", "a match statement", ("match statement", "pattern matching", "match case"),
              _has(ast.Match), BLOCK),
    Construct("walrus", "an assignment expression (:=)", ("walrus", "assignment expression"),
              _has(ast.NamedExpr)),
    # Recognised so that asking for them gets a clear answer: the bundled grammars have none.
    Construct("import", "an import", ("import", "module", "library"),
              _has(ast.Import, ast.ImportFrom)),
    Construct("input", "a call of input()", ("input", "keyboard"), _calls("input")),
    Construct("yield", "a generator function (yield)", ("yield", "generator"),
              _has(ast.Yield, ast.YieldFrom)),
    Construct("with", "a with statement", ("with statement", "context manager"), _has(ast.With)),
    Construct("file", "a file opened with open()", ("file", "open"), _calls("open")),
    Construct("decorator", "a decorator", ("decorator", "decorate"),
              lambda tree: any(getattr(node, "decorator_list", None) for node in ast.walk(tree))),
    Construct("assert", "an assert statement", ("assert", "assertion"), _has(ast.Assert)),
    Construct("async", "async code", ("async", "await", "asynchronous", "coroutine"),
              _has(ast.AsyncFunctionDef, ast.Await, ast.AsyncFor, ast.AsyncWith)),
]}


# ---- Names: "a function called total", "a variable named count", "catching ZeroDivisionError" ----

def _defines(*types) -> Callable:
    def check(tree: ast.AST, name: str) -> bool:
        methods = _methods(tree)
        return any(isinstance(node, types) and node.name == name and id(node) not in methods
                   for node in ast.walk(tree))
    return check


def _assigns(kind: Callable[[ast.AST], bool] | None) -> Callable:
    """``name = value`` somewhere, with ``kind(value)`` if given (any binding of the name if not)."""
    def check(tree: ast.AST, name: str) -> bool:
        if kind is None:
            return any(isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store)
                       and node.id == name for node in ast.walk(tree))
        return any(target.id == name for _, target in _typed_assignments(tree, kind))
    return check


def _typed_assignments(tree: ast.AST, kind: Callable[[ast.AST], bool]) -> list:
    """(assignment, name target) pairs of ``NAME = value`` with ``kind(value)``."""
    return [(node, target) for node in ast.walk(tree) if isinstance(node, ast.Assign)
            and kind(node.value) for target in node.targets if isinstance(target, ast.Name)]


def _catches(tree: ast.AST, name: str) -> bool:
    for node in ast.walk(tree):
        if isinstance(node, ast.ExceptHandler) and node.type is not None:
            caught = node.type.elts if isinstance(node.type, ast.Tuple) else [node.type]
            if any(isinstance(c, ast.Name) and c.id == name for c in caught):
                return True
    return False


class Role(NamedTuple):
    what: str  # "a function named {}"
    check: Callable[[ast.AST, str], bool]
    needs: str | None  # the construct a program must have for a rename to give it the name
    kind: Callable[[ast.AST], bool] | None = None  # for variables: the value they must be given
    renamed: bool = True  # imposed by renaming; else (exception names) the grammar must derive it


NAME_ROLES: dict[str, Role] = {
    "function": Role("a function named {}", _defines(ast.FunctionDef), "function"),
    "class": Role("a class named {}", _defines(ast.ClassDef), "class"),
    "variable": Role("a variable named {}", _assigns(None), None),
    "list": Role("a list named {}", _assigns(_is_list), "list", _is_list),
    "dict": Role("a dictionary named {}", _assigns(_is_dict), "dict", _is_dict),
    "string": Role("a string named {}", _assigns(_stringy), "string", _stringy),
    "exception": Role("an except clause catching {}", _catches, None, renamed=False),
}
# the noun before "called"/"named" -> the role of the name after it
ROLE_NOUNS = {"function": "function", "procedure": "function", "class": "class",
              "variable": "variable", "counter": "variable", "accumulator": "variable",
              "number": "variable", "integer": "variable", "list": "list", "array": "list",
              "dictionary": "dict", "dict": "dict", "string": "string"}


def _contains_constant(tree: ast.AST, value) -> bool:
    negated = {id(node.operand) for node in ast.walk(tree)  # the 3 of -3 is not a 3
               if isinstance(node, ast.UnaryOp) and _literal(node) is not _NOT_LITERAL}
    return any(type(literal := _literal(node)) is type(value) and literal == value
               and id(node) not in negated for node in ast.walk(tree))


# ---- Constraints -----------------------------------------------------------------------------------

class Requirement(NamedTuple):
    what: str  # "a while loop", "the constant 20", "a function named total"
    check: Callable[[ast.AST], bool]
    derived: bool  # the grammar must derive it (the guide steers toward it); else a rewrite gives it
    rank: int = 2  # of its construct: what generation steers toward first


@dataclass(frozen=True)
class Constraints:
    """What a description asks of a program. Every part is checked on the program's syntax tree."""

    description: str
    constructs: tuple = ()  # names of CONSTRUCTS, sorted
    constants: tuple = ()  # ints and strs the program must contain, in the description's order
    names: tuple = ()  # (role, identifier) pairs, role a key of NAME_ROLES
    unknown: tuple = ()  # words that asked for nothing known

    def requirements(self) -> list[Requirement]:
        """Everything a program must satisfy, including the constructs a name or a constant needs
        to exist at all (a function to be called total, a string literal to become 'hello')."""
        needed = dict.fromkeys(self.constructs)
        needed.update(dict.fromkeys(NAME_ROLES[role].needs for role, _ in self.names
                                    if NAME_ROLES[role].needs))
        if any(isinstance(value, str) for value in self.constants):
            needed["string"] = None
        found = [Requirement(CONSTRUCTS[c].what, CONSTRUCTS[c].check, True, CONSTRUCTS[c].rank)
                 for c in needed]
        found += [Requirement(f"the constant {value!r}",
                              functools.partial(_contains_constant, value=value), False)
                  for value in self.constants]
        found += [Requirement(NAME_ROLES[role].what.format(name),
                              functools.partial(NAME_ROLES[role].check, name=name),
                              not NAME_ROLES[role].renamed, BLOCK) for role, name in self.names]
        return found

    def unmet(self, program: str | ast.AST) -> list[str]:
        """What ``program`` (source or tree) lacks, by the requirements' checks."""
        tree = ast.parse(program) if isinstance(program, str) else program
        return [r.what for r in self.requirements() if not r.check(tree)]

    def __str__(self) -> str:
        parts = [", ".join(CONSTRUCTS[c].what for c in self.constructs),
                 ", ".join(f"the constant {value!r}" for value in self.constants),
                 ", ".join(NAME_ROLES[role].what.format(name) for role, name in self.names)]
        return "; ".join(part for part in parts if part) or "nothing in particular"


# ---- Parsing a description with spaCy ------------------------------------------------------------

# words that ask for nothing a program could be checked for: not reported as unknown
FILLER = frozenset("""program code script python number integer value item element thing result
    statement expression write create make build use contain take give get compute calculate find
    check call name simple small short given first last new another other count word character
    letter line step way work order""".split())
# a number after one of these is a bound or a value ("below 20", "from ten"); a number word
# anywhere else counts things ("two strings"); digits are always constants
BOUNDS = ("below", "under", "above", "over", "from", "to", "until", "till", "than", "at", "by",
          "exceed", "past", "between", "equal")
_NUMBER_WORDS = {word: value for value, word in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen twenty".split())}
_NUMBER_WORDS.update(thirty=30, forty=40, fifty=50, sixty=60, seventy=70, eighty=80, ninety=90,
                     hundred=100, thousand=1000, million=10**6)


def _pipeline():
    try:
        import spacy  # noqa: F401  (checked on every call: cheap once imported)
    except ImportError:
        raise InvalidArgument(f"--describe needs spaCy: {INSTALL}") from None
    return _loaded_pipeline()


@functools.lru_cache(maxsize=1)
def _loaded_pipeline():
    """The blank English pipeline, its lemma table and the matcher of every pattern (made once:
    loading spaCy takes seconds)."""
    import spacy
    from spacy.matcher import Matcher

    nlp = spacy.blank("en")
    lemmatizer = nlp.add_pipe("lemmatizer", config={"mode": "lookup"})
    try:
        nlp.initialize()  # loads the lookup tables from spacy-lookups-data
    except ValueError as missing:
        raise InvalidArgument(f"--describe needs spaCy's lemma tables ({missing}): "
                              f"{INSTALL}") from None
    table = lemmatizer.lookups.get_table("lemma_lookup")
    lemma = functools.partial(_lemma, table)
    matcher = Matcher(nlp.vocab)
    owner: dict = {}
    for construct in CONSTRUCTS.values():
        for phrase in construct.phrases:
            pattern = _phrase_pattern(nlp, lemma, phrase)
            if owner.setdefault(repr(pattern), construct.name) != construct.name:
                raise AssertionError(f"{phrase!r} asks for {owner[repr(pattern)]} and {construct.name}")
            matcher.add(f"construct:{construct.name}", [pattern])
    matcher.add("name", [[{"LEMMA": {"IN": sorted(ROLE_NOUNS)}}, {"LEMMA": {"IN": ["call", "name"]}},
                          {"IS_PUNCT": False, "IS_SPACE": False}]])
    matcher.add("bound", [[{"LEMMA": {"IN": list(BOUNDS)}}, {"LIKE_NUM": True}]])
    matcher.add("exception", [[{"TEXT": {"REGEX": r"^[A-Z]\w*(Error|Exception)$"}}]])
    return nlp, lemma, matcher


def _lemma(table, word: str) -> str:
    # the lookup table is keyed by lowercase words: looked up as written, "Prints" stays "Prints"
    return table.get(word.lower(), word.lower())


def _phrase_pattern(nlp, lemma, phrase: str) -> list:
    """A phrase's token pattern. A word written in its base form matches every inflection of it
    ("print" finds "prints"); any other form matches only itself ("largest" is not "large").
    Between words, a hyphen or slash and a stop word may come ("for-loop", "try/except",
    "compare two strings")."""
    pattern: list = []
    for token in nlp.make_doc(phrase):
        if pattern:
            pattern += [{"IS_PUNCT": True, "OP": "?"}, {"IS_STOP": True, "OP": "?"}]
        base = lemma(token.text)
        pattern.append({"LEMMA": base} if base == token.lower_ else {"LOWER": token.lower_})
    return pattern


def _integer(token) -> int | None:
    text = token.text.replace(",", "").replace("_", "")
    if text.lstrip("+-").isdigit():
        return int(text)
    return _NUMBER_WORDS.get(token.lower_)


def _identifier(text: str) -> bool:
    return text.isidentifier() and not keyword.iskeyword(text)


def _quoted(doc) -> list[tuple[int, int]]:
    """(opening, closing) token indices of quoted text: each quote closes at the next same one."""
    found, opening = [], None
    for token in doc:
        if not token.is_quote:
            continue
        if opening is None:
            opening = token
        elif token.text == opening.text:
            found.append((opening.i, token.i))
            opening = None
    return found


def parse(description: str) -> Constraints:
    """The constraints ``description`` states: constructs, constants, names, and unknown words."""
    nlp, lemma, matcher = _pipeline()
    from spacy.util import filter_spans  # after _pipeline(): it says what to install if missing

    doc = nlp.make_doc(description)
    for token in doc:
        token.lemma_ = lemma(token.text)
    constructs, constants, names, unknown = set(), [], [], []
    used = [False] * len(doc)

    # Quoted text first, so that its words ask for nothing: a name after "called"/"named", else
    # a string constant.
    for opening, closing in _quoted(doc):
        text = description[doc[opening].idx + 1:doc[closing].idx]
        before = doc[opening - 1].lemma_ if opening else ""
        if before in ("call", "name") and _identifier(text):
            role = ROLE_NOUNS.get(doc[opening - 2].lemma_) if opening >= 2 else None
            names.append((role or "variable", text))
            first = opening - (2 if role else 1)
        else:
            constants.append((opening, text))
            first = opening
        used[first:closing + 1] = [True] * (closing + 1 - first)

    spans = [span for span in matcher(doc, as_spans=True) if not any(used[span.start:span.end])]
    for span in filter_spans(spans):  # the longest wins: "while loop" over "loop"
        kind, _, value = span.label_.partition(":")
        used[span.start:span.end] = [True] * len(span)
        last = span[-1]
        if kind == "construct":
            constructs.add(value)
        elif kind == "name" and _identifier(last.text):
            names.append((ROLE_NOUNS[span[0].lemma_], last.text))
        elif kind == "bound" and _integer(last) is not None:
            constants.append((last.i, _integer(last)))
        elif kind == "exception" and isinstance(getattr(builtins, last.text, None), type) \
                and issubclass(getattr(builtins, last.text), BaseException):
            names.append(("exception", last.text))
        else:
            unknown.append(last.text)

    for token in doc:  # the words no pattern took
        if used[token.i] or token.is_punct or token.is_space:
            continue
        if token.like_num:
            number = _integer(token)
            if number is not None and token.text.lstrip("+-")[:1].isdigit():
                constants.append((token.i, number))
            elif number is None:
                unknown.append(token.text)  # 2.5, "first": only integer constants are supported
        elif not token.is_stop and token.lemma_ not in FILLER:
            unknown.append(token.text)
    constants = [value for _, value in sorted(constants)]
    return Constraints(description, tuple(sorted(constructs)), tuple(dict.fromkeys(constants)),
                       tuple(dict.fromkeys(names)), tuple(unknown))


# ---- Where a grammar makes what ------------------------------------------------------------------

class GrammarMap:
    """For every alternative of every rule, a minimal program that takes it: the shortest way from
    the start rule to the rule, that alternative there, everything else at its cheapest, parsed
    once. A check then tells which choices introduce what it checks (their minimal program passes
    it and the rule's cheapest alternative's does not) and whether the grammar can make it at all."""

    def __init__(self, grammar, level: str | None = None):
        self.grammar = load_grammar(grammar)
        self.level = level or "all"
        # the programs run on this interpreter: no construct newer than it (@since)
        self.compiled = g = CompiledGrammar(self.grammar, python_version=sys.version_info[:2])
        self.start = g.rule_index(self.grammar.start_for(level))
        self.expanders = g.expanders(guided=True)
        self._cheapest: dict = {}
        self.trees: dict = {}  # (rule, alternative) -> its minimal program's tree, None if invalid
        for rule, way in self._ways_from_start().items():
            for k in range(len(g.alts[rule])):
                self.trees[rule, k] = _parse(self._text(self.start, way + ((rule, k),)))

    def _ways_from_start(self) -> dict:
        """Per reachable rule, the (rule, alternative) choices of a shortest way to it."""
        g = self.compiled
        ways = {self.start: ()}
        queue = [self.start]
        for rule in queue:  # breadth first: the queue grows as it is read
            if g.is_use(rule):
                continue  # it names a variable: nothing below
            for k, alternative in enumerate(g.alts[rule]):
                for child in alternative.rules:
                    if child not in ways:
                        ways[child] = ways[rule] + ((rule, k),)
                        queue.append(child)
        return ways

    def _text(self, rule: int, way: tuple = ()) -> str:
        """The text ``rule`` derives taking the choices of ``way`` (which starts at ``rule``) and
        the cheapest alternative everywhere else; a @use rule gives a name of its kind."""
        g = self.compiled
        if not way and rule in self._cheapest:
            return self._cheapest[rule]
        if g.is_use(rule):
            text = self._name_of_kind(g.use_kinds[rule][0])
        else:
            k, rest = (way[0][1], way[1:]) if way else (0, ())
            parts = []
            for item in g.alts[rule][k].items:
                if isinstance(item, str):
                    parts.append(item)
                elif rest and item == rest[0][0]:
                    parts.append(self._text(item, rest))
                    rest = ()
                else:
                    parts.append(self._text(item))
            text = "".join(parts)
            if g.is_indented(rule):
                text = indent_block(text)
            if g.is_evaluated(rule):
                try:
                    text = str(evaluate_integer(text))
                except ValueError:
                    pass
        if not way:
            self._cheapest[rule] = text
        return text

    def _name_of_kind(self, kind: str) -> str:
        g = self.compiled
        binder = next((i for i, bound in enumerate(g.bind_kind) if bound == kind and g.alts[i]), None)
        return "x" if binder is None else self._text(binder)

    def can_make(self, check: Callable[[ast.AST], bool]) -> bool:
        return any(tree is not None and check(tree) for tree in self.trees.values())

    def steps_to(self, check: Callable[[ast.AST], bool]) -> list[list[float]]:
        """Per rule, per alternative: how many expansions below it the nearest choice that
        introduces what ``check`` checks is (0: this choice; infinity: none)."""
        g = self.compiled

        def passes(rule, k):
            tree = self.trees.get((rule, k))
            return tree is not None and check(tree)

        introducing = {(rule, k) for rule, k in self.trees if passes(rule, k) and not passes(rule, 0)}
        distance = g.expansions_to({rule for rule, _ in introducing})
        return [[0 if (rule, k) in introducing else
                 1 + min((distance[c] for c in alternative.rules), default=INFINITY)
                 for k, alternative in enumerate(alternatives)]
                for rule, alternatives in enumerate(g.alts)]


def _parse(text: str) -> ast.Module | None:
    with warnings.catch_warnings():  # "is" with a literal and the like: valid, just warned about
        warnings.simplefilter("ignore")
        try:
            return ast.parse(text)
        except (SyntaxError, ValueError):
            return None


@functools.lru_cache(maxsize=8)
def grammar_map(grammar: str, level: str | None = None) -> GrammarMap:
    """The map of a grammar (a name or a path), made once per process: 0.1 to 0.5 s."""
    return GrammarMap(grammar, level)


def choose_grammar(constraints: Constraints, grammar: str | None = None,
                   level: str | None = None) -> GrammarMap:
    """``grammar`` if given, else tinypy when it can make everything asked for (its programs are
    the simplest), else python. Raises, before any draw, naming what the grammar cannot make."""
    derived = [r for r in constraints.requirements() if r.derived]
    for name in [grammar] if grammar else ["tinypy", "python"]:
        found = grammar_map(name, level)
        missing = [r.what for r in derived if not found.can_make(r.check)]
        if not missing:
            return found
    which = f"the {found.grammar.name} grammar has no" if grammar else "neither tinypy nor python has a"
    raise InvalidArgument(f"--describe {constraints.description!r}: {which} rule that produces "
                          f"{_listing(missing)}")


def _listing(items: list) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " or " + items[-1]


class _Guide:
    """Chooses for a derivation: an alternative on a shortest way to a requirement this program
    does not have yet (now and then one a step longer, for variety); by chance once none is left.

    Requirements are steered toward by rank, definitions first, then statements with a body, then
    the rest: the derivation goes on inside the construct just chosen, so what is asked for next
    lands in its body ("a function that returns the sum": the sum in the function). Random numbers
    come from ``Random.random``, stable across Python versions."""

    def __init__(self, steps: list, ranks: list, rand: random.Random):
        self.steps = steps  # per requirement: GrammarMap.steps_to
        self.ranks = ranks
        self.rand = rand
        self.wanted: list = []
        self.now: list = []  # the wanted requirements of the first rank

    def start(self) -> None:
        self._want(range(len(self.steps)))

    def _want(self, wanted) -> None:
        self.wanted = list(wanted)
        first = min((self.ranks[r] for r in self.wanted), default=0)
        self.now = [r for r in self.wanted if self.ranks[r] == first]

    def __call__(self, rule: int, options) -> int:
        options = list(options)
        if self.now:
            ways = [min(self.steps[r][rule][k] for r in self.now) for k in options]
            best = min(ways)
            if best < INFINITY:
                longest = best + (1 if self.rand.random() < WANDER else 0)
                k = _pick(self.rand, [k for k, way in zip(options, ways) if way <= longest])
                if any(self.steps[r][rule][k] == 0 for r in self.wanted):
                    self._want(r for r in self.wanted if self.steps[r][rule][k] != 0)
                return k
        return _pick(self.rand, options)


def _pick(rand: random.Random, items: list):
    return items[int(rand.random() * len(items))]


# ---- Imposing names and constants by rewriting the tree --------------------------------------------

def _rename(tree: ast.AST, old: str, new: str) -> bool:
    """Rename the variable, function or class ``old`` to ``new`` everywhere, if that changes no
    meaning: ``new`` is not used at all (so it captures nothing and shadows nothing used), and
    ``old`` is not a builtin, a parameter, a keyword argument or an import (renaming those would
    change what a call means). Methods keep their names: they are attributes."""
    methods = _methods(tree)
    renamable, fixed = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            renamable.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            (fixed if id(node) in methods else renamable).add(node.name)
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            renamable.update(node.names)
        elif isinstance(node, (ast.ExceptHandler, ast.MatchAs, ast.MatchStar)) and node.name:
            renamable.add(node.name)
        elif isinstance(node, (ast.arg, ast.keyword)):
            fixed.add(node.arg)
        elif isinstance(node, ast.alias):
            fixed.add(node.asname or node.name)
    if new in renamable | fixed or old in fixed or hasattr(builtins, old) or not _identifier(new):
        return False
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id == old:
            node.id = new
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.ExceptHandler,
                               ast.MatchAs, ast.MatchStar)) \
                and node.name == old and id(node) not in methods:
            node.name = new
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            node.names = [new if name == old else name for name in node.names]
    return True


def _name_candidates(tree: ast.AST, role: str) -> list[tuple[str, ast.AST]]:
    """(name, the node that defines it) for each name of ``role`` the program binds."""
    methods = _methods(tree)
    if role in ("function", "class"):
        kind = ast.FunctionDef if role == "function" else ast.ClassDef
        return [(node.name, node) for node in ast.walk(tree)
                if isinstance(node, kind) and id(node) not in methods]
    spec = NAME_ROLES[role]
    if spec.kind is not None:
        return [(target.id, node) for node, target in _typed_assignments(tree, spec.kind)]
    # a variable, with each statement binding it (scored on what it does: the one incremented,
    # the one given the string asked for), except one given a lambda: that is a function
    defined = {node.name for node in ast.walk(tree)
               if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.For, ast.NamedExpr)) \
                and not isinstance(getattr(node, "value", None), ast.Lambda):
            for target in getattr(node, "targets", None) or [node.target]:
                found += [(name.id, node) for name in ast.walk(target) if isinstance(name, ast.Name)
                          and isinstance(name.ctx, ast.Store) and name.id not in defined]
    return found


def _give_name(tree: ast.AST, role: str, name: str, checks: list) -> bool:
    """Rename a ``role`` of the program to ``name``; preferably the one whose definition has the
    most of what else was asked ("a function called total that returns the sum": the function
    with the sum)."""
    scored: dict = {}
    for old, node in _name_candidates(tree, role):
        score = sum(1 for check in checks if check(node))
        scored[old] = max(score, scored.get(old, -1))
    for old in sorted(scored, key=lambda old: -scored[old]):
        if _rename(tree, old, name):
            return True
    return False


def _literals(tree: ast.AST, value_type: type) -> list[ast.Constant]:
    """Literals of ``value_type`` a rewrite may change: not docstrings, not parts of f-strings."""
    skip = _docstrings(tree) | {id(part) for node in ast.walk(tree) if isinstance(node, ast.JoinedStr)
                                for part in ast.walk(node)}
    return [node for node in ast.walk(tree) if isinstance(node, ast.Constant)
            and type(node.value) is value_type and id(node) not in skip]


def _give_constant(tree: ast.AST, value, keep: list, rand: random.Random) -> bool:
    """Replace a literal of the same type by ``value``, one whose change keeps every check of
    ``keep`` passing (20 must not replace the 2 of ``% 2``): a bound (the stop of a range(), a
    value compared with) if one will do, the likeliest place for a number a description gives."""
    bounds = {id(call.args[min(1, len(call.args) - 1)]) for call in ast.walk(tree)
              if _called(call) == "range" and call.args}
    bounds |= {id(node) for compare in ast.walk(tree) if isinstance(compare, ast.Compare)
               for node in compare.comparators}
    for node in sorted(_literals(tree, type(value)), key=lambda n: (id(n) not in bounds, rand.random())):
        old, node.value = node.value, value
        if all(check(tree) for check in keep):
            return True
        node.value = old
    return False


def _impose(tree: ast.AST, constraints: Constraints, rand: random.Random) -> str | None:
    """Give the program the constants, then the names asked for (a name goes preferably to what
    has the rest: "the string 'hello' in a variable named greeting"); what could not be given,
    or None. Called once the program has every construct: no rewrite may take one away."""
    keep = [r.check for r in constraints.requirements() if r.derived]
    for value in constraints.constants:
        has_value = functools.partial(_contains_constant, value=value)
        if not has_value(tree) and not _give_constant(tree, value, keep, rand):
            return f"the constant {value!r}"
        keep.append(has_value)
    for role, name in constraints.names:
        spec = NAME_ROLES[role]
        if spec.renamed and not spec.check(tree, name) and not _give_name(tree, role, name, keep):
            return spec.what.format(name)
    return None


# ---- Generating ------------------------------------------------------------------------------------

@dataclass
class Generated:
    programs: list  # (Program, Outcome on the reference), in the order drawn
    grammar: str
    draws: int
    rejected: Counter  # why draws were not kept -> how many


def generate_programs(constraints: Constraints, n: int, *, grammar: str | None = None,
                      level: str | None = None, seed: int = 0, max_draws: int | None = None,
                      workers: int | None = None, reference: str = "cpython") -> Generated:
    """``n`` distinct programs that satisfy every constraint and ran cleanly on ``reference``.

    Raises ``InvalidArgument`` before drawing when the grammar cannot make something asked for,
    and after ``max_draws`` draws (default ``DRAWS_PER_PROGRAM`` per program) without ``n``."""
    from tinyfuzz.execution.pair import run_on_reference

    if n < 0:
        raise InvalidArgument(f"n={n}: the number of programs must be 0 or more")
    found = choose_grammar(constraints, grammar, level)
    requirements = constraints.requirements()
    rand = random.Random(seed)
    derived = [r for r in requirements if r.derived]
    guide = _Guide([found.steps_to(r.check) for r in derived], [r.rank for r in derived], rand)
    max_draws = max_draws or DRAWS_PER_PROGRAM * max(n, 1)
    result = Generated([], found.grammar.name, 0, Counter())
    seen: set = set()

    def draw():
        """A program meeting every requirement, or why not ("without a while loop")."""
        guide.start()
        try:
            derivation = derive(found.compiled, found.expanders, found.start,
                                lambda count: int(rand.random() * count), DEFAULT_MAX_SIZE,
                                guide=guide)
        except Infeasible:
            return "restarted by the semantic layer"
        tree = ast.parse(derivation.text)
        source = derivation.text
        for requirement in requirements:  # what the grammar had to make: nothing to rewrite yet
            if requirement.derived and not requirement.check(tree):
                return f"without {requirement.what}"
        if constraints.constants or any(NAME_ROLES[r].renamed for r, _ in constraints.names):
            missing = _impose(tree, constraints, rand)
            source = ast.unparse(tree) + "\n"
            unmet = [missing] if missing else constraints.unmet(source)  # the text has the last word
            if unmet:
                return f"without {unmet[0]}"
        if source in seen:
            return "a duplicate"
        seen.add(source)
        return program_from(derivation, found.grammar.name, found.level)._replace(source=source)

    while len(result.programs) < n and result.draws < max_draws:
        batch = []
        while len(batch) < n - len(result.programs) and result.draws < max_draws:
            result.draws += 1
            program = draw()
            if isinstance(program, str):
                result.rejected[program] += 1
            else:
                batch.append(program)
        for program, outcome in zip(batch, run_on_reference([p.source for p in batch], reference,
                                                             workers)):
            if outcome.ok:
                result.programs.append((program, outcome))
            else:
                result.rejected[f"raised {outcome.exc_type or outcome.status} on {reference}"] += 1
    if len(result.programs) < n:
        raise InvalidArgument(_giving_up(constraints, result, n))
    return result


def _giving_up(constraints: Constraints, result: Generated, n: int) -> str:
    """The grammar can make each thing asked for (that was checked first), but not all together,
    or too rarely, or not ``n`` distinct programs."""
    reasons = ", ".join(f"{why} ({count})" for why, count in result.rejected.most_common(4))
    found = ("no program with everything asked for" if not result.programs else
             f"only {len(result.programs)} of {n} distinct programs")
    return (f"--describe {constraints.description!r}: {found} in {result.draws} draws from the "
            f"{result.grammar} grammar; draws not kept: {reasons or 'none'}")


# ---- Writing ----------------------------------------------------------------------------------------

@dataclass
class DescribeSummary:
    constraints: Constraints
    path: str
    grammar: str
    written: int
    draws: int
    rejected: Counter
    seconds: float


def write_programs(constraints: Constraints, n: int, output: str | Path, *,
                   grammar: str | None = None, level: str | None = None, seed: int = 0,
                   fmt: str = "text", workers: int | None = None,
                   max_draws: int | None = None) -> DescribeSummary:
    """Write ``n`` programs that meet ``constraints``, with their outputs, in the formats of
    ``tinyfuzz generate``; the file appears only when complete (``-``: standard output)."""
    from tinyfuzz._internal.files import output_file, output_name
    from tinyfuzz._internal.hashing import content_hash
    from tinyfuzz.corpus.formats import FORMATS, format_record

    if fmt not in FORMATS:
        raise InvalidArgument(f"format={fmt!r}: choose one of {', '.join(FORMATS)}")
    started = time.perf_counter()
    with output_file(output) as out:
        generated = generate_programs(constraints, n, grammar=grammar, level=level, seed=seed,
                                      max_draws=max_draws, workers=workers)
        for program, outcome in generated.programs:
            out.write(format_record(program, outcome, fmt, content_hash(program.source)))
    return DescribeSummary(constraints, output_name(output), generated.grammar, len(generated.programs),
                           generated.draws, generated.rejected, time.perf_counter() - started)
