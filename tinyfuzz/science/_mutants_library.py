"""Semantic mutants of Python's functions, classes, comprehensions, strings, containers and builtins.

Each mutant is CPython with one fault that a real implementation (PyPy, MicroPython, Brython, Skulpt, a
student's compiler) could plausibly have, written from the language and library references section by
section, not from any grammar. A transform rewrites the program's tree; a prelude, run in the program's
global namespace first, shadows a builtin or defines the ``__tf_*__`` helpers the rewritten tree calls.

Standard library only: the mutant runner loads this file by path inside a worker process.

Helper names end in ``__`` as well as starting with ``__tf_``, so that the compiler does not mangle them
where a rewritten call sits inside a class body (``__tf_x`` there would become ``_C__tf_x``). Helpers run
in a namespace of their own (see ``_prelude``), so a program that rebinds ``list`` or ``type`` does not
break them; only the names a mutant exports reach the program.
"""

from __future__ import annotations

import ast
import importlib.util
import os
import sys


def _load_api():
    """The API loaded by path, where tinyfuzz cannot be imported."""
    name = "tinyfuzz.science._mutant_api"
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_mutant_api.py")
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses looks the module up there
    spec.loader.exec_module(module)
    return module.Mutant


try:
    from tinyfuzz.science._mutant_api import Mutant  # the runner registers the API under this name
except ImportError:
    Mutant = _load_api()

REF = "https://docs.python.org/3/reference/"
LIB = "https://docs.python.org/3/library/"


def _prelude(source: str, *exports: str) -> str:
    """A prelude that runs ``source`` in a namespace of its own and binds ``exports`` in the program's."""
    lines = ["__tf_ns__ = {}", f"exec({source!r}, __tf_ns__)"]
    lines += [f"{name} = __tf_ns__[{name!r}]" for name in exports]
    lines.append("del __tf_ns__")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------------
# Tree-building helpers and transform bases


def _name(ident: str) -> ast.Name:
    return ast.Name(id=ident, ctx=ast.Load())


def _store(ident: str) -> ast.Name:
    return ast.Name(id=ident, ctx=ast.Store())


def _call(helper: str, *args: ast.expr) -> ast.Call:
    return ast.Call(func=_name(helper), args=list(args), keywords=[])


def _const(value) -> ast.Constant:
    return ast.Constant(value=value)


def _is_docstring(stmt: ast.stmt) -> bool:
    value = stmt.value if isinstance(stmt, ast.Expr) else None
    return isinstance(value, ast.Constant) and isinstance(value.value, str)


def _after_docstring(body: list) -> int:
    return 1 if body and _is_docstring(body[0]) else 0


def _insert_at_start(fn: ast.FunctionDef, stmts: list) -> None:
    at = _after_docstring(fn.body)
    fn.body[at:at] = stmts


def _private(attr: str) -> bool:
    """A name the compiler mangles inside a class (an attribute we must not turn into a string)."""
    return attr.startswith("__") and not attr.endswith("__")


_FUNCS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)
_COMPS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)


def _scope_walk(nodes):
    """Every node evaluated in the scope that owns ``nodes``. A nested scope yields itself and the parts
    of it its owner evaluates (decorators, defaults, bases, a comprehension's first iterable), not its
    body."""
    todo = list(nodes)
    while todo:
        node = todo.pop()
        yield node
        if isinstance(node, _FUNCS):
            todo += node.args.defaults + [d for d in node.args.kw_defaults if d is not None]
            if not isinstance(node, ast.Lambda):
                todo += node.decorator_list
        elif isinstance(node, ast.ClassDef):
            todo += node.bases + [k.value for k in node.keywords] + node.decorator_list
        elif isinstance(node, _COMPS):
            todo.append(node.generators[0].iter)
        else:
            todo += ast.iter_child_nodes(node)


def _target_names(target) -> set:
    return {n.id for n in ast.walk(target) if isinstance(n, ast.Name)}


def _params(fn) -> set:
    a = fn.args
    names = {p.arg for p in a.posonlyargs + a.args + a.kwonlyargs}
    return names | {p.arg for p in (a.vararg, a.kwarg) if p is not None}


def _bound_in(fn) -> set:
    """Names a function or lambda binds in its own scope (parameters, assignments, defs, imports)."""
    body = fn.body if isinstance(fn.body, list) else [fn.body]
    names = _params(fn)
    for node in _scope_walk(body):
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            names.add(node.id)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            names.add(node.name)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names}
    return names


def _declared(fn, kind) -> set:
    body = fn.body if isinstance(fn.body, list) else [fn.body]
    return {name for node in _scope_walk(body) if isinstance(node, kind) for name in node.names}


def _free(scope) -> set:
    """Names a function, lambda, class body or comprehension reads from enclosing scopes (near enough)."""
    if isinstance(scope, _FUNCS):
        parts = scope.body if isinstance(scope.body, list) else [scope.body]
        bound = _bound_in(scope) | _declared(scope, ast.Global)
    elif isinstance(scope, ast.ClassDef):
        parts, bound = scope.body, set()
    else:
        parts = [scope.key, scope.value] if isinstance(scope, ast.DictComp) else [scope.elt]
        parts += [c for g in scope.generators for c in g.ifs] + [g.iter for g in scope.generators[1:]]
        bound = set().union(*(_target_names(g.target) for g in scope.generators))
    loads = set()
    for node in _scope_walk(parts):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
            loads.add(node.id)
        elif isinstance(node, _FUNCS + _COMPS + (ast.ClassDef,)) and node not in parts:
            loads |= _free(node)
    return loads - bound


def _has_walrus(node) -> bool:
    return any(isinstance(n, ast.NamedExpr) for n in ast.walk(node))


def _is_generator(fn) -> bool:
    return any(isinstance(n, (ast.Yield, ast.YieldFrom, ast.Await)) for n in _scope_walk(fn.body))


class _Base(ast.NodeTransformer):
    """Leaves match patterns alone: they only allow literals and dotted names."""

    def visit_match_case(self, node):
        if node.guard is not None:
            node.guard = self.visit(node.guard)
        body = []
        for stmt in node.body:
            new = self.visit(stmt)
            body += new if isinstance(new, list) else [new] if new is not None else []
        node.body = body
        return node


class _Scoped(_Base):
    """Tracks the kind of each enclosing scope: 'class', 'func' or 'comp'."""

    def __init__(self):
        self.scopes = []

    def _nearest(self):
        for kind in reversed(self.scopes):
            if kind != "comp":
                return kind
        return "module"

    def _enter(self, kind, node):
        self.scopes.append(kind)
        try:
            return self.generic_visit(node)
        finally:
            self.scopes.pop()

    def visit_ClassDef(self, node):
        return self._enter("class", node)

    def visit_FunctionDef(self, node):
        return self._enter("func", node)

    visit_AsyncFunctionDef = visit_Lambda = visit_FunctionDef

    def _comp_visit(self, node):
        return self._enter("comp", node)


def _method_calls(**helpers):
    """Rewrites ``X.name(...)`` into ``helper(X, ...)``; the helper falls back to the real method when X
    is not of the built-in type the fault belongs to."""

    class MethodCalls(_Base):
        def visit_Call(self, node):
            self.generic_visit(node)
            func = node.func
            if isinstance(func, ast.Attribute) and func.attr in helpers:
                new = ast.Call(func=_name(helpers[func.attr]), args=[func.value, *node.args],
                               keywords=node.keywords)
                return ast.copy_location(new, node)
            return node

    return MethodCalls


def _name_calls(helper: str, name: str):
    """Rewrites calls of the builtin ``name`` (a type a prelude must not shadow) into ``helper(...)``."""

    class NameCalls(_Base):
        def visit_Call(self, node):
            self.generic_visit(node)
            if isinstance(node.func, ast.Name) and node.func.id == name:
                new = ast.Call(func=_name(helper), args=node.args, keywords=node.keywords)
                return ast.copy_location(new, node)
            return node

    return NameCalls


_SYMBOLS = {ast.Lt: "<", ast.Gt: ">", ast.LtE: "<=", ast.GtE: ">=", ast.Eq: "==", ast.NotEq: "!=",
            ast.In: "in", ast.NotIn: "not in"}


def _compares(helper: str, *ops):
    """Rewrites a single (unchained) comparison ``a OP b`` with OP in ``ops`` into ``helper(a, b, 'OP')``."""

    class Compares(_Base):
        def visit_Compare(self, node):
            self.generic_visit(node)
            if len(node.ops) == 1 and isinstance(node.ops[0], ops):
                symbol = _const(_SYMBOLS[type(node.ops[0])])
                return ast.copy_location(_call(helper, node.left, node.comparators[0], symbol), node)
            return node

    return Compares


def _binops(helper: str, op):
    class BinOps(_Base):
        def visit_BinOp(self, node):
            self.generic_visit(node)
            if isinstance(node.op, op):
                return ast.copy_location(_call(helper, node.left, node.right), node)
            return node

    return BinOps


# Marks the program's own classes, for helpers that must not touch library classes.
_USER = r'''
import builtins as B
from types import FunctionType
_CLASSES = {}
def __tf_mark__(cls):
    _CLASSES[B.id(cls)] = cls
    return cls
def _registered(k):
    return _CLASSES.get(B.id(k)) is k
def _is_user(t):
    return B.any(_registered(k) for k in t.__mro__)
'''


