"""Semantic mutants of the language core: arithmetic, comparisons, boolean operators, statements.

Each is one fault a real implementation could plausibly have, written from the section of the
language or library reference it cites (never from a grammar's programs): C-style division and
remainder, 64-bit integers, a parser with the wrong precedence, a code generator that forgets the
``finally`` on a ``return``... Standard library only: the mutant runner loads this file by path.

How faults are injected. Operator faults rewrite ``a OP b`` (and ``x OP= b`` on every target kind)
into a call of a faulty function from the prelude, which falls back to the real operator for the
operands it does not concern, so a mutant differs from CPython only where its fault shows.
Comparisons keep their chaining (an operand after the second one is passed as a thunk, evaluated
only when reached). Parser faults read the node positions to leave parenthesized forms alone.
Rewrites that need a thunk (``lambda: value``) are skipped directly in class bodies, where a lambda
would not see the class's names, and around expressions that yield, await or bind a name. Each
transform names its ``reach`` (see ``tinyfuzz.science.mutants``). Every name a prelude binds starts
with ``_mutant`` (any case), except the builtin a mutant shadows.
"""

import ast
import copy

from tinyfuzz.science._mutant_api import Mutant

_EXPRESSIONS = "https://docs.python.org/3/reference/expressions.html"
_SIMPLE = "https://docs.python.org/3/reference/simple_stmts.html"
_COMPOUND = "https://docs.python.org/3/reference/compound_stmts.html"
_STDTYPES = "https://docs.python.org/3/library/stdtypes.html"
_FUNCTIONS = "https://docs.python.org/3/library/functions.html"


# ---- building blocks of the transforms -----------------------------------------------------------

def _load(name):
    return ast.Name(name, ast.Load())


def _store(name):
    return ast.Name(name, ast.Store())


def _call(function, *args):
    return ast.Call(_load(function), list(args), [])


def _ends_with(inner, outer):
    """Does ``inner`` end where ``outer`` does, i.e. is it not closed by a parenthesis of its own?"""
    return (inner.end_lineno, inner.end_col_offset) == (outer.end_lineno, outer.end_col_offset)


def _located(new, old):
    return ast.copy_location(new, old)


_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)
_LOOPS = (ast.For, ast.AsyncFor, ast.While)


def _rewrite_own(statements, kind, make):
    """Replace each statement of ``kind`` (Break, Continue) that belongs to the loop whose body is
    ``statements`` by the list ``make(statement)``: a nested loop's body has its own, but its
    ``else`` clause is still ours. Returns whether something was replaced."""
    replaced = False
    for index in range(len(statements) - 1, -1, -1):
        statement = statements[index]
        if isinstance(statement, kind):
            statements[index:index + 1] = make(statement)
            replaced = True
            continue
        if isinstance(statement, _SCOPES):
            continue
        blocks = [getattr(statement, "orelse", []), getattr(statement, "finalbody", [])]
        if not isinstance(statement, _LOOPS):
            blocks.append(getattr(statement, "body", []))
        blocks += [part.body for part in getattr(statement, "handlers", [])
                   + getattr(statement, "cases", [])]
        for block in blocks:
            replaced |= _rewrite_own(block, kind, make)
    return replaced


class _Rewriter(ast.NodeTransformer):
    """Base of every transform here: numbered temporaries, thunks where they are safe, and match
    patterns left alone (they may only hold literals, which a rewrite would turn into calls)."""

    # Node type names, names or attribute names of which a program must hold one for the
    # transform to change it: the scorer does not run a mutant on the programs it cannot reach.
    reach: frozenset = frozenset()

    def __init__(self):
        self.counter = 0
        self.in_class_body = False

    def temporary(self, purpose):
        self.counter += 1
        return f"_mutant_{purpose}_{self.counter}"

    def visit_match_case(self, node):
        if node.guard is not None:
            node.guard = self.visit(node.guard)
        node.body = self._visit_block(node.body)
        return node

    def _visit_block(self, statements):
        return [new for statement in statements for new in self._as_list(self.visit(statement))]

    @staticmethod
    def _as_list(result):
        return result if isinstance(result, list) else [] if result is None else [result]

    def visit_ClassDef(self, node):
        return self._in_scope(node, class_body=True)

    def visit_FunctionDef(self, node):
        return self._in_scope(node, class_body=False)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Lambda(self, node):
        return self._in_scope(node, class_body=False)

    def _in_scope(self, node, class_body):
        saved, self.in_class_body = self.in_class_body, class_body
        try:
            return self.generic_visit(node)
        finally:
            self.in_class_body = saved

    def can_thunk(self, *expressions):
        return not self.in_class_body and not any(
            isinstance(inner, (ast.Yield, ast.YieldFrom, ast.Await, ast.NamedExpr))
            for expression in expressions for inner in ast.walk(expression))

    @staticmethod
    def thunk(expression):
        arguments = ast.arguments(posonlyargs=[], args=[], vararg=None, kwonlyargs=[],
                                  kw_defaults=[], kwarg=None, defaults=[])
        return _located(ast.Lambda(arguments, expression), expression)


# ---- operators: a faulty function called as fault(a, b, op, inplace) -------------------------------

_OPERATORS_PRELUDE = '''
import operator as _mutant_op
_MUTANT_OPERATORS = {  # ast operator name: (binary function, in-place function)
    name: (getattr(_mutant_op, function), getattr(_mutant_op, "i" + function.rstrip("_")))
    for name, function in [
        ("Add", "add"), ("Sub", "sub"), ("Mult", "mul"), ("MatMult", "matmul"), ("Div", "truediv"),
        ("FloorDiv", "floordiv"), ("Mod", "mod"), ("Pow", "pow"), ("LShift", "lshift"),
        ("RShift", "rshift"), ("BitOr", "or_"), ("BitXor", "xor"), ("BitAnd", "and_")]
}
_MUTANT_NUMBERS = (int, bool, float)
_MUTANT_INTS = (int, bool)

def _mutant_real(a, b, op, inplace):
    return _MUTANT_OPERATORS[op][inplace](a, b)

def _mutant_aug_attr(obj, name, fault, op, value):
    setattr(obj, name, fault(getattr(obj, name), value(), op, True))

def _mutant_aug_item(obj, key, fault, op, value):
    obj[key] = fault(obj[key], value(), op, True)

_mutant_slice = slice
'''


def _index(node):
    """A subscript's index as an expression that can be passed to a function."""
    if isinstance(node, ast.Slice):
        parts = [part or ast.Constant(None) for part in (node.lower, node.upper, node.step)]
        return _located(_call("_mutant_slice", *parts), node)
    if isinstance(node, ast.Tuple):
        return _located(ast.Tuple([_index(element) for element in node.elts], ast.Load()), node)
    return node


