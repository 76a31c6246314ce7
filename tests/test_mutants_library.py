"""The library suite of semantic mutants: each one's witness kills it, and ordinary programs do not.

The witnesses are this suite's own fixed programs, so they run in-process under a small harness that
does what the mutant runner does: parse, transform, fix locations, compile, run the prelude (in a
namespace of its own, whose names are then bound in the program's) and then the program in a fresh
namespace whose ``__builtins__`` is the builtins module.
"""

import ast
import builtins
import contextlib
import importlib.util
import io
from collections import Counter
from pathlib import Path

import pytest

from tinyfuzz.science._mutant_api import SECTIONS, Mutant

SCIENCE = Path(__file__).resolve().parent.parent / "tinyfuzz" / "science"


def _load(name):
    spec = importlib.util.spec_from_file_location(name, SCIENCE / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


library = _load("_mutants_library")
MUTANTS = {m.id: m for m in library.MUTANTS}


def run(program, mutant=None, detail=False):
    """(stdout, the uncaught exception's type name or None) of ``program`` under ``mutant`` (or CPython);
    with ``detail``, the exception itself."""
    tree = ast.parse(program)
    if mutant is not None and mutant.transform is not None:
        tree = mutant.transform().visit(tree)
        ast.fix_missing_locations(tree)
    code = compile(tree, "<program>", "exec")
    namespace = {"__builtins__": builtins, "__name__": "__main__"}
    out = io.StringIO()
    error = None
    with contextlib.redirect_stdout(out):
        try:
            if mutant is not None and mutant.prelude:
                # as the runner does: the prelude in a namespace of its own, its names then bound
                helpers = {"__name__": "__main__", "__builtins__": builtins}
                exec(mutant.prelude, helpers)
                namespace.update((k, v) for k, v in helpers.items() if k not in ("__name__", "__builtins__"))
            exec(code, namespace)
        except Exception as exc:  # noqa: BLE001 - the outcome is what we compare
            error = exc if detail else type(exc).__name__
    return out.getvalue(), error


WITNESSES = {
    # functions
    "default-rebuilt-per-call": "def add(x, items=[]):\n    items.append(x)\n    return items\nadd(1)\nprint(add(2))\n",
    "keywords-bound-positionally": "def sub(a, b):\n    return a - b\nprint(sub(b=1, a=5))\n",
    "posonly-accepts-keywords": "def f(a, /, **kw):\n    return a, kw\nprint(f(1, a=2))\n",
    "varargs-packed-reversed": "def f(*args):\n    return args\nprint(f(1, 2, 3))\n",
    "kwargs-packed-sorted": "def f(**kw):\n    return list(kw)\nprint(f(b=1, a=2))\n",
    "closure-captures-value": (
        "fs = [lambda: i for i in range(3)]\nprint([f() for f in fs])\n"
        "def make():\n    x = 1\n    def get():\n        return x\n    x = 2\n    return get\nprint(make()())\n"
    ),
    "recursion-limit-50": "def depth(n):\n    return 0 if n == 0 else 1 + depth(n - 1)\nprint(depth(100))\n",
    "generator-send-ignored": (
        "def echo():\n    got = yield 'ready'\n    print('got', got)\n    yield 'done'\n"
        "g = echo()\nnext(g)\ng.send(5)\n"
    ),
    "generator-return-value-lost": (
        "def inner():\n    yield 1\n    return 'result'\n"
        "def outer():\n    r = yield from inner()\n    print(r)\nlist(outer())\n"
    ),
    "yield-from-next-only": (
        "def inner():\n    x = yield 1\n    print('inner got', x)\n    yield 2\n"
        "def outer():\n    yield from inner()\ng = outer()\nnext(g)\ng.send('hi')\n"
    ),
    "stopiteration-ends-generator": "def g():\n    yield 1\n    next(iter([]))\n    yield 2\nprint(list(g()))\n",
    # classes
    "class-attr-shadows-instance": (
        "class C:\n    x = 'class'\n    def __init__(self):\n        self.x = 'instance'\nprint(C().x)\n"
    ),
    "instance-assign-writes-class": "class C:\n    n = 0\na, b = C(), C()\na.n = 5\nprint(b.n)\n",
    "mro-depth-first": (
        "class A:\n    def who(self):\n        return 'A'\nclass B(A):\n    pass\n"
        "class C(A):\n    def who(self):\n        return 'C'\nclass D(B, C):\n    pass\nprint(D().who())\n"
    ),
    "super-uses-first-base": (
        "class A:\n    def hi(self):\n        return ['A']\n"
        "class B(A):\n    def hi(self):\n        return ['B'] + super().hi()\n"
        "class C(A):\n    def hi(self):\n        return ['C'] + super().hi()\n"
        "class D(B, C):\n    def hi(self):\n        return ['D'] + super().hi()\nprint(D().hi())\n"
    ),
    "ne-ignores-eq": (
        "class P:\n    def __init__(self, v):\n        self.v = v\n"
        "    def __eq__(self, other):\n        return self.v == other.v\nprint(P(1) != P(1))\n"
    ),
    "radd-not-tried": (
        "class M:\n    def __init__(self, v):\n        self.v = v\n"
        "    def __radd__(self, other):\n        return M(other + self.v)\nprint((1 + M(2)).v)\n"
    ),
    "iadd-uses-add": "a = [1]\nb = a\na += [2]\nprint(b)\n",
    "truth-ignores-len": (
        "class Box:\n    def __init__(self, items):\n        self.items = items\n"
        "    def __len__(self):\n        return len(self.items)\nprint('empty' if not Box([]) else 'full')\n"
    ),
    "str-uses-repr": (
        "class P:\n    def __str__(self):\n        return 'str'\n    def __repr__(self):\n        return 'repr'\n"
        "print(P())\n"
    ),
    "property-getter-cached": (
        "class Counter:\n    def __init__(self):\n        self.n = 0\n    @property\n    def next(self):\n"
        "        self.n += 1\n        return self.n\nc = Counter()\nprint(c.next, c.next)\n"
    ),
    "getitem-not-iterable": (
        "class Squares:\n    def __getitem__(self, i):\n        if i >= 3:\n            raise IndexError(i)\n"
        "        return i * i\nfor s in Squares():\n    print(s)\n"
    ),
    "contains-ignored": (
        "class Evens:\n    def __contains__(self, x):\n        return x % 2 == 0\n"
        "    def __iter__(self):\n        return iter([0, 2])\nprint(4 in Evens())\n"
    ),
    "comparison-not-reflected": (
        "class V:\n    def __init__(self, v):\n        self.v = v\n"
        "    def __lt__(self, other):\n        return self.v < other.v\nprint(V(2) > V(1))\n"
    ),
    # comprehensions
    "listcomp-variable-leaks": "x = 'outer'\nsquares = [x * x for x in range(3)]\nprint(x)\n",
    "comprehension-clauses-reversed": "print([a + b for a in 'xy' for b in '12'])\n",
    "element-before-filter": "print([10 // x for x in [0, 1, 2] if x])\n",
    "dictcomp-value-before-key": "order = []\nd = {order.append('k') or 1: order.append('v') or 2 for _ in [0]}\nprint(order)\n",
    "dictcomp-first-key-wins": "print({n % 2: n for n in range(4)})\n",
    "genexp-eager": (
        "def noisy(i):\n    print('computing', i)\n    return i\n"
        "g = (noisy(i) for i in range(2))\nprint('created')\nprint(list(g))\n"
    ),
    "genexp-iterable-late": "a = [1, 2]\ng = (x for x in a)\na = [3]\nprint(list(g))\n",
    "comprehension-only-last-if": "print([n for n in range(10) if n % 2 if n > 4])\n",
    # strings
    "split-default-is-space": "print(' a  b '.split())\n",
    "split-maxsplit-from-right": "print('a,b,c'.split(',', 1))\n",
    "strip-chars-as-substring": "print('yxhixy'.strip('xy'))\n",
    "replace-ignores-count": "print('aaa'.replace('a', 'b', 1))\n",
    "str-index-returns-minus-one": "print('abc'.index('z'))\n",
    "center-extra-pad-right": "print(repr('ab'.center(5)))\n",
    "zfill-ignores-sign": "print('-42'.zfill(5))\n",
    "title-splits-on-whitespace": "print(\"they're bill's friends\".title())\n",
    "capitalize-keeps-rest": "print('hELLO'.capitalize())\n",
    "case-ascii-only": "print('café'.upper(), 'ÉTÉ'.lower())\n",
    "startswith-rejects-tuple": "print('banana'.startswith(('a', 'b')))\n",
    "count-overlapping": "print('aaaa'.count('aa'))\n",
    "join-stringifies": "print(','.join([1, 2]))\n",
    "negative-step-slice-swapped": "print('abcdef'[4:1:-1])\n",
    "format-numbers-left-aligned": "print(f'[{42:5}]')\n",
    "percent-d-rounds": "print('%d' % 2.7)\n",
    "format-ignores-conversion": "print('{!r}'.format('a'))\n",
    "repr-always-single-quotes": "print(repr(\"it's\"))\n",
    "repr-escapes-non-ascii": "print(['café'])\n",
    # containers
    "insert-negative-off-by-one": "a = [1, 2, 3]\na.insert(-1, 9)\nprint(a)\n",
    "pop-default-first": "a = [1, 2, 3]\nprint(a.pop(), a)\n",
    "remove-last-occurrence": "a = [1, 2, 1]\na.remove(1)\nprint(a)\n",
    "extend-str-as-one-item": "a = ['x']\na.extend('yz')\nprint(a)\n",
    "sort-reverse-unstable": "a = [(1, 'a'), (1, 'b'), (0, 'c')]\na.sort(key=lambda t: t[0], reverse=True)\nprint(a)\n",
    "index-ignores-start": "print([1, 2, 1].index(1, 1))\n",
    "slice-assign-fixed-length": "a = [1, 2, 3]\na[1:2] = [7, 8]\nprint(a)\n",
    "dict-reassign-moves-key-last": "d = {'a': 1, 'b': 2}\nd['a'] = 3\nprint(d)\n",
    "setdefault-does-not-insert": "d = {}\nd.setdefault('k', []).append(1)\nprint(d)\n",
    "get-ignores-default": "counts = {}\nfor w in 'aba':\n    counts[w] = counts.get(w, 0) + 1\nprint(counts)\n",
    "set-xor-is-difference": "print(sorted({1, 2} ^ {2, 3}))\n",
    "set-subset-is-proper": "s = {1, 2}\nprint(s <= s)\n",
    "sequence-compare-length-first": "print((1, 2, 3) < (2,))\n",
    "starred-target-is-tuple": "first, *rest = [1, 2, 3]\nprint(rest)\n",
    # builtins
    "range-negative-step-empty": "print(list(range(3, 0, -1)))\n",
    "range-empty-yields-start": "for i in range(0):\n    print('ran', i)\nprint('end')\n",
    "round-half-away-from-zero": "print(round(2.5), round(0.5))\n",
    "round-ndigits-decimal": "print(round(2.675, 2))\n",
    "divmod-truncates": "print(divmod(-7, 2))\n",
    "pow-negative-exponent-int": "print(pow(2, -1))\n",
    "pow-mod-no-inverse": "print(pow(3, -1, 7))\n",
    "min-max-last-tie": "print(max([(1, 'a'), (1, 'b')], key=lambda t: t[0]))\n",
    "sum-ignores-start": "print(sum([1, 2], 10))\n",
    "enumerate-ignores-start": "print(list(enumerate('ab', 1)))\n",
    "zip-strict": "print(list(zip([1, 2, 3], 'ab')))\n",
    "sorted-unstable": "print(sorted(['bb', 'a', 'cc'], key=len))\n",
    "reversed-drops-first": "print(list(reversed([1, 2, 3])))\n",
    "abs-returns-float": "print(abs(-3))\n",
    "int-rejects-whitespace": "print(int(' 42 '))\n",
    "int-rejects-underscores": "print(int('1_000'))\n",
    "int-parses-float-string": "print(int('3.7'))\n",
    "float-repr-js-thresholds": "print(1e16, [1e-05])\n",
    "float-repr-12-digits": "print(0.1 + 0.2)\n",
    "bool-prints-lowercase": "print(1 < 2, [False])\n",
    "none-prints-null": "print(None, {'k': None})\n",
    "nested-container-str-items": "print([['a']])\n",
    "print-sep-after-last": "print(1, 2, sep='-')\n",
    "print-ignores-end": "print('a', end='')\nprint('b')\n",
}

NEUTRAL = "x = [3, 1, 2]\nprint(x, len(x), 'ok')\n"

# A program's own classes with methods named like the built-in ones the mutants rewrite: untouched,
# including calls inside a class body, where a helper called __tf_x would be name-mangled.
OWN_METHODS = """
class Thing:
    def __init__(self, text):
        self.text = text
    def words(self):
        return '|'.join(self.text.split())
names = ['split', 'strip', 'replace', 'index', 'center', 'zfill', 'title', 'capitalize', 'upper', 'lower',
         'startswith', 'endswith', 'count', 'join', 'format', 'insert', 'pop', 'remove', 'extend', 'sort',
         'setdefault', 'get', 'send']
for name in names:
    setattr(Thing, name, lambda self, *a, _n=name, **k: 'own ' + _n)
t = Thing('a b')
print(t.words())
for name in names:
    print(getattr(t, name)(1, 2))
print(t.split(), t.strip('x'), t.replace(1, 2, 3), t.index(1, 2), t.center(9), t.zfill(3), t.title(),
      t.capitalize(), t.upper(), t.lower(), t.startswith(('a',)), t.endswith(('b',)), t.count('x'),
      t.join([1]), t.format(1), t.insert(-1, 0), t.pop(), t.remove(1), t.extend('s'), t.sort(reverse=True),
      t.setdefault(1, 2), t.get(1, 2), t.send(3))
"""

# Containers printed every way the str()/repr() engine handles them (no floats, bools, None, nor strings
# inside containers, which some of its mutants print differently): it must reproduce CPython exactly.
PRINTED = """
a = [1, [2, (3,)], {4: (5, 6)}, set(), frozenset(), frozenset({7}), {8, 9}, (), {}, ((10,), 11)]
a.append(a)
d = {0: a, 12: {13: []}}
d[14] = d
class L(list):
    pass
print(a, d, repr(a), str(d), f'{a}|{d!r}|{d!s}', L([1, 2]), [L([3])], 'text', str('text'))
"""

# Exercises the constructs transforms must keep compilable: private names, comprehensions in class
# bodies, nested scopes, match statements, f-strings with nested specs, walrus, decorators, generators.
RICH = """
import functools
class Base:
    __secret = 1
    kinds = [k for k in 'ab']
    table = {k: v for k, v in zip('ab', 'cd')}
    def __init__(self, value):
        self.__value = value
        self.items = [value]
    def reveal(self):
        return self.__value, self.__secret, [self.__value for _ in range(1)]
    @property
    def double(self):
        return self.__value * 2
    @staticmethod
    def helper(a, /, b=2, *args, c=[], **kw):
        c.append(a)
        return a + b + len(args) + len(kw) + len(c)
class Child(Base):
    def __init__(self, value):
        super().__init__(value)
        self.items += [value + 1]
    def __repr__(self):
        return f'Child({self.reveal()[0]!r:>4})'
    @classmethod
    def make(cls):
        return cls(3)
def deco(fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        return fn(*args, **kwargs)
    return wrapper
@deco
def outer(n):
    total = 0
    def inner(k):
        nonlocal total
        total += k
        return total
    adders = [lambda m, i=i: m + i for i in range(n)]
    fact = lambda k: 1 if k <= 1 else k * fact(k - 1)
    return [inner(a(1)) for a in adders], fact(4)
def gen(n):
    '''doc'''
    for i in range(n):
        got = yield i
    return n
def delegate():
    result = yield from gen(2)
    return result
width = 6
values = [y for x in [[1, 2], [3]] if (y := len(x)) > 0]
named = [(z := x) for x in range(3) if x], {(k := x): (v := -x) for x in range(2)}, z, k, v
pairs = [(a, b) for a in range(2) for b in range(a)]
print(Child.make(), Base(2).reveal(), Base(2).double, Base.helper(1), Base.kinds, Base.table)
print(outer(3), list(gen(2)), list(delegate()), values, pairs, named)
print(f'{3.14159:{width}.2f}|{"s":^{width}}|{width!r}')
match (1, 2):
    case (1, x) if x > 1:
        print('matched', x)
    case _:
        print('no')
print(sorted({3, 1, 2}), '%s-%d' % ('a', 4), '{0}{1!r}'.format(1, 'b'), 'x'.join('ab'), [1, 2][::-1])
"""


def test_ids_unique_sections_valid_and_counts():
    ids = [m.id for m in library.MUTANTS]
    assert len(ids) == len(set(ids))
    sections = Counter(m.section for m in library.MUTANTS)
    mine = ("functions", "classes", "comprehensions", "strings", "containers", "builtins")
    assert set(sections) == set(mine)
    assert all(sections[s] >= 5 for s in mine), sections
    assert len(library.MUTANTS) >= 45
    for m in library.MUTANTS:
        assert isinstance(m, Mutant) and m.section in SECTIONS
        assert m.reference.startswith("https://docs.python.org/3/") and "#" in m.reference, m.id
        assert m.fault and "\n" not in m.fault, m.id


def test_every_mutant_has_a_witness():
    assert set(WITNESSES) == set(MUTANTS)


@pytest.mark.parametrize("ident", sorted(MUTANTS))
def test_witness_kills_mutant(ident):
    program = WITNESSES[ident]
    assert run(program, MUTANTS[ident]) != run(program), ident


@pytest.mark.parametrize("program", [NEUTRAL, "print(1)\n", OWN_METHODS, PRINTED])
def test_ordinary_programs_unchanged(program):
    expected = run(program)
    assert expected[1] is None
    changed = [m.id for m in library.MUTANTS if run(program, m) != expected]
    assert changed == []


def test_transforms_keep_programs_compilable():
    expected = run(RICH)
    assert expected[1] is None, expected
    for m in library.MUTANTS:
        if m.transform is None:
            continue
        tree = ast.fix_missing_locations(m.transform().visit(ast.parse(RICH)))
        compile(tree, "<rich>", "exec")  # the runner would take a SyntaxError for the program's outcome
        out, error = run(RICH, m, detail=True)
        # a fault may change the outcome, but never by a helper the program cannot reach
        assert "__tf_" not in repr(error), (m.id, out, error)