class _MarkClasses(_Base):
    def visit_ClassDef(self, node):
        self.generic_visit(node)
        node.decorator_list.append(_name("__tf_mark__"))
        return node


# The str()/repr()/print() engine: reimplements the repr of the built-in containers so that a fault in
# how a leaf type (float, bool, None, str) or a nesting level is printed shows wherever it is printed.
_ENGINE = r'''
import builtins as B
HOOKS = {}            # exact type -> f(x, as_str) -> text, or None for the real one
OBJECT_HOOK = None    # the same, for any other object
NESTED_STR = False    # a container's repr formats its elements with str() (and its str with repr())
CONTAINERS = (list, tuple, dict, set, frozenset)
RECURSION = {list: '[...]', dict: '{...}', tuple: '(...)'}

def leaf(x, as_str):
    hook = HOOKS.get(type(x), OBJECT_HOOK)
    return None if hook is None else hook(x, as_str)

def text(x, as_str, active=None):
    t = type(x)
    if t not in CONTAINERS:
        s = leaf(x, as_str)
        if s is not None:
            return s
        return B.str(x) if as_str else B.repr(x)
    active = set() if active is None else active
    if id(x) in active:
        return RECURSION.get(t, '...')
    active.add(id(x))
    try:
        nested = (not as_str) if NESTED_STR else False
        el = lambda v: text(v, nested, active)
        if t is dict:
            return '{' + ', '.join(el(k) + ': ' + el(v) for k, v in x.items()) + '}'
        body = ', '.join(el(v) for v in x)
        if t is list:
            return '[' + body + ']'
        if t is tuple:
            return '(' + body + (',)' if len(x) == 1 else ')')
        if not x:
            return t.__name__ + '()'
        return '{' + body + '}' if t is set else 'frozenset({' + body + '})'
    finally:
        active.discard(id(x))

def repr(obj):
    return text(obj, False)

__tf_repr__ = repr

def __tf_str__(obj):
    return text(obj, True)

def __tf_fstr__(obj):
    if type(obj) in CONTAINERS or leaf(obj, True) is not None:
        return text(obj, True)
    return obj

def print(*args, sep=' ', end='\n', file=None, flush=False):
    B.print(*[a if type(a) is str else text(a, True) for a in args], sep=sep, end=end, file=file, flush=flush)
'''


def _engine(config: str) -> str:
    return _prelude(_ENGINE + config, "print", "repr", "__tf_str__", "__tf_repr__", "__tf_fstr__")


class _EngineCalls(_Base):
    """Routes str(x) and f-string fields through the engine (print and repr are shadowed by its prelude)."""

    def visit_Call(self, node):
        self.generic_visit(node)
        f, args = node.func, node.args
        if (isinstance(f, ast.Name) and f.id == "str" and len(args) == 1 and not node.keywords
                and not isinstance(args[0], ast.Starred)):
            return ast.copy_location(_call("__tf_str__", args[0]), node)
        return node

    def visit_FormattedValue(self, node):
        self.generic_visit(node)
        if node.conversion == ord("r"):
            node.value, node.conversion = _call("__tf_repr__", node.value), -1
        elif node.conversion == ord("s"):
            node.value, node.conversion = _call("__tf_str__", node.value), -1
        elif node.conversion == -1 and node.format_spec is None:
            node.value = _call("__tf_fstr__", node.value)
        return node


# ---------------------------------------------------------------------------------------------------
# functions


_MUTABLE_DISPLAYS = (ast.List, ast.Dict, ast.Set, ast.ListComp, ast.DictComp, ast.SetComp)


class _DefaultsPerCall(_Base):
    """A mutable display default ([], {}, set comprehension...) is rebuilt on every call."""

    def visit_FunctionDef(self, node):
        self.generic_visit(node)
        a = node.args
        positional = a.posonlyargs + a.args
        first = len(positional) - len(a.defaults)
        slots = [(positional[first + i], a.defaults, i) for i in range(len(a.defaults))]
        slots += [(p, a.kw_defaults, i) for i, p in enumerate(a.kwonlyargs)]
        fresh = []
        for param, defaults, i in slots:
            if isinstance(defaults[i], _MUTABLE_DISPLAYS):
                fresh.append(ast.If(
                    test=ast.Compare(left=_name(param.arg), ops=[ast.Is()],
                                     comparators=[_name("__tf_unset__")]),
                    body=[ast.Assign(targets=[_store(param.arg)], value=defaults[i])], orelse=[]))
                defaults[i] = _name("__tf_unset__")
        _insert_at_start(node, fresh)
        return node

    visit_AsyncFunctionDef = visit_FunctionDef


class _KeywordsPositional(_Base):
    """f(b=1, a=2) for a program's own plain def f(a, b) becomes f(1, 2)."""

    def visit_Module(self, node):
        self.signatures = {}
        for n in ast.walk(node):
            if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                plain = (isinstance(n, ast.FunctionDef) and not n.decorator_list
                         and n.name not in self.signatures)
                self.signatures[n.name] = [p.arg for p in n.args.args] if plain else None
        return self.generic_visit(node)

    def visit_Call(self, node):
        self.generic_visit(node)
        params = isinstance(node.func, ast.Name) and getattr(self, "signatures", {}).get(node.func.id)
        if (params and node.keywords and all(k.arg in params for k in node.keywords)
                and not any(isinstance(a, ast.Starred) for a in node.args)):
            node.args = node.args + [k.value for k in node.keywords]
            node.keywords = []
        return node


class _PosonlyAsKeyword(_Base):
    def visit_FunctionDef(self, node):
        self.generic_visit(node)
        node.args.args = node.args.posonlyargs + node.args.args
        node.args.posonlyargs = []
        return node

    visit_AsyncFunctionDef = visit_Lambda = visit_FunctionDef


class _VarargsReversed(_Base):
    def visit_FunctionDef(self, node):
        self.generic_visit(node)
        if node.args.vararg is not None:
            v = node.args.vararg.arg
            reverse = ast.Subscript(value=_name(v), slice=ast.Slice(step=_const(-1)), ctx=ast.Load())
            _insert_at_start(node, [ast.Assign(targets=[_store(v)], value=reverse)])
        return node

    visit_AsyncFunctionDef = visit_FunctionDef


class _KwargsSorted(_Base):
    def visit_FunctionDef(self, node):
        self.generic_visit(node)
        if node.args.kwarg is not None:
            k = node.args.kwarg.arg
            packed = _call("__tf_sorted_kwargs__", _name(k))
            _insert_at_start(node, [ast.Assign(targets=[_store(k)], value=packed)])
        return node

    visit_AsyncFunctionDef = visit_FunctionDef


class _CaptureByValue(_Base):
    """A function or lambda nested in a function or comprehension gets each free variable of the enclosing
    scopes as a keyword-only parameter defaulting to its value at definition (``lambda: i`` becomes
    ``lambda *, i=i: i``). Names bound by def/class, and the names the defining assignment binds (a lambda
    that calls itself), are left as closures; so are methods."""

    def __init__(self):
        self.scopes = []  # per enclosing scope: the names a closure could capture, or None for a class
        self.assigned = set()

    def _capturable(self):
        if not self.scopes or self.scopes[-1] is None:
            return set()
        return set().union(*(s for s in self.scopes if s is not None)) - self.assigned

    def visit_Assign(self, node):
        saved = self.assigned
        self.assigned = saved | set().union(*(_target_names(t) for t in node.targets))
        try:
            return self.generic_visit(node)
        finally:
            self.assigned = saved

    def visit_ClassDef(self, node):
        self.scopes.append(None)
        try:
            return self.generic_visit(node)
        finally:
            self.scopes.pop()

    def visit_FunctionDef(self, node):
        outer = self._capturable()
        defs = {n.name for n in _scope_walk(node.body if isinstance(node.body, list) else [node.body])
                if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}
        self.scopes.append(_bound_in(node) - defs - _declared(node, ast.Global))
        saved, self.assigned = self.assigned, set()
        try:
            self.generic_visit(node)
        finally:
            self.scopes.pop()
            self.assigned = saved
        capture = (_free(node) & outer) - _declared(node, ast.Nonlocal) - _params(node)
        for name in sorted(capture):
            node.args.kwonlyargs.append(ast.arg(arg=name))
            node.args.kw_defaults.append(_name(name))
        return node

    visit_AsyncFunctionDef = visit_Lambda = visit_FunctionDef

    def _comp(self, node):
        first = node.generators[0]
        first.iter = self.visit(first.iter)
        self.scopes.append(set().union(*(_target_names(g.target) for g in node.generators)))
        try:
            for g in node.generators:
                g.ifs = [self.visit(c) for c in g.ifs]
                if g is not first:
                    g.iter = self.visit(g.iter)
            for field in ("elt", "key", "value"):
                if hasattr(node, field):
                    setattr(node, field, self.visit(getattr(node, field)))
        finally:
            self.scopes.pop()
        return node

    visit_ListComp = visit_SetComp = visit_DictComp = visit_GeneratorExp = _comp