class _OperatorFault(_Rewriter):
    """Routes the binary operators in ``ops`` through the prelude's ``fault`` function, in
    expressions (unless ``binary`` is off) and in augmented assignments to names, attributes and
    subscripts, evaluated in CPython's order."""

    ops: tuple = ()
    fault = ""
    binary = True

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "reach" not in cls.__dict__:
            cls.reach = frozenset(op.__name__ for op in cls.ops)

    def visit_BinOp(self, node):
        self.generic_visit(node)
        if self.binary and isinstance(node.op, self.ops):
            return _located(_call(self.fault, node.left, node.right,
                                  ast.Constant(type(node.op).__name__), ast.Constant(False)), node)
        return node

    def visit_AugAssign(self, node):
        self.generic_visit(node)
        if not isinstance(node.op, self.ops):
            return node
        op, target = ast.Constant(type(node.op).__name__), node.target
        if isinstance(target, ast.Name):
            value = _call(self.fault, _load(target.id), node.value, op, ast.Constant(True))
            return _located(ast.Assign([_store(target.id)], value), node)
        if not self.can_thunk(node.value):
            return node
        if isinstance(target, ast.Attribute):
            call = _call("_mutant_aug_attr", target.value, ast.Constant(target.attr),
                         _load(self.fault), op, self.thunk(node.value))
        else:
            call = _call("_mutant_aug_item", target.value, _index(target.slice),
                         _load(self.fault), op, self.thunk(node.value))
        return _located(ast.Expr(call), node)


def _operator_fault(ops, fault, **options):
    return type(f"Fault_{fault}", (_OperatorFault,), {"ops": ops, "fault": fault, **options})


class _UnaryFault(_Rewriter):
    op = ast.USub
    fault = ""

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls.reach = frozenset({cls.op.__name__})

    def visit_UnaryOp(self, node):
        self.generic_visit(node)
        if isinstance(node.op, self.op):
            return _located(_call(self.fault, node.operand), node)
        return node


class _CallRename(_Rewriter):
    """Calls of a builtin by name go to the prelude's faulty version."""

    builtin = ""
    fault = ""

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls.reach = frozenset({cls.builtin})

    def visit_Call(self, node):
        self.generic_visit(node)
        if isinstance(node.func, ast.Name) and node.func.id == self.builtin:
            node.func = _located(_load(self.fault), node.func)
        return node


class _IntWraps(_OperatorFault):
    ops = (ast.Add, ast.Sub, ast.Mult, ast.LShift, ast.Pow)
    fault = "_mutant_wrapping"
    reach = frozenset({"Add", "Sub", "Mult", "LShift", "Pow", "USub", "Constant"})

    def visit_Constant(self, node):
        if type(node.value) is int and not -2**63 <= node.value < 2**63:
            return _located(ast.Constant((node.value + 2**63) % 2**64 - 2**63), node)
        return node

    def visit_UnaryOp(self, node):
        self.generic_visit(node)
        if isinstance(node.op, ast.USub):
            return _located(_call("_mutant_wrapping_negate", node.operand), node)
        return node


class _PowerLeftAssociative(_Rewriter):
    reach = frozenset({"Pow"})

    def visit_BinOp(self, node):
        if not isinstance(node.op, ast.Pow):
            return self.generic_visit(node)
        operands, outer = [node.left], node
        while (isinstance(outer.right, ast.BinOp) and isinstance(outer.right.op, ast.Pow)
               and _ends_with(outer.right, outer)):
            outer = outer.right
            operands.append(outer.left)
        operands.append(outer.right)
        result, *rest = [self.visit(operand) for operand in operands]
        for operand in rest:
            result = _located(ast.BinOp(result, ast.Pow(), operand), node)
        return result


class _MinusBindsTighter(_Rewriter):
    reach = frozenset({"Pow"})

    def visit_UnaryOp(self, node):
        self.generic_visit(node)
        power = node.operand
        if (isinstance(node.op, ast.USub) and isinstance(power, ast.BinOp)
                and isinstance(power.op, ast.Pow) and _ends_with(power, node)):
            negated = _located(ast.UnaryOp(ast.USub(), power.left), node)
            return _located(ast.BinOp(negated, ast.Pow(), power.right), node)
        return node


_ARITHMETIC = [
    Mutant("floordiv-truncates-toward-zero", "arithmetic",
           "// rounds the quotient toward zero (C division) instead of toward negative infinity",
           f"{_EXPRESSIONS}#binary-arithmetic-operations",
           _operator_fault((ast.FloorDiv,), "_mutant_truncdiv"),
           _OPERATORS_PRELUDE + '''
def _mutant_truncdiv(a, b, op, inplace):
    quotient = _mutant_real(a, b, op, inplace)
    if type(a) in _MUTANT_NUMBERS and type(b) in _MUTANT_NUMBERS and a % b and (a < 0) != (b < 0):
        return quotient + 1
    return quotient
'''),
    Mutant("modulo-takes-dividend-sign", "arithmetic",
           "% gives the remainder the sign of the dividend (C fmod) instead of the divisor's",
           f"{_EXPRESSIONS}#binary-arithmetic-operations",
           _operator_fault((ast.Mod,), "_mutant_fmod"),
           _OPERATORS_PRELUDE + '''
def _mutant_fmod(a, b, op, inplace):
    remainder = _mutant_real(a, b, op, inplace)
    if type(a) in _MUTANT_NUMBERS and type(b) in _MUTANT_NUMBERS and remainder and (a < 0) != (b < 0):
        return remainder - b
    return remainder
'''),
    Mutant("int-overflow-wraps-at-64-bits", "arithmetic",
           "ints are 64-bit: +, -, *, <<, ** and literals wrap around at 2**63 instead of growing",
           f"{_STDTYPES}#numeric-types-int-float-complex",
           _IntWraps,
           _OPERATORS_PRELUDE + '''
def _mutant_wrap(value):
    return (value + 2**63) % 2**64 - 2**63

def _mutant_wrapping(a, b, op, inplace):
    result = _mutant_real(a, b, op, inplace)
    if type(a) in _MUTANT_INTS and type(b) in _MUTANT_INTS and type(result) is int:
        return _mutant_wrap(result)
    return result

def _mutant_wrapping_negate(value):
    return _mutant_wrap(-value) if type(value) in _MUTANT_INTS else -value
'''),
    Mutant("int-true-division-floors", "arithmetic",
           "/ of two ints gives their floor quotient as an int (Python 2 division), not a float",
           f"{_EXPRESSIONS}#binary-arithmetic-operations",
           _operator_fault((ast.Div,), "_mutant_classic_div"),
           _OPERATORS_PRELUDE + '''
def _mutant_classic_div(a, b, op, inplace):
    if type(a) in _MUTANT_INTS and type(b) in _MUTANT_INTS:
        return a // b
    return _mutant_real(a, b, op, inplace)
'''),
    Mutant("int-true-division-via-float", "arithmetic",
           "/ of two ints converts both to float first: huge ints overflow, big ones lose precision",
           f"{_EXPRESSIONS}#binary-arithmetic-operations",
           _operator_fault((ast.Div,), "_mutant_float_div"),
           _OPERATORS_PRELUDE + '''
def _mutant_float_div(a, b, op, inplace):
    if type(a) in _MUTANT_INTS and type(b) in _MUTANT_INTS:
        return float(a) / float(b)
    return _mutant_real(a, b, op, inplace)
'''),
    Mutant("true-division-by-zero-gives-infinity", "arithmetic",
           "/ by zero gives inf, -inf or nan (IEEE, as JavaScript does) instead of raising "
           "ZeroDivisionError",
           f"{_EXPRESSIONS}#binary-arithmetic-operations",
           _operator_fault((ast.Div,), "_mutant_ieee_div"),
           _OPERATORS_PRELUDE + '''
import math as _mutant_math

def _mutant_ieee_div(a, b, op, inplace):
    if type(a) in _MUTANT_NUMBERS and type(b) in _MUTANT_NUMBERS and b == 0:
        if a == 0 or a != a:
            return _mutant_math.nan
        return _mutant_math.copysign(_mutant_math.inf, a) * _mutant_math.copysign(1.0, b)
    return _mutant_real(a, b, op, inplace)
'''),
    Mutant("float-floordiv-gives-int", "arithmetic",
           "// with a float operand returns an int, not a float (7.0 // 2 is 3, not 3.0)",
           f"{_EXPRESSIONS}#binary-arithmetic-operations",
           _operator_fault((ast.FloorDiv,), "_mutant_int_floordiv"),
           _OPERATORS_PRELUDE + '''
def _mutant_int_floordiv(a, b, op, inplace):
    quotient = _mutant_real(a, b, op, inplace)
    if type(quotient) is float and quotient == quotient and abs(quotient) != float("inf"):
        return int(quotient)
    return quotient
'''),
    Mutant("int-power-negative-exponent-truncates", "arithmetic",
           "int ** negative int stays an int, truncated toward zero (2 ** -1 is 0, not 0.5)",
           f"{_EXPRESSIONS}#the-power-operator",
           _operator_fault((ast.Pow,), "_mutant_int_pow"),
           _OPERATORS_PRELUDE + '''
def _mutant_int_pow(a, b, op, inplace):
    result = _mutant_real(a, b, op, inplace)
    if type(a) in _MUTANT_INTS and type(b) in _MUTANT_INTS and b < 0:
        return int(result)
    return result
'''),
    Mutant("power-left-associative", "arithmetic",
           "a ** b ** c is parsed as (a ** b) ** c instead of a ** (b ** c)",
           f"{_EXPRESSIONS}#the-power-operator",
           _PowerLeftAssociative),
    Mutant("unary-minus-binds-tighter-than-power", "arithmetic",
           "-a ** b is parsed as (-a) ** b instead of -(a ** b)",
           f"{_EXPRESSIONS}#the-power-operator",
           _MinusBindsTighter),
    Mutant("negation-loses-negative-zero", "arithmetic",
           "-x is computed as 0 - x, so negating 0.0 gives 0.0 instead of -0.0",
           f"{_EXPRESSIONS}#unary-arithmetic-and-bitwise-operations",
           type("NegationFault", (_UnaryFault,), {"op": ast.USub, "fault": "_mutant_negate"}),
           '''
def _mutant_negate(x):
    return 0.0 - x if type(x) is float else -x
'''),
    Mutant("bool-arithmetic-gives-bool", "arithmetic",
           "+, - and * of two bools give a bool (True + True is True) instead of an int",
           f"{_STDTYPES}#boolean-type-bool",
           _operator_fault((ast.Add, ast.Sub, ast.Mult), "_mutant_bool_arith"),
           _OPERATORS_PRELUDE + '''
def _mutant_bool_arith(a, b, op, inplace):
    result = _mutant_real(a, b, op, inplace)
    return bool(result) if type(a) is bool and type(b) is bool else result
'''),
    Mutant("right-shift-of-negative-is-logical", "arithmetic",
           ">> of a negative int shifts its 64-bit pattern in zeros (logical shift), not the sign",
           f"{_EXPRESSIONS}#shifting-operations",
           _operator_fault((ast.RShift,), "_mutant_logical_shift"),
           _OPERATORS_PRELUDE + '''
def _mutant_logical_shift(a, b, op, inplace):
    if type(a) in _MUTANT_INTS and type(b) in _MUTANT_INTS and a < 0 <= b:
        return (a % 2**64) >> b
    return _mutant_real(a, b, op, inplace)
'''),
    Mutant("bitwise-on-magnitudes", "arithmetic",
           "&, | and ^ with a negative int work on sign and magnitude instead of two's complement",
           f"{_STDTYPES}#bitwise-operations-on-integer-types",
           _operator_fault((ast.BitAnd, ast.BitOr, ast.BitXor), "_mutant_sign_magnitude"),
           _OPERATORS_PRELUDE + '''
def _mutant_sign_magnitude(a, b, op, inplace):
    if type(a) in _MUTANT_INTS and type(b) in _MUTANT_INTS and (a < 0 or b < 0):
        magnitude = _mutant_real(abs(a), abs(b), op, False)
        return -magnitude if _mutant_real(a < 0, b < 0, op, False) else magnitude
    return _mutant_real(a, b, op, inplace)
'''),
    Mutant("int-of-float-rounds", "arithmetic",
           "int(x) of a float rounds to the nearest int instead of truncating toward zero",
           f"{_FUNCTIONS}#int",
           type("IntCall", (_CallRename,), {"builtin": "int", "fault": "_mutant_int"}),
           '''
def _mutant_int(*args, **kwargs):
    if len(args) == 1 and not kwargs and type(args[0]) is float:
        return round(args[0])
    return int(*args, **kwargs)
'''),
]


# ---- comparisons: a faulty function called as fault(a, op, b), chains kept ------------------------

_COMPARE_PRELUDE = '''
import operator as _mutant_op
_MUTANT_COMPARISONS = {
    "Eq": _mutant_op.eq, "NotEq": _mutant_op.ne, "Lt": _mutant_op.lt, "LtE": _mutant_op.le,
    "Gt": _mutant_op.gt, "GtE": _mutant_op.ge, "Is": _mutant_op.is_, "IsNot": _mutant_op.is_not,
    "In": lambda a, b: a in b, "NotIn": lambda a, b: a not in b,
}

def _mutant_compare_real(a, op, b):
    return _MUTANT_COMPARISONS[op](a, b)

def _mutant_chain(left, *rest):
    """left op1 right1 op2 (lambda: right2) ...: CPython's chaining, each pair through the fault."""
    for index in range(0, len(rest), 2):
        op, right = rest[index], rest[index + 1]
        if index:
            right = right()
        result = _mutant_compare(left, op, right)
        if not result:
            return result
        left = right
    return result
'''


class _ComparisonFault(_Rewriter):
    """Comparisons using an operator in ``ops`` go through the prelude's ``_mutant_compare``."""

    ops: tuple = ()

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls.reach = frozenset(op.__name__ for op in cls.ops)

    def visit_Compare(self, node):
        self.generic_visit(node)
        if not any(isinstance(op, self.ops) for op in node.ops):
            return node
        if len(node.ops) > 1 and not self.can_thunk(*node.comparators[1:]):
            return node
        args = [node.left]
        for index, (op, right) in enumerate(zip(node.ops, node.comparators)):
            args += [ast.Constant(type(op).__name__), self.thunk(right) if index else right]
        if len(node.ops) == 1:
            return _located(_call("_mutant_compare", *args), node)
        return _located(_call("_mutant_chain", *args), node)


def _comparison_fault(ops):
    return type("ComparisonFault", (_ComparisonFault,), {"ops": ops})


_ORDERING = (ast.Lt, ast.LtE, ast.Gt, ast.GtE)


class _ChainNested(_Rewriter):
    reach = frozenset({"Compare"})

    def visit_Compare(self, node):
        self.generic_visit(node)
        result = node.left
        for op, right in zip(node.ops, node.comparators):
            result = _located(ast.Compare(result, [op], [right]), node)
        return result


class _ChainMiddleTwice(_Rewriter):
    reach = frozenset({"Compare"})

    def visit_Compare(self, node):
        self.generic_visit(node)
        if len(node.ops) == 1:
            return node
        operands = [node.left] + node.comparators
        pairs = [_located(ast.Compare(copy.deepcopy(left) if index else left, [op], [right]), node)
                 for index, (left, op, right) in enumerate(zip(operands, node.ops, operands[1:]))]
        return _located(ast.BoolOp(ast.And(), pairs), node)