class _RecursionLimit(_Base):
    def visit_FunctionDef(self, node):
        self.generic_visit(node)
        if not _is_generator(node):
            at = _after_docstring(node.body)
            guarded = ast.Try(body=node.body[at:] or [ast.Pass()], handlers=[], orelse=[],
                              finalbody=[ast.Expr(_call("__tf_leave__"))])
            node.body = node.body[:at] + [ast.Expr(_call("__tf_enter__")), guarded]
        return node


class _OwnReturns(_Base):
    """``return v`` in this function (not nested ones) becomes ``v; return``."""

    def visit_FunctionDef(self, node):
        return node

    visit_AsyncFunctionDef = visit_Lambda = visit_ClassDef = visit_FunctionDef

    def visit_Return(self, node):
        if node.value is None:
            return node
        return [ast.Expr(node.value), ast.Return(value=None)]


class _GeneratorReturnLost(_Base):
    def visit_FunctionDef(self, node):
        self.generic_visit(node)
        if _is_generator(node):
            _OwnReturns().generic_visit(node)
        return node


class _YieldFromNextOnly(_Base):
    def visit_YieldFrom(self, node):
        self.generic_visit(node)
        node.value = _call("__tf_yield_from__", node.value)
        return node


class _StopIterationEndsGenerator(_Base):
    def visit_FunctionDef(self, node):
        self.generic_visit(node)
        if _is_generator(node):
            at = _after_docstring(node.body)
            handler = ast.ExceptHandler(type=_name("StopIteration"), name=None, body=[ast.Return(value=None)])
            guarded = ast.Try(body=node.body[at:], handlers=[handler], orelse=[], finalbody=[])
            node.body = node.body[:at] + [guarded]
        return node


_FUNCTIONS = [
    Mutant(
        "default-rebuilt-per-call", "functions",
        "a mutable default ([], {}, a display) is evaluated anew on each call instead of once at def",
        REF + "compound_stmts.html#function-definitions",
        transform=_DefaultsPerCall, prelude="__tf_unset__ = object()\n",
    ),
    Mutant(
        "keywords-bound-positionally", "functions",
        "keyword arguments to a plain def are bound in the order written, as if positional",
        REF + "expressions.html#calls",
        transform=_KeywordsPositional,
    ),
    Mutant(
        "posonly-accepts-keywords", "functions",
        "parameters before / can also be passed by keyword",
        "https://docs.python.org/3/glossary.html#term-parameter",
        transform=_PosonlyAsKeyword,
    ),
    Mutant(
        "varargs-packed-reversed", "functions",
        "extra positional arguments are packed into *args in reverse order",
        REF + "compound_stmts.html#function-definitions",
        transform=_VarargsReversed,
    ),
    Mutant(
        "kwargs-packed-sorted", "functions",
        "**kwargs holds the extra keyword arguments sorted by name, not in call order",
        REF + "expressions.html#calls",
        transform=_KwargsSorted,
        prelude=_prelude("def __tf_sorted_kwargs__(kw):\n    return dict(sorted(kw.items()))\n",
                         "__tf_sorted_kwargs__"),
    ),
    Mutant(
        "closure-captures-value", "functions",
        "a nested function or lambda captures its free variables' values at definition (no late binding)",
        REF + "executionmodel.html#resolution-of-names",
        transform=_CaptureByValue,
    ),
    Mutant(
        "recursion-limit-50", "functions",
        "calls nested more than 50 deep raise RecursionError (CPython allows about 1000)",
        LIB + "sys.html#sys.getrecursionlimit",
        transform=_RecursionLimit,
        prelude=_prelude(
            "depth = [0]\n"
            "def __tf_enter__():\n"
            "    depth[0] += 1\n"
            "    if depth[0] > 50:\n"
            "        depth[0] -= 1\n"
            "        raise RecursionError('maximum recursion depth exceeded')\n"
            "def __tf_leave__():\n"
            "    depth[0] -= 1\n",
            "__tf_enter__", "__tf_leave__"),
    ),
    Mutant(
        "generator-send-ignored", "functions",
        "generator.send(v) resumes the generator like next(), so the yield expression gives None",
        REF + "expressions.html#generator.send",
        transform=_method_calls(send="__tf_send__"),
        prelude=_prelude(
            "from types import GeneratorType\n"
            "def __tf_send__(self, *a, **k):\n"
            "    if type(self) is GeneratorType and len(a) == 1 and not k:\n"
            "        return next(self)\n"
            "    return self.send(*a, **k)\n",
            "__tf_send__"),
    ),
    Mutant(
        "generator-return-value-lost", "functions",
        "return v in a generator ends it with StopIteration.value None (yield from gives None)",
        REF + "expressions.html#yield-expressions",
        transform=_GeneratorReturnLost,
    ),
    Mutant(
        "yield-from-next-only", "functions",
        "yield from forwards only next(): values passed with send() reach the subgenerator as None",
        REF + "expressions.html#yield-expressions",
        transform=_YieldFromNextOnly,
        prelude=_prelude(
            "def __tf_yield_from__(iterable):\n"
            "    it = iter(iterable)\n"
            "    while True:\n"
            "        try:\n"
            "            value = next(it)\n"
            "        except StopIteration as stop:\n"
            "            return stop.value\n"
            "        yield value\n",
            "__tf_yield_from__"),
    ),
    Mutant(
        "stopiteration-ends-generator", "functions",
        "a StopIteration escaping a generator's body quietly ends it, not a RuntimeError (PEP 479)",
        LIB + "exceptions.html#StopIteration",
        transform=_StopIterationEndsGenerator,
    ),
]


# ---------------------------------------------------------------------------------------------------
# classes


class _ClassAttrFirst(_MarkClasses):
    def visit_Attribute(self, node):
        self.generic_visit(node)
        if isinstance(node.ctx, ast.Load) and not _private(node.attr):
            return ast.copy_location(_call("__tf_getattr__", node.value, _const(node.attr)), node)
        return node


class _InstanceAssignWritesClass(_MarkClasses):
    def visit_Assign(self, node):
        self.generic_visit(node)
        target = node.targets[0]
        if len(node.targets) == 1 and isinstance(target, ast.Attribute) and not _private(target.attr):
            # arguments in CPython's order: the value first, then the target's object
            call = _call("__tf_setattr__", node.value, target.value, _const(target.attr))
            return ast.copy_location(ast.Expr(call), node)
        return node


class _MroDepthFirst(_Base):
    def visit_ClassDef(self, node):
        self.generic_visit(node)
        if len(node.bases) >= 2:
            node.decorator_list.append(_name("__tf_dfs__"))
        return node


class _SuperFirstBase(_Base):
    """Zero-argument super() in a method becomes __tf_super__(__class__, first_parameter)."""

    def __init__(self):
        self.scopes = []  # ('class', None), ('method', first parameter) or ('other', None)

    def _enter(self, entry, node):
        self.scopes.append(entry)
        try:
            return self.generic_visit(node)
        finally:
            self.scopes.pop()

    def visit_ClassDef(self, node):
        return self._enter(("class", None), node)

    def visit_FunctionDef(self, node):
        params = node.args.posonlyargs + node.args.args
        in_class = bool(self.scopes) and self.scopes[-1][0] == "class"
        return self._enter(("method", params[0].arg) if in_class and params else ("other", None), node)

    visit_AsyncFunctionDef = visit_FunctionDef

    def _other(self, node):
        return self._enter(("other", None), node)

    visit_Lambda = visit_ListComp = visit_SetComp = visit_DictComp = visit_GeneratorExp = _other

    def visit_Call(self, node):
        self.generic_visit(node)
        f = node.func
        if (isinstance(f, ast.Name) and f.id == "super" and not node.args and not node.keywords
                and self.scopes and self.scopes[-1][0] == "method"):
            new = _call("__tf_super__", _name("__class__"), _name(self.scopes[-1][1]))
            return ast.copy_location(new, node)
        return node


class _IaddAsAdd(_Base):
    """``t += v`` becomes ``t = t + v`` where t's parts are plain names (so evaluating them twice is
    harmless)."""

    def visit_AugAssign(self, node):
        self.generic_visit(node)
        target = node.target
        plain = all(isinstance(n, (ast.Name, ast.Constant, ast.Attribute, ast.Subscript, ast.Load, ast.Store,
                                   ast.Slice)) for n in ast.walk(target))
        if not isinstance(node.op, ast.Add) or not plain:
            return node
        load = ast.parse(ast.unparse(target), mode="eval").body
        new = ast.Assign(targets=[target], value=ast.BinOp(left=load, op=ast.Add(), right=node.value))
        return ast.copy_location(new, node)


class _TruthIgnoresLen(_Base):
    def _wrap(self, expr):
        return _call("__tf_truth__", expr)

    def visit_If(self, node):
        self.generic_visit(node)
        node.test = self._wrap(node.test)
        return node

    visit_While = visit_IfExp = visit_Assert = visit_If

    def visit_UnaryOp(self, node):
        self.generic_visit(node)
        if isinstance(node.op, ast.Not):
            node.operand = self._wrap(node.operand)
        return node

    def visit_comprehension(self, node):
        self.generic_visit(node)
        node.ifs = [self._wrap(c) for c in node.ifs]
        return node

    def visit_Call(self, node):
        self.generic_visit(node)
        if (isinstance(node.func, ast.Name) and node.func.id == "bool" and len(node.args) == 1
                and not node.keywords and not isinstance(node.args[0], ast.Starred)):
            return ast.copy_location(_call("bool", self._wrap(node.args[0])), node)
        return node