class _ChainEager(_Rewriter):
    reach = frozenset({"Compare"})

    def visit_Compare(self, node):
        self.generic_visit(node)
        if len(node.ops) == 1:
            return node
        operands = ast.Tuple([node.left] + node.comparators, ast.Load())
        ops = ast.Tuple([ast.Constant(type(op).__name__) for op in node.ops], ast.Load())
        return _located(_call("_mutant_chain_eager", operands, ops), node)


class _IsNotParsedAsIsNot(_Rewriter):
    reach = frozenset({"IsNot"})

    def visit_Compare(self, node):
        self.generic_visit(node)
        for index, op in enumerate(node.ops):
            if isinstance(op, ast.IsNot):
                right = node.comparators[index]
                node.ops[index] = ast.Is()
                node.comparators[index] = _located(ast.UnaryOp(ast.Not(), right), right)
        return node


_COMPARISONS = [
    Mutant("chained-comparison-as-nested", "comparisons",
           "a < b < c is evaluated as (a < b) < c instead of a < b and b < c",
           f"{_EXPRESSIONS}#comparisons", _ChainNested),
    Mutant("chained-comparison-evaluates-middle-twice", "comparisons",
           "a < b < c is expanded to a < b and b < c, evaluating b twice",
           f"{_EXPRESSIONS}#comparisons", _ChainMiddleTwice),
    Mutant("chained-comparison-evaluates-all-operands", "comparisons",
           "a < b < c evaluates c even when a < b is false (no short circuit in chains)",
           f"{_EXPRESSIONS}#comparisons", _ChainEager,
           _COMPARE_PRELUDE + '''
def _mutant_chain_eager(operands, ops):
    for left, op, right in zip(operands, ops, operands[1:]):
        result = _mutant_compare_real(left, op, right)
        if not result:
            return result
    return result
'''),
    Mutant("int-float-comparison-through-float", "comparisons",
           "comparing an int with a float converts the int to float, losing precision "
           "(2**53 + 1 == 2.0**53)",
           f"{_EXPRESSIONS}#value-comparisons",
           _comparison_fault((ast.Eq, ast.NotEq) + _ORDERING),
           _COMPARE_PRELUDE + '''
def _mutant_as_float(value):
    try:
        return float(value)
    except OverflowError:
        return float("inf") if value > 0 else float("-inf")

def _mutant_compare(a, op, b):
    if op in ("Eq", "NotEq", "Lt", "LtE", "Gt", "GtE"):
        if type(a) is int and type(b) is float:
            a = _mutant_as_float(a)
        elif type(a) is float and type(b) is int:
            b = _mutant_as_float(b)
    return _mutant_compare_real(a, op, b)
'''),
    Mutant("int-float-never-equal", "comparisons",
           "== between an int and a float is False even for equal values (1 == 1.0 is False)",
           f"{_EXPRESSIONS}#value-comparisons",
           _comparison_fault((ast.Eq, ast.NotEq)),
           _COMPARE_PRELUDE + '''
def _mutant_compare(a, op, b):
    if op in ("Eq", "NotEq") and {type(a), type(b)} == {int, float}:
        return op == "NotEq"
    return _mutant_compare_real(a, op, b)
'''),
    Mutant("equality-identity-shortcut", "comparisons",
           "x == x is True for any object, nan included (identity is checked before __eq__)",
           f"{_EXPRESSIONS}#value-comparisons",
           _comparison_fault((ast.Eq, ast.NotEq)),
           _COMPARE_PRELUDE + '''
def _mutant_compare(a, op, b):
    if op in ("Eq", "NotEq") and a is b:
        return op == "Eq"
    return _mutant_compare_real(a, op, b)
'''),
    Mutant("is-not-parsed-as-is-not-operand", "comparisons",
           "a is not b is parsed as a is (not b)",
           f"{_EXPRESSIONS}#is-not", _IsNotParsedAsIsNot),
    Mutant("in-dict-tests-values", "comparisons",
           "x in d for a dict tests its values instead of its keys",
           f"{_EXPRESSIONS}#membership-test-operations",
           _comparison_fault((ast.In, ast.NotIn)),
           _COMPARE_PRELUDE + '''
def _mutant_compare(a, op, b):
    if op in ("In", "NotIn") and isinstance(b, dict):
        return (a in b.values()) == (op == "In")
    return _mutant_compare_real(a, op, b)
'''),
    Mutant("in-string-matches-single-characters", "comparisons",
           "s in t for strings only finds single characters ('ab' in 'cab' is False)",
           f"{_EXPRESSIONS}#membership-test-operations",
           _comparison_fault((ast.In, ast.NotIn)),
           _COMPARE_PRELUDE + '''
def _mutant_compare(a, op, b):
    if op in ("In", "NotIn") and type(a) is str and type(b) is str:
        return any(char == a for char in b) == (op == "In")
    return _mutant_compare_real(a, op, b)
'''),
    Mutant("ordering-mixed-types-false", "comparisons",
           "ordering values of unrelated types (1 < 'a', None < 0) gives False instead of TypeError",
           f"{_EXPRESSIONS}#value-comparisons",
           _comparison_fault(_ORDERING),
           _COMPARE_PRELUDE + '''
def _mutant_compare(a, op, b):
    try:
        return _mutant_compare_real(a, op, b)
    except TypeError:
        if op in ("Lt", "LtE", "Gt", "GtE"):
            return False
        raise
'''),
]


# ---- boolean operators and truth ----------------------------------------------------------------

class _BoolOpFault(_Rewriter):
    op = ast.And
    fault = ""
    wrap = False  # the fault takes the whole operation (as its value), not its operands

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls.reach = frozenset({cls.op.__name__})

    def visit_BoolOp(self, node):
        self.generic_visit(node)
        if not isinstance(node.op, self.op):
            return node
        if self.wrap:
            return _located(_call(self.fault, node), node)
        return _located(_call(self.fault, *node.values), node)


def _boolop_fault(op, fault, wrap=False):
    return type("BoolOpFault", (_BoolOpFault,), {"op": op, "fault": fault, "wrap": wrap})


class _OrFirstWhenAllFalse(_Rewriter):
    reach = frozenset({"Or"})

    def visit_BoolOp(self, node):
        self.generic_visit(node)
        if not isinstance(node.op, ast.Or) or not self.can_thunk(*node.values[1:]):
            return node
        rest = [self.thunk(value) for value in node.values[1:]]
        return _located(_call("_mutant_or", node.values[0], *rest), node)


class _NotBindsTighter(_Rewriter):
    reach = frozenset({"Not"})

    def visit_UnaryOp(self, node):
        self.generic_visit(node)
        comparison = node.operand
        if (isinstance(node.op, ast.Not) and isinstance(comparison, ast.Compare)
                and _ends_with(comparison, node)):
            negated = _located(ast.UnaryOp(ast.Not(), comparison.left), node)
            return _located(ast.Compare(negated, comparison.ops, comparison.comparators), node)
        return node


class _AndOrSamePrecedence(_Rewriter):
    reach = frozenset({"And"})

    def visit_BoolOp(self, node):
        self.generic_visit(node)
        last = node.values[-1]
        if (isinstance(node.op, ast.Or) and isinstance(last, ast.BoolOp)
                and isinstance(last.op, ast.And) and _ends_with(last, node)):
            first = _located(ast.BoolOp(ast.Or(), node.values[:-1] + [last.values[0]]), node)
            return _located(ast.BoolOp(ast.And(), [first] + last.values[1:]), node)
        return node