class _IterNeedsIter(_Base):
    def visit_For(self, node):
        self.generic_visit(node)
        node.iter = _call("__tf_iter__", node.iter)
        return node

    visit_comprehension = visit_For


_CLASSES = [
    Mutant(
        "class-attr-shadows-instance", "classes",
        "attribute lookup finds a class attribute before an instance attribute of the same name",
        "https://docs.python.org/3/tutorial/classes.html#class-and-instance-variables",
        transform=_ClassAttrFirst,
        prelude=_prelude(_USER + r'''
def __tf_getattr__(obj, name):
    t = type(obj)
    if _is_user(t):
        d = getattr(obj, '__dict__', None)
        if type(d) is dict and name in d:
            for k in t.__mro__:
                if name in k.__dict__:
                    v = k.__dict__[name]
                    get = getattr(type(v), '__get__', None)
                    return v if get is None else get(v, obj, t)
    return getattr(obj, name)
''', "__tf_mark__", "__tf_getattr__"),
    ),
    Mutant(
        "instance-assign-writes-class", "classes",
        "assigning obj.name where only the class has a plain attribute `name` rebinds the class attribute",
        "https://docs.python.org/3/tutorial/classes.html#class-and-instance-variables",
        transform=_InstanceAssignWritesClass,
        prelude=_prelude(_USER + r'''
def __tf_setattr__(value, obj, name):
    t = type(obj)
    if _is_user(t):
        d = getattr(obj, '__dict__', None)
        if type(d) is dict and name not in d:
            for k in t.__mro__:
                if name in k.__dict__:
                    v = k.__dict__[name]
                    if _registered(k) and not hasattr(type(v), '__get__') and not hasattr(type(v), '__set__'):
                        setattr(k, name, value)
                        return
                    break
    setattr(obj, name, value)
''', "__tf_mark__", "__tf_setattr__"),
    ),
    Mutant(
        "mro-depth-first", "classes",
        "multiple inheritance resolves methods depth-first, left to right (classic MRO) instead of C3",
        "https://docs.python.org/3/glossary.html#term-method-resolution-order",
        transform=_MroDepthFirst,
        prelude=_prelude(r'''
_SKIP = {'__dict__', '__weakref__', '__module__', '__doc__', '__qualname__', '__slots__',
         '__annotations__', '__orig_bases__', '__abstractmethods__', '__parameters__',
         '__firstlineno__', '__static_attributes__'}
def __tf_dfs__(cls):
    order = []
    def walk(k):
        if k is object or any(k is o for o in order):
            return
        order.append(k)
        for b in k.__bases__:
            walk(b)
    walk(cls)
    order.append(object)
    for name in {n for k in order for n in k.__dict__} - _SKIP:
        if name in cls.__dict__:
            continue
        first = next(k for k in order if name in k.__dict__)
        c3 = next((k for k in cls.__mro__ if name in k.__dict__), None)
        if first is not c3:
            try:
                setattr(cls, name, first.__dict__[name])
            except (AttributeError, TypeError):
                pass
    return cls
''', "__tf_dfs__"),
    ),
    Mutant(
        "super-uses-first-base", "classes",
        "super() looks in the defining class's first base instead of the next class in the instance's MRO",
        LIB + "functions.html#super",
        transform=_SuperFirstBase,
        prelude=_prelude(r'''
class _BaseProxy:
    def __init__(self, base, obj):
        object.__setattr__(self, '_tf', (base, obj))
    def __getattribute__(self, name):
        base, obj = object.__getattribute__(self, '_tf')
        for k in base.__mro__:
            if name in k.__dict__:
                v = k.__dict__[name]
                get = getattr(type(v), '__get__', None)
                if get is None:
                    return v
                return get(v, obj, type(obj)) if isinstance(obj, base) else get(v, None, obj)
        raise AttributeError(f"'super' object has no attribute '{name}'")
def __tf_super__(cls, obj):
    return _BaseProxy(cls.__bases__[0], obj)
''', "__tf_super__"),
    ),
    Mutant(
        "ne-ignores-eq", "classes",
        "!= on a class defining __eq__ but not __ne__ compares identity instead of inverting __eq__",
        REF + "datamodel.html#object.__ne__",
        transform=_compares("__tf_ne__", ast.NotEq),
        prelude=_prelude(r'''
from types import FunctionType
def __tf_ne__(a, b, op):
    t = type(a)
    if t.__ne__ is object.__ne__ and isinstance(getattr(t, '__eq__', None), FunctionType):
        return a is not b
    return a != b
''', "__tf_ne__"),
    ),
    Mutant(
        "radd-not-tried", "classes",
        "a + b does not fall back to b.__radd__ when a cannot add b",
        REF + "datamodel.html#object.__radd__",
        transform=_binops("__tf_add__", ast.Add),
        prelude=_prelude(r'''
from types import FunctionType
def __tf_add__(a, b):
    ta, tb = type(a), type(b)
    if ta is not tb and isinstance(getattr(tb, '__radd__', None), FunctionType):
        f = getattr(ta, '__add__', None)
        r = NotImplemented if f is None else f(a, b)
        if r is NotImplemented:
            raise TypeError(f"unsupported operand type(s) for +: '{ta.__name__}' and '{tb.__name__}'")
        return r
    return a + b
''', "__tf_add__"),
    ),
    Mutant(
        "iadd-uses-add", "classes",
        "x += y ignores __iadd__ and rebinds x to x + y, so other references to a list do not change",
        REF + "datamodel.html#object.__iadd__",
        transform=_IaddAsAdd,
    ),
    Mutant(
        "truth-ignores-len", "classes",
        "an object whose class defines __len__ but not __bool__ is always true",
        REF + "datamodel.html#object.__bool__",
        transform=_TruthIgnoresLen,
        prelude=_prelude(r'''
from types import FunctionType
def __tf_truth__(x):
    t = type(x)
    if getattr(t, '__bool__', None) is None and isinstance(getattr(t, '__len__', None), FunctionType):
        return True
    return x
''', "__tf_truth__"),
    ),
    Mutant(
        "str-uses-repr", "classes",
        "str() and print() of an object whose class defines both __str__ and __repr__ use __repr__",
        REF + "datamodel.html#object.__str__",
        transform=_EngineCalls,
        prelude=_engine(r'''
from types import FunctionType
def _owner(t, name):
    return next(k for k in t.__mro__ if name in k.__dict__)
def _str_as_repr(x, as_str):
    t = type(x)
    if as_str and all(isinstance(_owner(t, n).__dict__[n], FunctionType) for n in ('__str__', '__repr__')):
        return B.repr(x)
    return None
OBJECT_HOOK = _str_as_repr
'''),
    ),
    Mutant(
        "property-getter-cached", "classes",
        "a property's getter runs once per instance; later reads return the first value",
        LIB + "functions.html#property",
        prelude=_prelude(r'''
import builtins as B
_CACHE = {}
class property(B.property):
    def __get__(self, obj, objtype=None):
        if obj is None:
            return B.property.__get__(self, obj, objtype)
        key = (id(self), id(obj))
        if key not in _CACHE:
            _CACHE[key] = (obj, B.property.__get__(self, obj, objtype))  # holds obj so its id stays unique
        return _CACHE[key][1]
''', "property"),
    ),
    Mutant(
        "getitem-not-iterable", "classes",
        "for loops over an object with __getitem__ but no __iter__ raise TypeError (no sequence protocol)",
        REF + "datamodel.html#object.__getitem__",
        transform=_IterNeedsIter,
        prelude=_prelude(r'''
from types import FunctionType
def __tf_iter__(x):
    t = type(x)
    if getattr(t, '__iter__', None) is None and isinstance(getattr(t, '__getitem__', None), FunctionType):
        raise TypeError(f"'{t.__name__}' object is not iterable")
    return x
''', "__tf_iter__"),
    ),
    Mutant(
        "contains-ignored", "classes",
        "x in obj ignores obj's __contains__ and searches by iterating obj",
        REF + "datamodel.html#object.__contains__",
        transform=_compares("__tf_in__", ast.In, ast.NotIn),
        prelude=_prelude(r'''
from types import FunctionType
def __tf_in__(a, b, op):
    if isinstance(getattr(type(b), '__contains__', None), FunctionType):
        found = any(v is a or v == a for v in b)
    else:
        found = a in b
    return found if op == 'in' else not found
''', "__tf_in__"),
    ),
    Mutant(
        "comparison-not-reflected", "classes",
        "a > b does not fall back to b.__lt__(a) (nor < to __gt__, <= to __ge__, >= to __le__)",
        REF + "datamodel.html#object.__lt__",
        transform=_compares("__tf_order__", ast.Lt, ast.Gt, ast.LtE, ast.GtE),
        prelude=_prelude(r'''
import operator
from types import FunctionType
_OPS = {'<': operator.lt, '>': operator.gt, '<=': operator.le, '>=': operator.ge}
_NAME = {'<': '__lt__', '>': '__gt__', '<=': '__le__', '>=': '__ge__'}
_REFLECTED = {'<': '__gt__', '>': '__lt__', '<=': '__ge__', '>=': '__le__'}
def __tf_order__(a, b, op):
    ta, tb = type(a), type(b)
    if (isinstance(getattr(ta, _NAME[op], None), FunctionType)
            or isinstance(getattr(tb, _REFLECTED[op], None), FunctionType)):
        r = getattr(ta, _NAME[op])(a, b)
        if r is NotImplemented:
            raise TypeError(f"'{op}' not supported between instances of '{ta.__name__}' and '{tb.__name__}'")
        return r
    return _OPS[op](a, b)
''', "__tf_order__"),
    ),
]


# ---------------------------------------------------------------------------------------------------
# comprehensions


class _ListCompLeaks(_Scoped):
    """Python 2's list comprehension: ``[e for x in xs]`` binds x in the enclosing scope. The loop
    variable is renamed and copied out with a walrus (``if ((x := __tf_leak0__),)``), which Python
    forbids in class bodies, in comprehension iterables and for an enclosing comprehension's variables."""

    def __init__(self):
        super().__init__()
        self.in_iter = 0
        self.comp_targets = []

    def _enter(self, kind, node):
        saved, self.in_iter = self.in_iter, 0
        try:
            return super()._enter(kind, node)
        finally:
            self.in_iter = saved

    def _comp_visit(self, node):
        targets = [g.target.id if isinstance(g.target, ast.Name) else None for g in node.generators]
        for g in node.generators:
            self.in_iter += 1
            g.iter = self.visit(g.iter)
            self.in_iter -= 1
        self.scopes.append("comp")
        self.comp_targets.append(set(targets))
        try:
            for g in node.generators:
                g.ifs = [self.visit(c) for c in g.ifs]
            for field in ("elt", "key", "value"):
                if hasattr(node, field):
                    setattr(node, field, self.visit(getattr(node, field)))
        finally:
            self.scopes.pop()
            self.comp_targets.pop()
        enclosing = set().union(*self.comp_targets)
        if (isinstance(node, ast.ListComp) and None not in targets and len(set(targets)) == len(targets)
                and not enclosing & set(targets) and self.in_iter == 0 and self._nearest() != "class"
                and not any(g.is_async for g in node.generators)):
            for i, g in enumerate(node.generators):
                hidden = f"__tf_leak{i}__"
                leak = ast.NamedExpr(target=_store(g.target.id), value=_name(hidden))
                g.target = _store(hidden)
                g.ifs.insert(0, ast.Tuple(elts=[leak], ctx=ast.Load()))  # a 1-tuple is always true
        return node

    visit_ListComp = visit_SetComp = visit_DictComp = visit_GeneratorExp = _comp_visit


class _ReversedClauses(_Scoped):
    def _comp_visit(self, node):
        in_class = self._nearest() == "class"
        node = self._enter("comp", node)
        gens = node.generators
        if len(gens) < 2 or in_class or any(g.is_async for g in gens):
            return node
        targets = set().union(*(_target_names(g.target) for g in gens))
        if any(n.id in targets for g in gens for n in ast.walk(g.iter) if isinstance(n, ast.Name)):
            return node
        ifs = [c for g in gens for c in g.ifs]
        node.generators = [ast.comprehension(target=g.target, iter=g.iter, ifs=[], is_async=0)
                           for g in reversed(gens)]
        node.generators[-1].ifs = ifs  # filters run once every loop variable is bound
        return node

    visit_ListComp = visit_SetComp = visit_DictComp = visit_GeneratorExp = _comp_visit


class _ElementBeforeFilter(_Base):
    def _comp(self, node):
        self.generic_visit(node)
        last = node.generators[-1]
        # a walrus may not move into an iterable; nor may it in the dict comprehension below
        if last.ifs and not last.is_async and not _has_walrus(node.elt):
            once = ast.Tuple(elts=[node.elt], ctx=ast.Load())
            element = ast.comprehension(target=_store("__tf_elt__"), iter=once, ifs=last.ifs, is_async=0)
            last.ifs = []
            node.generators.append(element)
            node.elt = _name("__tf_elt__")
        return node

    visit_ListComp = visit_SetComp = visit_GeneratorExp = _comp


class _DictValueFirst(_Base):
    def visit_DictComp(self, node):
        self.generic_visit(node)
        if _has_walrus(node.key) or _has_walrus(node.value):
            return node
        pair = ast.Tuple(elts=[_store("__tf_dv__"), _store("__tf_dk__")], ctx=ast.Store())
        values = ast.Tuple(elts=[ast.Tuple(elts=[node.value, node.key], ctx=ast.Load())], ctx=ast.Load())
        node.generators.append(ast.comprehension(target=pair, iter=values, ifs=[], is_async=0))
        node.key, node.value = _name("__tf_dk__"), _name("__tf_dv__")
        return node


class _DictFirstKeyWins(_Base):
    def visit_DictComp(self, node):
        self.generic_visit(node)
        if any(g.is_async for g in node.generators):
            return node
        pair = ast.Tuple(elts=[node.key, node.value], ctx=ast.Load())
        pairs = ast.GeneratorExp(elt=pair, generators=node.generators)
        return ast.copy_location(_call("__tf_dict_first__", pairs), node)


class _GenexpEager(_Base):
    def visit_GeneratorExp(self, node):
        self.generic_visit(node)
        if any(g.is_async for g in node.generators):
            return node
        return ast.copy_location(_call("iter", ast.ListComp(elt=node.elt, generators=node.generators)), node)


class _GenexpLateIterable(_Scoped):
    def visit_GeneratorExp(self, node):
        in_class = self._nearest() == "class"
        node = self._enter("comp", node)
        first = node.generators[0]
        awkward = (ast.Yield, ast.YieldFrom, ast.Await, ast.NamedExpr)
        if (in_class or any(g.is_async for g in node.generators)
                or any(isinstance(n, awkward) for n in ast.walk(first.iter))):
            return node
        no_args = ast.arguments(posonlyargs=[], args=[], vararg=None, kwonlyargs=[], kw_defaults=[], kwarg=None,
                                defaults=[])
        first.iter = _call("__tf_late__", ast.Lambda(args=no_args, body=first.iter))
        return node

    visit_ListComp = visit_SetComp = visit_DictComp = _Scoped._comp_visit


class _OnlyLastIf(_Base):
    def visit_comprehension(self, node):
        self.generic_visit(node)
        node.ifs = node.ifs[-1:]
        return node


_COMPREHENSIONS = [
    Mutant(
        "listcomp-variable-leaks", "comprehensions",
        "a list comprehension's loop variable is bound in the enclosing scope, as in Python 2",
        REF + "expressions.html#displays-for-lists-sets-and-dictionaries",
        transform=_ListCompLeaks,
    ),
    Mutant(
        "comprehension-clauses-reversed", "comprehensions",
        "in a comprehension with several for clauses the last clause is the outermost loop",
        REF + "expressions.html#displays-for-lists-sets-and-dictionaries",
        transform=_ReversedClauses,
    ),
    Mutant(
        "element-before-filter", "comprehensions",
        "a comprehension evaluates its element expression before testing the last for clause's if conditions",
        REF + "expressions.html#displays-for-lists-sets-and-dictionaries",
        transform=_ElementBeforeFilter,
    ),
    Mutant(
        "dictcomp-value-before-key", "comprehensions",
        "a dict comprehension evaluates the value before the key (the order before Python 3.8)",
        REF + "expressions.html#dictionary-displays",
        transform=_DictValueFirst,
    ),
    Mutant(
        "dictcomp-first-key-wins", "comprehensions",
        "when a dict comprehension produces a key twice the first value is kept instead of the last",
        REF + "expressions.html#dictionary-displays",
        transform=_DictFirstKeyWins,
        prelude=_prelude(
            "def __tf_dict_first__(pairs):\n"
            "    d = {}\n"
            "    for k, v in pairs:\n"
            "        if k not in d:\n"
            "            d[k] = v\n"
            "    return d\n",
            "__tf_dict_first__"),
    ),
    Mutant(
        "genexp-eager", "comprehensions",
        "a generator expression computes all its items when created (a list in disguise), not lazily",
        REF + "expressions.html#generator-expressions",
        transform=_GenexpEager,
    ),
    Mutant(
        "genexp-iterable-late", "comprehensions",
        "a generator expression evaluates its first iterable at the first next(), not when created",
        REF + "expressions.html#generator-expressions",
        transform=_GenexpLateIterable,
        prelude=_prelude("def __tf_late__(make):\n    yield from make()\n", "__tf_late__"),
    ),
    Mutant(
        "comprehension-only-last-if", "comprehensions",
        "of several if clauses after one for clause only the last one filters",
        REF + "expressions.html#displays-for-lists-sets-and-dictionaries",
        transform=_OnlyLastIf,
    ),
]


# ---------------------------------------------------------------------------------------------------
# strings


class _NegativeStepSlices(_Base):
    def visit_Subscript(self, node):
        self.generic_visit(node)
        s = node.slice
        if isinstance(node.ctx, ast.Load) and isinstance(s, ast.Slice) and s.step is not None:
            bound = lambda e: e if e is not None else _const(None)
            new = _call("__tf_slice__", node.value, bound(s.lower), bound(s.upper), s.step)
            return ast.copy_location(new, node)
        return node