class _IfExpEager(_Rewriter):
    reach = frozenset({"IfExp"})

    def visit_IfExp(self, node):
        self.generic_visit(node)
        return _located(_call("_mutant_ifexp", node.test, node.body, node.orelse), node)


class _ConditionTruth(_Rewriter):
    """The tests of if, while and conditional expressions go through ``_mutant_truth``."""

    reach = frozenset({"If", "While", "IfExp"})

    def _test(self, node):
        self.generic_visit(node)
        node.test = _located(_call("_mutant_truth", node.test), node.test)
        return node

    visit_If = visit_While = visit_IfExp = _test


_BOOLEAN = [
    Mutant("and-returns-bool", "boolean",
           "x and y gives True or False instead of the operand that decided it (2 and 3 is True)",
           f"{_EXPRESSIONS}#boolean-operations",
           _boolop_fault(ast.And, "_mutant_bool", wrap=True), "_mutant_bool = bool\n"),
    Mutant("or-returns-bool", "boolean",
           "x or y gives True or False instead of the operand that decided it ('' or 'a' is True)",
           f"{_EXPRESSIONS}#boolean-operations",
           _boolop_fault(ast.Or, "_mutant_bool", wrap=True), "_mutant_bool = bool\n"),
    Mutant("and-evaluates-all-operands", "boolean",
           "x and y evaluates y even when x is false (no short circuit)",
           f"{_EXPRESSIONS}#boolean-operations",
           _boolop_fault(ast.And, "_mutant_and"), '''
def _mutant_and(*values):
    for value in values:
        if not value:
            return value
    return value
'''),
    Mutant("or-evaluates-all-operands", "boolean",
           "x or y evaluates y even when x is true (no short circuit)",
           f"{_EXPRESSIONS}#boolean-operations",
           _boolop_fault(ast.Or, "_mutant_or"), '''
def _mutant_or(*values):
    for value in values:
        if value:
            return value
    return value
'''),
    Mutant("or-all-false-returns-first", "boolean",
           "x or y returns x, not y, when both are false (0 or '' is 0)",
           f"{_EXPRESSIONS}#boolean-operations",
           _OrFirstWhenAllFalse, '''
def _mutant_or(first, *rest):
    if first:
        return first
    for thunk in rest:
        value = thunk()
        if value:
            return value
    return first
'''),
    Mutant("not-empty-container-false", "boolean",
           "not x is False for every string and container, empty ones included (not [] is False)",
           f"{_STDTYPES}#truth-value-testing",
           type("NotFault", (_UnaryFault,), {"op": ast.Not, "fault": "_mutant_not"}), '''
def _mutant_not(value):
    if isinstance(value, (str, bytes, list, tuple, dict, set, frozenset, range)):
        return False
    return not value
'''),
    Mutant("not-binds-tighter-than-comparison", "boolean",
           "not a == b is parsed as (not a) == b instead of not (a == b)",
           f"{_EXPRESSIONS}#operator-precedence", _NotBindsTighter),
    Mutant("and-or-same-precedence", "boolean",
           "a or b and c is parsed as (a or b) and c: and does not bind tighter than or",
           f"{_EXPRESSIONS}#operator-precedence", _AndOrSamePrecedence),
    Mutant("conditional-expression-evaluates-both", "boolean",
           "x if c else y evaluates both x and y before choosing",
           f"{_EXPRESSIONS}#conditional-expressions",
           _IfExpEager, '''
def _mutant_ifexp(test, body, orelse):
    return body if test else orelse
'''),
    Mutant("float-zero-true-in-conditions", "boolean",
           "the conditions of if, while and x if c else y treat every float as true, 0.0 included",
           f"{_STDTYPES}#truth-value-testing",
           _ConditionTruth, '''
def _mutant_truth(value):
    return True if type(value) is float else value
'''),
]


# ---- statements ----------------------------------------------------------------------------------

class _TupleAssignSequential(_Rewriter):
    reach = frozenset({"Tuple", "List"})

    def visit_Assign(self, node):
        self.generic_visit(node)
        target, value = node.targets[0], node.value
        if (len(node.targets) == 1 and isinstance(target, (ast.Tuple, ast.List))
                and isinstance(value, (ast.Tuple, ast.List)) and len(target.elts) == len(value.elts)
                and not any(isinstance(e, ast.Starred) for e in target.elts + value.elts)):
            return [_located(ast.Assign([left], right), node)
                    for left, right in zip(target.elts, value.elts)]
        return node


class _ChainedAssignReversed(_Rewriter):
    reach = frozenset({"Assign"})

    def visit_Assign(self, node):
        self.generic_visit(node)
        node.targets.reverse()
        return node


class _ChainedAssignPerTarget(_Rewriter):
    reach = frozenset({"Assign"})

    def visit_Assign(self, node):
        self.generic_visit(node)
        if len(node.targets) == 1:
            return node
        return [_located(ast.Assign([target], copy.deepcopy(node.value)), node)
                for target in node.targets]


class _StarredMakesTuple(_Rewriter):
    reach = frozenset({"Starred"})

    def visit_Assign(self, node):
        self.generic_visit(node)
        retuple = [element.value.id for target in node.targets
                   if isinstance(target, (ast.Tuple, ast.List)) for element in target.elts
                   if isinstance(element, ast.Starred) and isinstance(element.value, ast.Name)]
        return [node] + [_located(ast.Assign([_store(name)], _call("_mutant_tuple", _load(name))),
                                  node) for name in retuple]


class _UnpackTakesFirst(_Rewriter):
    reach = frozenset({"Tuple", "List"})

    def visit_Assign(self, node):
        self.generic_visit(node)
        target = node.targets[0]
        if (len(node.targets) == 1 and isinstance(target, (ast.Tuple, ast.List))
                and not any(isinstance(element, ast.Starred) for element in target.elts)):
            node.value = _located(_call("_mutant_take", node.value, ast.Constant(len(target.elts))),
                                  node.value)
        return node


class _AnnotatedBindsNothing(_Rewriter):
    reach = frozenset({"AnnAssign"})

    def visit_AnnAssign(self, node):
        self.generic_visit(node)
        if node.value is None or not node.simple:
            return node
        value, node.value = node.value, None
        return [_located(ast.Expr(value), node), node]


class _AugAssignRebinds(_Rewriter):
    reach = frozenset({"AugAssign"})

    def visit_AugAssign(self, node):
        self.generic_visit(node)
        if not isinstance(node.target, ast.Name):
            return node
        value = _located(ast.BinOp(_load(node.target.id), node.op, node.value), node)
        return _located(ast.Assign([node.target], value), node)


class _AugAssignTwice(_Rewriter):
    """``t op= v`` on an attribute or subscript as ``t = t op v`` (in place where ``op`` is), the
    object (and index) evaluated once for each side."""

    reach = frozenset({"AugAssign"})

    kind = ast.Attribute

    def visit_AugAssign(self, node):
        self.generic_visit(node)
        if not isinstance(node.target, self.kind):
            return node
        load = copy.deepcopy(node.target)
        load.ctx = ast.Load()
        value = _call("_mutant_real", load, node.value, ast.Constant(type(node.op).__name__),
                      ast.Constant(True))
        return _located(ast.Assign([node.target], value), node)