class _FormatSpecs(_Base):
    def visit_FormattedValue(self, node):
        self.generic_visit(node)
        if node.format_spec is not None and node.conversion == -1:
            node.value = _call("__tf_format_spec__", node.value, node.format_spec)
            node.format_spec = None
        return node


def _str_method(name: str, body: str) -> str:
    """A helper for str.name: ``body`` runs when the receiver is exactly a str (``self``, ``a``, ``k``)."""
    indented = "".join("        " + line + "\n" for line in body.strip("\n").splitlines())
    return (f"def __tf_{name}__(self, *a, **k):\n"
            f"    if type(self) is str:\n{indented}"
            f"    return self.{name}(*a, **k)\n")


def _str_mutant(ident, method, fault, anchor, body, extra=""):
    return Mutant(ident, "strings", fault, LIB + "stdtypes.html#" + anchor,
                  transform=_method_calls(**{method: f"__tf_{method}__"}),
                  prelude=_prelude(extra + _str_method(method, body), f"__tf_{method}__"))


_STRINGS = [
    _str_mutant(
        "split-default-is-space", "split",
        "str.split() with no separator splits on each single space, keeping empty strings",
        "str.split", """
sep = a[0] if a else k.get('sep')
if sep is None:
    rest = {n: v for n, v in k.items() if n != 'sep'}
    return self.split(' ', *a[1:], **rest)
"""),
    _str_mutant(
        "split-maxsplit-from-right", "split",
        "str.split with maxsplit counts the splits from the right end (like rsplit)",
        "str.split", """
if len(a) > 1 or 'maxsplit' in k:
    return self.rsplit(*a, **k)
"""),
    _str_mutant(
        "strip-chars-as-substring", "strip",
        "str.strip(chars) removes chars as a whole prefix/suffix string, not as a set of characters",
        "str.strip", """
if len(a) == 1 and not k and type(a[0]) is str:
    chars = a[0]
    while chars and self.startswith(chars):
        self = self[len(chars):]
    while chars and self.endswith(chars):
        self = self[:-len(chars)]
    return self
"""),
    _str_mutant(
        "replace-ignores-count", "replace",
        "str.replace(old, new, count) replaces every occurrence, ignoring count",
        "str.replace", """
if len(a) == 3 or (len(a) == 2 and 'count' in k):
    self.replace(*a, **k)  # the real method's errors
    return self.replace(a[0], a[1])
"""),
    _str_mutant(
        "str-index-returns-minus-one", "index",
        "str.index returns -1 for a missing substring instead of raising ValueError (it is str.find)",
        "str.index", """
return self.find(*a, **k)
"""),
    _str_mutant(
        "center-extra-pad-right", "center",
        "str.center always puts the odd padding character on the right (CPython: left when the width is odd)",
        "str.center", """
centred = self.center(*a, **k)
fill = a[1] if len(a) > 1 else ' '
margin = len(centred) - len(self)
return fill * (margin // 2) + self + fill * (margin - margin // 2)
"""),
    _str_mutant(
        "zfill-ignores-sign", "zfill",
        "str.zfill pads with zeros in front of a leading sign ('00-42' instead of '-0042')",
        "str.zfill", """
return '0' * (len(self.zfill(*a, **k)) - len(self)) + self
"""),
    _str_mutant(
        "title-splits-on-whitespace", "title",
        "str.title capitalizes whitespace-separated words only, so \"it's\" stays \"It's\" and 'a-b' 'A-b'",
        "str.title", """
if not a and not k:
    return re.sub(r'\\S+', lambda m: m.group()[:1].upper() + m.group()[1:].lower(), self)
""", extra="import re\n"),
    _str_mutant(
        "capitalize-keeps-rest", "capitalize",
        "str.capitalize upper-cases the first character but leaves the rest as it was",
        "str.capitalize", """
if not a and not k:
    return self[:1].upper() + self[1:]
"""),
    Mutant(
        "case-ascii-only", "strings",
        "str.upper and str.lower convert ASCII letters only ('é'.upper() stays 'é')",
        LIB + "stdtypes.html#str.upper",
        transform=_method_calls(upper="__tf_upper__", lower="__tf_lower__"),
        prelude=_prelude(
            _str_method("upper", "if not a and not k:\n"
                                 "    return ''.join(chr(ord(c) - 32) if 'a' <= c <= 'z' else c for c in self)")
            + _str_method("lower", "if not a and not k:\n"
                                   "    return ''.join(chr(ord(c) + 32) if 'A' <= c <= 'Z' else c for c in self)"),
            "__tf_upper__", "__tf_lower__"),
    ),
    Mutant(
        "startswith-rejects-tuple", "strings",
        "str.startswith and str.endswith reject a tuple of candidates with TypeError",
        LIB + "stdtypes.html#str.startswith",
        transform=_method_calls(startswith="__tf_startswith__", endswith="__tf_endswith__"),
        prelude=_prelude(
            _str_method("startswith", "if a and type(a[0]) is tuple:\n"
                                      "    raise TypeError('startswith first arg must be str, not tuple')")
            + _str_method("endswith", "if a and type(a[0]) is tuple:\n"
                                      "    raise TypeError('endswith first arg must be str, not tuple')"),
            "__tf_startswith__", "__tf_endswith__"),
    ),
    _str_mutant(
        "count-overlapping", "count",
        "str.count counts overlapping occurrences ('aaaa'.count('aa') is 3, not 2)",
        "str.count", """
if len(a) == 1 and not k and type(a[0]) is str and a[0]:
    n, i = 0, self.find(a[0])
    while i >= 0:
        n, i = n + 1, self.find(a[0], i + 1)
    return n
"""),
    _str_mutant(
        "join-stringifies", "join",
        "str.join converts non-string items with str() instead of raising TypeError",
        "str.join", """
if len(a) == 1 and not k:
    return self.join([x if isinstance(x, str) else str(x) for x in a[0]])
"""),
    Mutant(
        "negative-step-slice-swapped", "strings",
        "s[i:j:k] with k < 0 is taken as s[j:i] stepped backwards (off by one at both ends)",
        LIB + "stdtypes.html#common-sequence-operations",
        transform=_NegativeStepSlices,
        prelude=_prelude(
            "def __tf_slice__(obj, lower, upper, step):\n"
            "    if type(obj) is str and type(step) is int and step < 0:\n"
            "        return obj[upper:lower][::step]\n"
            "    return obj[lower:upper:step]\n",
            "__tf_slice__"),
    ),
    Mutant(
        "format-numbers-left-aligned", "strings",
        "a format spec with a width but no alignment left-aligns numbers too (f'{42:5}' is '42   ')",
        LIB + "string.html#format-specification-mini-language",
        transform=_FormatSpecs,
        prelude=_prelude(r'''
import builtins as B
import re
_WIDTH = re.compile(r'[-+ ]?z?#?[1-9]')
def format(value, format_spec=''):
    spec = format_spec
    if (type(value) in (int, float) and type(spec) is str and spec and spec[0] not in '<>=^'
            and not (len(spec) > 1 and spec[1] in '<>=^') and _WIDTH.match(spec)):
        spec = '<' + spec
    return B.format(value, spec)
__tf_format_spec__ = format
''', "format", "__tf_format_spec__"),
    ),
    Mutant(
        "percent-d-rounds", "strings",
        "'%d' % x with a float x rounds to nearest ('%d' % 2.7 is '3') instead of truncating",
        LIB + "stdtypes.html#printf-style-string-formatting",
        transform=_binops("__tf_mod__", ast.Mod),
        prelude=_prelude(r'''
import math
import re
_SPEC = re.compile(r'%(\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?[hlL]?([diouxXeEfFgGcrsa%])')
def __tf_mod__(left, right):
    if type(left) is not str:
        return left % right
    specs = _SPEC.findall(left)
    if any(key or width == '*' or precision == '*' for key, width, precision, _ in specs):
        return left % right
    conversions = [c for *_, c in specs if c != '%']
    args = right if type(right) is tuple else (right,)
    if len(conversions) != len(args):
        return left % right
    fixed = tuple(math.floor(v + 0.5) if c in 'diu' and type(v) is float and math.isfinite(v) else v
                  for c, v in zip(conversions, args))
    return left % (fixed if type(right) is tuple else fixed[0])
''', "__tf_mod__"),
    ),
    _str_mutant(
        "format-ignores-conversion", "format",
        "str.format ignores !r, !s and !a conversions ('{!r}'.format('a') gives a, not 'a')",
        "str.format", """
out = []
for literal, field, spec, _ in string.Formatter().parse(self):
    out.append(literal.replace('{', '{{').replace('}', '}}'))
    if field is not None:
        out.append('{' + field + (':' + spec if spec else '') + '}')
return ''.join(out).format(*a, **k)
""", extra="import string\n"),
    Mutant(
        "repr-always-single-quotes", "strings",
        "repr of a str always uses single quotes, escaping any inside (\"it's\" shows as 'it\\'s')",
        LIB + "functions.html#repr",
        transform=_EngineCalls,
        prelude=_engine(r'''
def _single_quotes(x, as_str):
    r = B.repr(x)
    if as_str or r[0] != '"':
        return None
    return "'" + r[1:-1].replace("'", "\\'") + "'"
HOOKS[str] = _single_quotes
'''),
    ),
    Mutant(
        "repr-escapes-non-ascii", "strings",
        "repr of a str escapes every non-ASCII character like ascii() ('café' shows as 'caf\\xe9')",
        REF + "lexical_analysis.html#string-and-bytes-literals",
        transform=_EngineCalls,
        prelude=_engine("HOOKS[str] = lambda x, as_str: None if as_str else B.ascii(x)\n"),
    ),
]