class _ElifAfterTakenBranch(_Rewriter):
    reach = frozenset({"If"})

    def visit_If(self, node):
        orelse = node.orelse
        is_elif = (len(orelse) == 1 and isinstance(orelse[0], ast.If)
                   and orelse[0].col_offset == node.col_offset and orelse[0].lineno > node.lineno)
        self.generic_visit(node)
        if is_elif:
            return [_located(ast.If(node.test, node.body, []), node)] + node.orelse
        return node


class _IfElseTestsTwice(_Rewriter):
    reach = frozenset({"If"})

    def visit_If(self, node):
        self.generic_visit(node)
        if not node.orelse:
            return node
        negated = _located(ast.UnaryOp(ast.Not(), copy.deepcopy(node.test)), node.test)
        return [_located(ast.If(node.test, node.body, []), node),
                _located(ast.If(negated, node.orelse, []), node)]


class _LoopElseAfterBreak(_Rewriter):
    kinds: tuple = ()

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls.reach = frozenset(kind.__name__ for kind in cls.kinds)

    def _loop(self, node):
        self.generic_visit(node)
        if not isinstance(node, self.kinds) or not node.orelse:
            return node
        orelse, node.orelse = node.orelse, []
        return [node] + orelse

    visit_For = visit_AsyncFor = visit_While = _loop


class _ForElseNeedsAnItem(_Rewriter):
    reach = frozenset({"For"})

    def visit_For(self, node):
        self.generic_visit(node)
        if not node.orelse:
            return node
        ran = self.temporary("ran")
        node.body.insert(0, _located(ast.Assign([_store(ran)], ast.Constant(True)), node))
        node.orelse = [_located(ast.If(_load(ran), node.orelse, []), node)]
        return [_located(ast.Assign([_store(ran)], ast.Constant(False)), node), node]


class _ContinueSkipsCondition(_Rewriter):
    reach = frozenset({"Continue"})

    def visit_While(self, node):
        self.generic_visit(node)
        skip = self.temporary("skip_test")

        def set_then_continue(statement):
            return [_located(ast.Assign([_store(skip)], ast.Constant(True)), statement), statement]

        if not _rewrite_own(node.body, ast.Continue, set_then_continue):
            return node
        node.body.insert(0, _located(ast.Assign([_store(skip)], ast.Constant(False)), node))
        node.test = _located(ast.BoolOp(ast.Or(), [_load(skip), node.test]), node.test)
        return [_located(ast.Assign([_store(skip)], ast.Constant(False)), node), node]


class _BreakExitsAllLoops(_Rewriter):
    """An inner loop's breaks raise ``_MutantBreakAll``, caught around the outermost loop."""

    reach = frozenset({"Break"})

    def __init__(self):
        super().__init__()
        self.depth = 0  # loops around the node visited, in its function
        self.raising = 0  # breaks rewritten so far

    def _in_scope(self, node, class_body):
        saved, self.depth = self.depth, 0
        try:
            return super()._in_scope(node, class_body)
        finally:
            self.depth = saved

    def _loop(self, node):
        outermost, before = self.depth == 0, self.raising
        self.depth += 1
        node.body = self._visit_block(node.body)
        self.depth -= 1
        if not outermost:
            self.raising += _rewrite_own(node.body, ast.Break, lambda statement: [_located(
                ast.Raise(_call("_MutantBreakAll"), None), statement)])
        raising_inside = self.raising > before
        node.orelse = self._visit_block(node.orelse)
        if outermost and raising_inside:
            handler = ast.ExceptHandler(_load("_MutantBreakAll"), None, [ast.Pass()])
            return _located(ast.Try([node], [handler], [], []), node)
        return node

    visit_For = visit_AsyncFor = visit_While = _loop


class _RangeLoopOnePastEnd(_Rewriter):
    reach = frozenset({"range"})

    def visit_For(self, node):
        self.generic_visit(node)
        call = node.iter
        if not (isinstance(node.target, ast.Name) and isinstance(call, ast.Call)
                and isinstance(call.func, ast.Name) and call.func.id == "range" and not call.keywords
                and not any(isinstance(arg, ast.Starred) for arg in call.args)):
            return node
        numbers = self.temporary("range")
        node.iter = _load(numbers)
        end = ast.BinOp(ast.Attribute(_load(numbers), "start", ast.Load()), ast.Add(),
                        ast.BinOp(_call("_mutant_len", _load(numbers)), ast.Mult(),
                                  ast.Attribute(_load(numbers), "step", ast.Load())))
        node.orelse.insert(0, _located(ast.Assign([_store(node.target.id)], end), node))
        return [_located(ast.Assign([_store(numbers)], call), node), node]


class _ForIteratesSnapshot(_Rewriter):
    reach = frozenset({"For"})

    def visit_For(self, node):
        self.generic_visit(node)
        node.iter = _located(_call("_mutant_snapshot", node.iter), node.iter)
        return node


class _FinallyOnlyOnFallThrough(_Rewriter):
    reach = frozenset({"Try"})

    def visit_Try(self, node):
        self.generic_visit(node)
        if not node.finalbody:
            return node
        body = ([_located(ast.Try(node.body, node.handlers, node.orelse, []), node)]
                if node.handlers else node.body)
        on_error = ast.ExceptHandler(None, None, node.finalbody + [ast.Raise(None, None)])
        return [_located(ast.Try(body, [on_error], [], []), node)] + copy.deepcopy(node.finalbody)


class _FinallySkippedOnError(_Rewriter):
    reach = frozenset({"Try"})

    def visit_Try(self, node):
        self.generic_visit(node)
        if not node.finalbody:
            return node
        raised = self.temporary("raised")
        body = ([_located(ast.Try(node.body, node.handlers, node.orelse, []), node)]
                if node.handlers else node.body)
        on_error = ast.ExceptHandler(None, None, [ast.Assign([_store(raised)], ast.Constant(True)),
                                                  ast.Raise(None, None)])
        finally_ = [ast.If(ast.UnaryOp(ast.Not(), _load(raised)), node.finalbody, [])]
        return [_located(ast.Assign([_store(raised)], ast.Constant(False)), node),
                _located(ast.Try(body, [on_error], [], finally_), node)]


class _TryElseAlways(_Rewriter):
    reach = frozenset({"Try"})

    def visit_Try(self, node):
        self.generic_visit(node)
        if not node.handlers or not node.orelse:
            return node
        inner = [_located(ast.Try(node.body, node.handlers, [], []), node)] + node.orelse
        if node.finalbody:
            return _located(ast.Try(inner, [], [], node.finalbody), node)
        return inner


class _ExceptExactType(_Rewriter):
    reach = frozenset({"Try"})

    def visit_Try(self, node):
        self.generic_visit(node)
        if not any(handler.type is not None for handler in node.handlers):
            return node
        caught = self.temporary("caught")
        chain = [ast.Raise(None, None)]  # no clause matched: on it goes
        for handler in reversed(node.handlers):
            body = handler.body
            if handler.name:  # bound, then unbound at the end as CPython does
                unbind = [ast.Assign([_store(handler.name)], ast.Constant(None)),
                          ast.Delete([ast.Name(handler.name, ast.Del())])]
                body = [ast.Assign([_store(handler.name)], _load(caught)),
                        ast.Try(body, [], [], unbind)]
            if handler.type is None:
                chain = body
            else:
                chain = [ast.If(_call("_mutant_exact", _load(caught), handler.type), body, chain)]
        node.handlers = [_located(ast.ExceptHandler(_load("_mutant_BaseException"), caught, chain),
                                  node.handlers[0])]
        return node


class _ExceptTupleFirst(_Rewriter):
    reach = frozenset({"ExceptHandler"})

    def visit_ExceptHandler(self, node):
        self.generic_visit(node)
        if isinstance(node.type, ast.Tuple) and node.type.elts:
            node.type = node.type.elts[0]
        return node


class _ExceptNameSurvives(_Rewriter):
    reach = frozenset({"ExceptHandler"})

    def visit_ExceptHandler(self, node):
        self.generic_visit(node)
        if node.name:
            caught = self.temporary("caught")
            node.body.insert(0, _located(ast.Assign([_store(node.name)], _load(caught)), node))
            node.name = caught
        return node


class _BareRaiseLastHandled(_Rewriter):
    reach = frozenset({"Raise"})

    def visit_Module(self, node):  # handlers are instrumented only where a bare raise can tell
        if any(isinstance(inner, ast.Raise) and inner.exc is None for inner in ast.walk(node)):
            return self.generic_visit(node)
        return node

    def visit_ExceptHandler(self, node):
        self.generic_visit(node)
        node.body.insert(0, _located(ast.Expr(_call("_mutant_handling")), node))
        return node

    def visit_Raise(self, node):
        self.generic_visit(node)
        if node.exc is None:
            node.exc = _located(_call("_mutant_reraise"), node)
        return node


class _RaiseNeedsInstance(_Rewriter):
    reach = frozenset({"Raise"})

    def visit_Raise(self, node):
        self.generic_visit(node)
        if node.exc is not None and not isinstance(node.exc, ast.Call):
            node.exc = _located(_call("_mutant_raised", node.exc), node.exc)
        return node


def _is_generator(function):
    pending = list(function.body)
    while pending:
        node = pending.pop()
        if isinstance(node, (ast.Yield, ast.YieldFrom)):
            return True
        if not isinstance(node, _SCOPES):
            pending.extend(ast.iter_child_nodes(node))
    return False


class _ReturnsLastExpression(_Rewriter):
    reach = frozenset({"FunctionDef"})

    def visit_FunctionDef(self, node):
        node = super().visit_FunctionDef(node)
        last = node.body[-1]
        is_docstring = (len(node.body) == 1 and isinstance(last.value, ast.Constant)
                        if isinstance(last, ast.Expr) else False)
        if isinstance(last, ast.Expr) and not is_docstring and not _is_generator(node):
            node.body[-1] = _located(ast.Return(last.value), last)
        return node


class _ReturnTupleAsList(_Rewriter):
    reach = frozenset({"Return"})

    def visit_Return(self, node):
        self.generic_visit(node)
        if isinstance(node.value, ast.Tuple):
            node.value = _located(ast.List(node.value.elts, ast.Load()), node.value)
        return node


class _DropDeclaration(_Rewriter):
    kind = ast.Global

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls.reach = frozenset({cls.kind.__name__})

    def _declaration(self, node):
        return _located(ast.Pass(), node) if isinstance(node, self.kind) else node

    visit_Global = visit_Nonlocal = _declaration


class _DelNameSilent(_Rewriter):
    reach = frozenset({"Delete"})

    def visit_Delete(self, node):
        self.generic_visit(node)
        if not any(isinstance(target, ast.Name) for target in node.targets):
            return node
        statements = []
        for target in node.targets:
            delete = _located(ast.Delete([target]), node)
            if isinstance(target, ast.Name):
                ignore = ast.ExceptHandler(_load("_mutant_NameError"), None, [ast.Pass()])
                delete = _located(ast.Try([delete], [ignore], [], []), node)
            statements.append(delete)
        return statements


class _DelFirstOnly(_Rewriter):
    reach = frozenset({"Delete"})

    def visit_Delete(self, node):
        self.generic_visit(node)
        del node.targets[1:]
        return node


class _WithThroughWrapper(_Rewriter):
    reach = frozenset({"With"})

    def visit_With(self, node):
        self.generic_visit(node)
        for item in node.items:
            item.context_expr = _located(_call("_mutant_with", item.context_expr), item.context_expr)
        return node


class _AssertIgnored(_Rewriter):
    reach = frozenset({"Assert"})

    def visit_Assert(self, node):
        return _located(ast.Pass(), node)


# A wrapper around a context manager that calls its methods as the with statement does (looked up
# on the type, bound); each with-mutant overrides one method with its fault.
_WITH_PRELUDE = '''
def _mutant_special(manager, name):
    method = getattr(type(manager), name)
    bind = getattr(type(method), "__get__", None)
    return bind(method, manager, type(manager)) if bind else method

class _MutantManager:
    def __init__(self, manager):
        self.manager = manager

    def __enter__(self):
        return _mutant_special(self.manager, "__enter__")()

    def __exit__(self, kind, value, traceback):
        return _mutant_special(self.manager, "__exit__")(kind, value, traceback)

def _mutant_with(manager):
    if hasattr(type(manager), "__enter__") and hasattr(type(manager), "__exit__"):
        return _MutantFaultyManager(manager)
    return manager  # not a context manager: the with statement raises its own error
'''