# ---------------------------------------------------------------------------------------------------
# containers


class _SetSlice(_Base):
    def visit_Assign(self, node):
        self.generic_visit(node)
        target = node.targets[0]
        if (len(node.targets) == 1 and isinstance(target, ast.Subscript)
                and isinstance(target.slice, ast.Slice) and target.slice.step is None):
            s = target.slice
            bound = lambda e: e if e is not None else _const(None)
            call = _call("__tf_setslice__", node.value, target.value, bound(s.lower), bound(s.upper))
            return ast.copy_location(ast.Expr(call), node)
        return node


class _SetItem(_Base):
    def visit_Assign(self, node):
        self.generic_visit(node)
        target = node.targets[0]
        if (len(node.targets) == 1 and isinstance(target, ast.Subscript)
                and not isinstance(target.slice, ast.Slice)):
            call = _call("__tf_setitem__", node.value, target.value, target.slice)  # CPython's order
            return ast.copy_location(ast.Expr(call), node)
        return node


class _StarredTuple(_Base):
    def visit_Assign(self, node):
        self.generic_visit(node)
        starred = [n.value.id for t in node.targets for n in ast.walk(t)
                   if isinstance(n, ast.Starred) and isinstance(n.value, ast.Name)]
        fix = [ast.Assign(targets=[_store(v)], value=_call("__tf_tuple__", _name(v))) for v in starred]
        return [node, *fix] if fix else node


def _list_method(name, body, types="list", extra=""):
    indented = "".join("        " + line + "\n" for line in body.strip("\n").splitlines())
    return (extra + f"def __tf_{name}__(self, *a, **k):\n"
            f"    if type(self) in ({types},):\n{indented}"
            f"    return self.{name}(*a, **k)\n")


def _container_mutant(ident, method, fault, anchor, body, types="list", extra=""):
    return Mutant(ident, "containers", fault, LIB + "stdtypes.html#" + anchor,
                  transform=_method_calls(**{method: f"__tf_{method}__"}),
                  prelude=_prelude(_list_method(method, body, types, extra), f"__tf_{method}__"))


_SETS = "(set, frozenset)"

_CONTAINERS = [
    _container_mutant(
        "insert-negative-off-by-one", "insert",
        "list.insert(i, x) with negative i inserts after the element at i (insert(-1, x) appends)",
        "mutable-sequence-types", """
if len(a) == 2 and not k:
    i = operator.index(a[0])
    if i < 0:
        i = max(len(self) + i + 1, 0)
    return self.insert(i, a[1])
""", extra="import operator\n"),
    _container_mutant(
        "pop-default-first", "pop",
        "list.pop() with no index removes the first item instead of the last",
        "mutable-sequence-types", """
if not a and not k:
    return self.pop(0)
"""),
    _container_mutant(
        "remove-last-occurrence", "remove",
        "list.remove(x) removes the last occurrence of x instead of the first",
        "mutable-sequence-types", """
if len(a) == 1 and not k:
    for i in range(len(self) - 1, -1, -1):
        if self[i] is a[0] or self[i] == a[0]:
            del self[i]
            return None
    raise ValueError('list.remove(x): x not in list')
"""),
    _container_mutant(
        "extend-str-as-one-item", "extend",
        "list.extend(s) with a str appends s as one item instead of its characters",
        "mutable-sequence-types", """
if len(a) == 1 and not k and type(a[0]) is str:
    return self.append(a[0])
"""),
    _container_mutant(
        "sort-reverse-unstable", "sort",
        "list.sort(reverse=True) sorts then reverses, so equal items end up in reverse order",
        "list.sort", """
if not a and k.get('reverse') and set(k) <= {'key', 'reverse'}:
    self.sort(key=k.get('key'))
    self.reverse()
    return None
"""),
    _container_mutant(
        "index-ignores-start", "index",
        "list.index(x, start) and tuple.index(x, start) search from the beginning, ignoring start",
        "common-sequence-operations", """
if len(a) > 1 and not k:
    return self.index(a[0])
""", types="list, tuple"),
    Mutant(
        "slice-assign-fixed-length", "containers",
        "assigning to a list slice requires as many items as the slice has (ValueError otherwise)",
        LIB + "stdtypes.html#mutable-sequence-types",
        transform=_SetSlice,
        prelude=_prelude(
            "def __tf_setslice__(value, obj, lower, upper):\n"
            "    if type(obj) is list:\n"
            "        value = list(value)\n"
            "        size = len(range(*slice(lower, upper).indices(len(obj))))\n"
            "        if len(value) != size:\n"
            "            raise ValueError(f'attempt to assign sequence of size {len(value)} '\n"
            "                             f'to slice of size {size}')\n"
            "    obj[lower:upper] = value\n",
            "__tf_setslice__"),
    ),
    Mutant(
        "dict-reassign-moves-key-last", "containers",
        "assigning d[k] for a key already present moves k to the end of the dict's order",
        LIB + "stdtypes.html#mapping-types-dict",
        transform=_SetItem,
        prelude=_prelude(
            "def __tf_setitem__(value, obj, key):\n"
            "    if type(obj) is dict and key in obj:\n"
            "        del obj[key]\n"
            "    obj[key] = value\n",
            "__tf_setitem__"),
    ),
    _container_mutant(
        "setdefault-does-not-insert", "setdefault",
        "dict.setdefault(k, v) returns v for a missing key without inserting it",
        "dict.setdefault", """
if 1 <= len(a) <= 2 and not k:
    if a[0] in self:
        return self[a[0]]
    return a[1] if len(a) == 2 else None
""", types="dict"),
    _container_mutant(
        "get-ignores-default", "get",
        "dict.get(k, default) returns None for a missing key, ignoring default",
        "dict.get", """
if len(a) == 2 and not k:
    return self.get(a[0])
""", types="dict"),
    Mutant(
        "set-xor-is-difference", "containers",
        "a ^ b on sets gives a - b instead of the symmetric difference",
        LIB + "stdtypes.html#frozenset.symmetric_difference",
        transform=_binops("__tf_xor__", ast.BitXor),
        prelude=_prelude(
            f"def __tf_xor__(a, b):\n"
            f"    return a - b if type(a) in {_SETS} and type(b) in {_SETS} else a ^ b\n",
            "__tf_xor__"),
    ),
    Mutant(
        "set-subset-is-proper", "containers",
        "a <= b (and >=) on sets tests for a proper subset (superset), so s <= s is False",
        LIB + "stdtypes.html#frozenset.issubset",
        transform=_compares("__tf_subset__", ast.LtE, ast.GtE),
        prelude=_prelude(
            f"def __tf_subset__(a, b, op):\n"
            f"    if type(a) in {_SETS} and type(b) in {_SETS}:\n"
            f"        return a < b if op == '<=' else a > b\n"
            f"    return a <= b if op == '<=' else a >= b\n",
            "__tf_subset__"),
    ),
    Mutant(
        "sequence-compare-length-first", "containers",
        "tuples (and lists) of different lengths are ordered by length before their items",
        REF + "expressions.html#value-comparisons",
        transform=_compares("__tf_seq_order__", ast.Lt, ast.Gt, ast.LtE, ast.GtE),
        prelude=_prelude(r'''
import operator
_OPS = {'<': operator.lt, '>': operator.gt, '<=': operator.le, '>=': operator.ge}
def __tf_seq_order__(a, b, op):
    if type(a) is type(b) and type(a) in (tuple, list) and len(a) != len(b):
        return _OPS[op](len(a), len(b))
    return _OPS[op](a, b)
''', "__tf_seq_order__"),
    ),
    Mutant(
        "starred-target-is-tuple", "containers",
        "a starred assignment target (a, *b = ...) receives a tuple instead of a list",
        REF + "simple_stmts.html#assignment-statements",
        transform=_StarredTuple,
        prelude="__tf_tuple__ = tuple\n",
    ),
]


# ---------------------------------------------------------------------------------------------------
# builtins


def _builtin_mutant(ident, fault, anchor, source, *exports, transform=None):
    return Mutant(ident, "builtins", fault, LIB + "functions.html#" + anchor, transform=transform,
                  prelude=_prelude("import builtins as B\n" + source, *exports))


_INT_CALLS = _name_calls("__tf_int__", "int")