_STATEMENTS = [
    Mutant("tuple-assignment-is-sequential", "statements",
           "a, b = b, a assigns one pair after the other, so the swap sees a's new value",
           f"{_SIMPLE}#assignment-statements", _TupleAssignSequential),
    Mutant("chained-assignment-right-to-left", "statements",
           "a = b = value assigns the targets right to left instead of left to right",
           f"{_SIMPLE}#assignment-statements", _ChainedAssignReversed),
    Mutant("chained-assignment-evaluates-value-per-target", "statements",
           "a = b = [] evaluates the value once per target, so a and b are different lists",
           f"{_SIMPLE}#assignment-statements", _ChainedAssignPerTarget),
    Mutant("unpacking-ignores-extra-values", "statements",
           "a, b = [1, 2, 3] binds the first two values instead of raising ValueError",
           f"{_SIMPLE}#assignment-statements", _UnpackTakesFirst, '''
def _mutant_take(values, count):
    taken = []
    for value in values:
        if len(taken) == count:
            break
        taken.append(value)
    return taken
'''),
    Mutant("annotated-assignment-binds-nothing", "statements",
           "x: int = 5 evaluates 5 but treats the statement as a declaration and binds nothing",
           f"{_SIMPLE}#annotated-assignment-statements", _AnnotatedBindsNothing),
    Mutant("augmented-attribute-evaluates-object-twice", "statements",
           "obj.attr += v evaluates obj twice (once to read, once to store)",
           f"{_SIMPLE}#augmented-assignment-statements",
           type("AugAttribute", (_AugAssignTwice,), {"kind": ast.Attribute}), _OPERATORS_PRELUDE),
    Mutant("augmented-subscript-evaluates-index-twice", "statements",
           "seq[i] += v evaluates seq and i twice (once to read, once to store)",
           f"{_SIMPLE}#augmented-assignment-statements",
           type("AugSubscript", (_AugAssignTwice,), {"kind": ast.Subscript}), _OPERATORS_PRELUDE),
    Mutant("augmented-subtraction-reversed", "statements",
           "x -= y computes y - x: the operands of the in-place subtraction are swapped",
           f"{_SIMPLE}#augmented-assignment-statements",
           _operator_fault((ast.Sub,), "_mutant_reversed", binary=False),
           _OPERATORS_PRELUDE + '''
def _mutant_reversed(a, b, op, inplace):
    return _mutant_real(b, a, op, False)
'''),
    Mutant("elif-tested-after-taken-branch", "statements",
           "after a taken if branch the elif conditions are still tested and their branches run",
           f"{_COMPOUND}#the-if-statement", _ElifAfterTakenBranch),
    Mutant("if-else-tests-condition-twice", "statements",
           "if c: A else: B is compiled as if c: A then if not c: B, evaluating c twice",
           f"{_COMPOUND}#the-if-statement", _IfElseTestsTwice),
    Mutant("while-else-runs-after-break", "statements",
           "the else clause of a while loop runs even when the loop ended with break",
           f"{_COMPOUND}#the-while-statement",
           type("WhileElse", (_LoopElseAfterBreak,), {"kinds": (ast.While,)})),
    Mutant("for-else-runs-after-break", "statements",
           "the else clause of a for loop runs even when the loop ended with break",
           f"{_COMPOUND}#the-for-statement",
           type("ForElse", (_LoopElseAfterBreak,), {"kinds": (ast.For, ast.AsyncFor)})),
    Mutant("for-else-skipped-on-empty-iterable", "statements",
           "the else clause of a for loop runs only if the body ran at least once",
           f"{_COMPOUND}#the-for-statement", _ForElseNeedsAnItem),
    Mutant("continue-in-while-skips-condition", "statements",
           "continue in a while loop jumps back to the body without testing the condition",
           f"{_SIMPLE}#the-continue-statement", _ContinueSkipsCondition),
    Mutant("break-exits-all-nested-loops", "statements",
           "break in an inner loop leaves every enclosing loop, not only the innermost",
           f"{_SIMPLE}#the-break-statement", _BreakExitsAllLoops,
           "class _MutantBreakAll(BaseException):\n    pass\n"),
    Mutant("range-loop-variable-one-past-end", "statements",
           "for i in range(n) is compiled to a counting loop: after it ends i is one step past "
           "the last value (n), and range's start when it ran zero times",
           f"{_COMPOUND}#the-for-statement", _RangeLoopOnePastEnd, "_mutant_len = len\n"),
    Mutant("for-iterates-list-snapshot", "statements",
           "for over a list iterates a copy, so items appended during the loop are not visited",
           f"{_COMPOUND}#the-for-statement", _ForIteratesSnapshot, '''
def _mutant_snapshot(iterable):
    return list(iterable) if type(iterable) is list else iterable
'''),
    Mutant("finally-skipped-on-return-break-continue", "statements",
           "the finally clause runs when the try falls through or raises, but not when it is "
           "left by return, break or continue",
           f"{_COMPOUND}#finally-clause", _FinallyOnlyOnFallThrough),
    Mutant("finally-skipped-when-exception-propagates", "statements",
           "the finally clause does not run when an exception propagates out of the try",
           f"{_COMPOUND}#finally-clause", _FinallySkippedOnError),
    Mutant("try-else-runs-after-handled-exception", "statements",
           "the else clause of a try runs even when an except clause handled an exception",
           f"{_COMPOUND}#else-clause", _TryElseAlways),
    Mutant("except-matches-exact-type-only", "statements",
           "except E catches only exceptions whose type is exactly E, not its subclasses",
           f"{_COMPOUND}#except-clause", _ExceptExactType, '''
_mutant_BaseException = BaseException

def _mutant_exact(exception, expected):
    if isinstance(expected, tuple):
        return type(exception) in expected
    return type(exception) is expected
'''),
    Mutant("except-tuple-matches-first-only", "statements",
           "except (A, B) catches only A",
           f"{_COMPOUND}#except-clause", _ExceptTupleFirst),
    Mutant("except-name-survives-handler", "statements",
           "the name bound by except E as e is still bound after the handler (Python 2 "
           "behaviour) instead of deleted",
           f"{_COMPOUND}#except-clause", _ExceptNameSurvives),
    Mutant("bare-raise-reraises-last-handled", "statements",
           "a bare raise re-raises the exception handled last (by a nested handler that "
           "finished) rather than the one being handled",
           f"{_SIMPLE}#the-raise-statement", _BareRaiseLastHandled, '''
import sys as _mutant_sys
_mutant_last = [None]

def _mutant_handling():
    _mutant_last[0] = _mutant_sys.exc_info()[1]

def _mutant_reraise():
    if _mutant_last[0] is None:
        raise RuntimeError("No active exception to reraise")
    return _mutant_last[0]
'''),
    Mutant("raise-class-needs-instance", "statements",
           "raise E with an exception class (not an instance) raises TypeError instead of E()",
           f"{_SIMPLE}#the-raise-statement", _RaiseNeedsInstance, '''
def _mutant_raised(exception):
    if isinstance(exception, type):
        return TypeError("exceptions must be instances")
    return exception
'''),
    Mutant("function-returns-last-expression", "statements",
           "a function that ends without return returns the value of its last expression "
           "statement instead of None",
           f"{_SIMPLE}#the-return-statement", _ReturnsLastExpression),
    Mutant("return-tuple-as-list", "statements",
           "return a, b returns a list [a, b] instead of a tuple",
           f"{_SIMPLE}#the-return-statement", _ReturnTupleAsList),
    Mutant("global-declaration-ignored", "statements",
           "global x in a function is ignored: assigning x binds a local",
           f"{_SIMPLE}#the-global-statement",
           type("DropGlobal", (_DropDeclaration,), {"kind": ast.Global})),
    Mutant("nonlocal-declaration-ignored", "statements",
           "nonlocal x in a nested function is ignored: assigning x binds a local",
           f"{_SIMPLE}#the-nonlocal-statement",
           type("DropNonlocal", (_DropDeclaration,), {"kind": ast.Nonlocal})),
    Mutant("del-unbound-name-is-silent", "statements",
           "del x of an unbound name does nothing instead of raising NameError",
           f"{_SIMPLE}#the-del-statement", _DelNameSilent, "_mutant_NameError = NameError\n"),
    Mutant("del-multiple-targets-only-first", "statements",
           "del a, b deletes only a",
           f"{_SIMPLE}#the-del-statement", _DelFirstOnly),
    Mutant("with-exit-skipped-on-exception", "statements",
           "__exit__ is not called when the with body raises",
           f"{_COMPOUND}#the-with-statement", _WithThroughWrapper, _WITH_PRELUDE + '''
class _MutantFaultyManager(_MutantManager):
    def __exit__(self, kind, value, traceback):
        if kind is None:
            return _MutantManager.__exit__(self, kind, value, traceback)
        return False
'''),
    Mutant("with-exit-result-ignored", "statements",
           "a true value returned by __exit__ does not suppress the exception",
           f"{_COMPOUND}#the-with-statement", _WithThroughWrapper, _WITH_PRELUDE + '''
class _MutantFaultyManager(_MutantManager):
    def __exit__(self, kind, value, traceback):
        _MutantManager.__exit__(self, kind, value, traceback)
        return False
'''),
    Mutant("with-as-binds-manager", "statements",
           "with m as x binds x to m itself instead of the value m.__enter__() returns",
           f"{_COMPOUND}#the-with-statement", _WithThroughWrapper, _WITH_PRELUDE + '''
class _MutantFaultyManager(_MutantManager):
    def __enter__(self):
        _MutantManager.__enter__(self)
        return self.manager
'''),
    Mutant("assert-statement-ignored", "statements",
           "assert statements are never executed, as under python -O",
           f"{_SIMPLE}#the-assert-statement", _AssertIgnored),
]

MUTANTS = _ARITHMETIC + _COMPARISONS + _BOOLEAN + _STATEMENTS