_BUILTINS = [
    _builtin_mutant(
        "range-negative-step-empty",
        "range() with a negative step yields nothing (its loop only counts up)",
        "func-range", r'''
def range(*args):
    r = B.range(*args)
    return B.range(r.start, r.start) if r.step < 0 else r
''', "range"),
    _builtin_mutant(
        "range-empty-yields-start",
        "an empty range() still yields its start once (its loop tests at the bottom)",
        "func-range", r'''
def range(*args):
    r = B.range(*args)
    return r if r else B.range(r.start, r.start + r.step, r.step)
''', "range"),
    _builtin_mutant(
        "round-half-away-from-zero",
        "round(x) rounds halves away from zero (round(2.5) is 3) instead of to even",
        "round", r'''
import math
def round(number, ndigits=None):
    if ndigits is None and type(number) is float and math.isfinite(number):
        f = math.floor(number)
        if number - f == 0.5:
            return int(f) + 1 if number > 0 else int(f)
    return B.round(number, ndigits)
''', "round"),
    _builtin_mutant(
        "round-ndigits-decimal",
        "round(x, n) rounds the decimal repr half up (round(2.675, 2) is 2.68, not 2.67)",
        "round", r'''
import math
from decimal import Decimal, ROUND_HALF_UP, InvalidOperation
def round(number, ndigits=None):
    if type(number) is float and type(ndigits) is int and math.isfinite(number):
        try:
            q = Decimal(B.repr(number)).quantize(Decimal(1).scaleb(-ndigits), rounding=ROUND_HALF_UP)
            return float(q)
        except InvalidOperation:
            pass
    return B.round(number, ndigits)
''', "round"),
    _builtin_mutant(
        "divmod-truncates",
        "divmod truncates toward zero like C (divmod(-7, 2) is (-3, -1), not (-4, 1))",
        "divmod", r'''
import math
def divmod(a, b):
    q, r = B.divmod(a, b)
    if type(a) in (int, bool) and type(b) in (int, bool):
        t = abs(a) // abs(b)
        t = -t if (a < 0) != (b < 0) else t
        return t, a - b * t
    if type(a) in (int, float) and type(b) in (int, float) and math.isfinite(a) and math.isfinite(b):
        r = math.fmod(a, b)
        return float(B.round((a - r) / b)), r
    return q, r
''', "divmod"),
    _builtin_mutant(
        "pow-negative-exponent-int",
        "pow(int, negative int) gives an int truncated toward zero (pow(2, -1) is 0)",
        "pow", r'''
def pow(base, exp, mod=None):
    if mod is None and type(base) is int and type(exp) is int and exp < 0 and base != 0:
        d = base ** -exp
        return d if abs(d) == 1 else 0
    return B.pow(base, exp, mod)
''', "pow"),
    _builtin_mutant(
        "pow-mod-no-inverse",
        "pow(b, e, m) with a negative e raises ValueError (no modular inverse, as before 3.8)",
        "pow", r'''
def pow(base, exp, mod=None):
    if mod is not None and type(exp) is int and exp < 0:
        raise ValueError('pow() 2nd argument cannot be negative when 3rd argument specified')
    return B.pow(base, exp, mod)
''', "pow"),
    _builtin_mutant(
        "min-max-last-tie",
        "min() and max() return the last of several equal extremes instead of the first",
        "max", r'''
_MISSING = object()
def _extreme(real, beats, args, key, default):
    kw = {} if default is _MISSING else {'default': default}
    if key is not None:
        kw['key'] = key
    if not args or (len(args) > 1 and default is not _MISSING):
        return real(*args, **kw)
    items = B.list(args[0]) if len(args) == 1 else B.list(args)
    if not items:
        return real(items, **kw)
    best = items[0]
    best_key = best if key is None else key(best)
    for v in items[1:]:
        v_key = v if key is None else key(v)
        if not beats(best_key, v_key):
            best, best_key = v, v_key
    return best
def max(*args, key=None, default=_MISSING):
    return _extreme(B.max, lambda b, v: b > v, args, key, default)
def min(*args, key=None, default=_MISSING):
    return _extreme(B.min, lambda b, v: b < v, args, key, default)
''', "max", "min"),
    _builtin_mutant(
        "sum-ignores-start",
        "sum(iterable, start) ignores start and begins at 0",
        "sum", r'''
def sum(iterable, /, start=0):
    return B.sum(iterable)
''', "sum"),
    _builtin_mutant(
        "enumerate-ignores-start",
        "enumerate(iterable, start) always counts from 0",
        "enumerate", r'''
def enumerate(iterable, start=0):
    return B.enumerate(iterable)
''', "enumerate"),
    _builtin_mutant(
        "zip-strict",
        "zip() raises ValueError for iterables of unequal length instead of stopping at the shortest",
        "zip", r'''
def zip(*iterables, strict=False):
    return B.zip(*iterables, strict=True)
''', "zip"),
    _builtin_mutant(
        "sorted-unstable",
        "sorted() puts items with equal keys in reverse input order (it is not stable)",
        "sorted", r'''
def sorted(iterable, /, *, key=None, reverse=False):
    return B.sorted(B.list(iterable)[::-1], key=key, reverse=reverse)
''', "sorted"),
    _builtin_mutant(
        "reversed-drops-first",
        "reversed() of a list, tuple, str or range stops before index 0 (drops the first item)",
        "reversed", r'''
def reversed(seq):
    r = B.reversed(seq)
    if type(seq) in (list, tuple, str, range):
        return B.iter(B.list(r)[:-1])
    return r
''', "reversed"),
    _builtin_mutant(
        "abs-returns-float",
        "abs() of an int or bool returns a float (abs(-3) is 3.0)",
        "abs", r'''
def abs(x):
    r = B.abs(x)
    return float(r) if type(r) is int else r
''', "abs"),
    _builtin_mutant(
        "int-rejects-whitespace",
        "int() of a str with surrounding whitespace raises ValueError", "int", r'''
def __tf_int__(*a, **k):
    if a and type(a[0]) is str and a[0] != a[0].strip():
        raise ValueError(f"invalid literal for int() with base 10: {a[0]!r}")
    return int(*a, **k)
''', "__tf_int__", transform=_INT_CALLS),
    _builtin_mutant(
        "int-rejects-underscores",
        "int() of a str with digit-grouping underscores raises ValueError ('1_000')",
        "int", r'''
def __tf_int__(*a, **k):
    if a and type(a[0]) is str and '_' in a[0]:
        raise ValueError(f"invalid literal for int() with base 10: {a[0]!r}")
    return int(*a, **k)
''', "__tf_int__", transform=_INT_CALLS),
    _builtin_mutant(
        "int-parses-float-string",
        "int() of a str like '3.7' truncates it to 3 instead of raising ValueError",
        "int", r'''
def __tf_int__(*a, **k):
    try:
        return int(*a, **k)
    except ValueError:
        if len(a) == 1 and not k and type(a[0]) is str:
            try:
                return int(float(a[0]))
            except (ValueError, OverflowError):
                pass
        raise
''', "__tf_int__", transform=_INT_CALLS),
    Mutant(
        "float-repr-js-thresholds", "builtins",
        "floats print positionally between 1e-6 and 1e21 (JavaScript's rule): 1e16 as 10000000000000000.0",
        "https://docs.python.org/3/tutorial/floatingpoint.html#representation-error",
        transform=_EngineCalls,
        prelude=_engine(r'''
from decimal import Decimal
def _positional(x, as_str):
    r = B.repr(x)
    if 'e' in r and 1e-6 <= abs(x) < 1e21:
        s = B.format(Decimal(r), 'f')
        return s if '.' in s else s + '.0'
    return None
HOOKS[float] = _positional
'''),
    ),
    Mutant(
        "float-repr-12-digits", "builtins",
        "floats print with 12 significant digits (Python 2's str), so 0.1 + 0.2 shows as 0.3",
        LIB + "functions.html#repr",
        transform=_EngineCalls,
        prelude=_engine(r'''
def _short(x, as_str):
    r = '%.12g' % x
    return r if any(c in r for c in '.en') else r + '.0'
HOOKS[float] = _short
'''),
    ),
    Mutant(
        "bool-prints-lowercase", "builtins",
        "True and False print as true and false",
        LIB + "functions.html#bool",
        transform=_EngineCalls,
        prelude=_engine("HOOKS[bool] = lambda x, as_str: 'true' if x else 'false'\n"),
    ),
    Mutant(
        "none-prints-null", "builtins",
        "None prints as null",
        LIB + "constants.html#None",
        transform=_EngineCalls,
        prelude=_engine("HOOKS[type(None)] = lambda x, as_str: 'null'\n"),
    ),
    Mutant(
        "nested-container-str-items", "builtins",
        "a container's repr formats its items with str(): [['a']] prints as [[a]] (the top level is right)",
        LIB + "stdtypes.html#str",
        transform=_EngineCalls,
        prelude=_engine("NESTED_STR = True\n"),
    ),
    _builtin_mutant(
        "print-sep-after-last",
        "print() with an explicit sep also writes sep after the last argument",
        "print", r'''
_UNSET = object()
def print(*args, sep=_UNSET, end='\n', file=None, flush=False):
    if sep is _UNSET:
        sep = ' '
    elif args and sep is not None:
        end = sep + ('\n' if end is None else end)
    B.print(*args, sep=sep, end=end, file=file, flush=flush)
''', "print"),
    _builtin_mutant(
        "print-ignores-end",
        "print() ignores end= and always finishes with a newline", "print", r'''
def print(*args, sep=' ', end='\n', file=None, flush=False):
    B.print(*args, sep=sep, file=file, flush=flush)
''', "print"),
]


MUTANTS = _FUNCTIONS + _CLASSES + _COMPREHENSIONS + _STRINGS + _CONTAINERS + _BUILTINS
