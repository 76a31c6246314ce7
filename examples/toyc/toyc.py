"""toyc: a toy interpreter for TinyPy, the Python subset of strategies/tinypy.bnf.

    python toyc.py PROGRAM.py
    python toyc.py --tinyfuzz-worker     # serve tinyfuzz's worker protocol (tinyfuzz.adapter)

It tokenizes, parses and evaluates the program itself (no exec, eval or compile): integer and float
variables, ``x = expr``, ``+ - * /`` with parentheses, ``print(expr)``, if/elif/else with comparisons
and ``and``/``or``/``not``, and ``for v in range(a, b[, s]):`` loops. An error prints a Python-style
traceback to stderr and exits with 1, so tinyfuzz's ``command`` targets read it like CPython's.

It carries three seeded bugs, each fixed when its environment variable is set (to anything but 0):

    TOYC_FIX_DIV    ``6 / 3`` is ``2`` (an int) instead of ``2.0``: exact quotients stay ints
    TOYC_FIX_NOT    ``not`` binds looser than ``and``: ``not (a) and (b)`` is ``not (a and b)``
    TOYC_FIX_RANGE  ``range(a, b, s)`` with s > 1 yields b itself when (b - a) is a multiple of s
"""

import os
import re
import sys


def fixed(bug):
    return os.environ.get(f"TOYC_FIX_{bug}", "0") not in ("", "0")


FIX_DIV, FIX_NOT, FIX_RANGE = fixed("DIV"), fixed("NOT"), fixed("RANGE")


class ToyError(Exception):
    """An error of the program being run: reported as a Python exception of type ``kind``."""

    def __init__(self, kind, message, line=None):
        super().__init__(message)
        self.kind, self.message, self.line = kind, message, line
        self.python_type = kind  # what tinyfuzz's worker protocol reports (--tinyfuzz-worker)


# ---------------------------------------------------------------------------------------- tokens

TOKEN = re.compile(r"\s*(?:(?P<num>\d+)|(?P<name>[A-Za-z_]\w*)|(?P<op>==|!=|<=|>=|[-+*/()<>=,:]))")
KEYWORDS = {"if", "elif", "else", "for", "in", "and", "or", "not"}


def tokenize(source):
    """A list of (kind, value, line): NUM, NAME, OP, NEWLINE, INDENT, DEDENT, then EOF."""
    tokens, indents = [], [0]
    for number, text in enumerate(source.splitlines(), 1):
        if not text.strip() or text.lstrip().startswith("#"):
            continue
        stripped = text.lstrip(" \t")
        width = len(text[:len(text) - len(stripped)].expandtabs(8))
        if width > indents[-1]:
            indents.append(width)
            tokens.append(("INDENT", width, number))
        while width < indents[-1]:
            indents.pop()
            tokens.append(("DEDENT", width, number))
        if width != indents[-1]:
            raise ToyError("IndentationError", "unindent does not match any outer indentation level",
                           number)
        position, end = 0, len(stripped.split("#")[0].rstrip())  # no strings: # starts a comment
        while position < end:
            match = TOKEN.match(stripped, position)
            if not match or match.end() == position:
                raise ToyError("SyntaxError", "invalid syntax", number)
            kind = match.lastgroup.upper()
            value = int(match.group(kind.lower())) if kind == "NUM" else match.group(match.lastgroup)
            tokens.append((kind, value, number))
            position = match.end()
        tokens.append(("NEWLINE", None, number))
    last = tokens[-1][2] if tokens else 1
    tokens += [("DEDENT", 0, last)] * (len(indents) - 1) + [("EOF", None, last)]
    return tokens


# ---------------------------------------------------------------------------------------- parser
# Expressions are tuples: ("num", n), ("name", x), ("binop", op, left, right), ("neg", e),
# ("not", e), ("and", left, right), ("or", left, right), ("compare", first, [(op, e), ...]).
# Statements are tuples whose second item is their line number.

class Parser:
    def __init__(self, tokens):
        self.tokens, self.position = tokens, 0

    def peek(self, value=None, kind=None):
        token_kind, token_value, _ = self.tokens[self.position]
        return (kind is None or token_kind == kind) and (value is None or token_value == value)

    def take(self, value=None, kind=None):
        if not self.peek(value, kind):
            raise ToyError("SyntaxError", "invalid syntax", self.tokens[self.position][2])
        token = self.tokens[self.position]
        self.position += 1
        return token

    def accept(self, value):
        if self.peek(value) and self.tokens[self.position][0] in ("OP", "NAME"):
            self.position += 1
            return True
        return False

    def program(self):
        statements = []
        while not self.peek(kind="EOF"):
            statements.append(self.statement())
        return statements

    def statement(self):
        line = self.tokens[self.position][2]
        if self.accept("if"):
            branches = [(self.expression(), self.block())]
            while self.accept("elif"):
                branches.append((self.expression(), self.block()))
            otherwise = self.block() if self.accept("else") else []
            return ("if", line, branches, otherwise)
        if self.accept("for"):
            variable = self.take(kind="NAME")[1]
            self.take("in")
            self.take("range")
            self.take("(")
            arguments = [self.expression()]
            while self.accept(","):
                arguments.append(self.expression())
            self.take(")")
            if len(arguments) > 3:
                raise ToyError("TypeError", f"range expected at most 3 arguments, got {len(arguments)}",
                               line)
            return ("for", line, variable, arguments, self.block())
        statement = self.simple_statement(line)
        self.take(kind="NEWLINE")
        return statement

    def simple_statement(self, line):
        if self.accept("print"):
            self.take("(")
            value = None if self.peek(")") else self.expression()
            self.take(")")
            return ("print", line, value)
        name = self.take(kind="NAME")[1]
        if name in KEYWORDS:
            raise ToyError("SyntaxError", "invalid syntax", line)
        self.take("=")
        return ("assign", line, name, self.expression())

    def block(self):
        """``: NEWLINE INDENT statement+ DEDENT``, or ``: statement`` on the same line."""
        self.take(":")
        if not self.peek(kind="NEWLINE"):
            statement = self.simple_statement(self.tokens[self.position][2])
            self.take(kind="NEWLINE")
            return [statement]
        self.take(kind="NEWLINE")
        if not self.peek(kind="INDENT"):
            raise ToyError("IndentationError", "expected an indented block",
                           self.tokens[self.position][2])
        self.take(kind="INDENT")
        body = [self.statement()]
        while not self.peek(kind="DEDENT"):
            body.append(self.statement())
        self.take(kind="DEDENT")
        return body

    # Precedence, loosest first: or, and, not, comparisons, + -, * /, unary minus.
    def expression(self):
        left = self.conjunction()
        while self.accept("or"):
            left = ("or", left, self.conjunction())
        return left

    def conjunction(self):
        left = self.negation()
        while self.accept("and"):
            left = ("and", left, self.negation())
        return left

    def negation(self):
        if self.accept("not"):
            # BUG (TOYC_FIX_NOT): the operand of `not` is parsed one level too loose, so
            # `not x and y` becomes `not (x and y)` instead of `(not x) and y`.
            return ("not", self.negation() if FIX_NOT else self.conjunction())
        return self.comparison()

    def comparison(self):
        first, rest = self.sum(), []
        while self.tokens[self.position][0] == "OP" and self.tokens[self.position][1] in COMPARE:
            rest.append((self.take()[1], self.sum()))
        return ("compare", first, rest) if rest else first

    def sum(self):
        left = self.product()
        while self.peek("+", "OP") or self.peek("-", "OP"):
            left = ("binop", self.take()[1], left, self.product())
        return left

    def product(self):
        left = self.unary()
        while self.peek("*", "OP") or self.peek("/", "OP"):
            left = ("binop", self.take()[1], left, self.unary())
        return left

    def unary(self):
        if self.accept("-"):
            return ("neg", self.unary())
        if self.accept("+"):
            return self.unary()
        if self.peek(kind="NUM"):
            return ("num", self.take()[1])
        if self.accept("("):
            inner = self.expression()
            self.take(")")
            return inner
        name = self.take(kind="NAME")[1]
        if name in KEYWORDS:
            raise ToyError("SyntaxError", "invalid syntax", self.tokens[self.position - 1][2])
        return ("name", name)


# ------------------------------------------------------------------------------------- evaluator

COMPARE = {"<": lambda a, b: a < b, ">": lambda a, b: a > b, "<=": lambda a, b: a <= b,
           ">=": lambda a, b: a >= b, "==": lambda a, b: a == b, "!=": lambda a, b: a != b}


def divide(a, b):
    if b == 0:
        raise ToyError("ZeroDivisionError", "float division by zero"
                       if isinstance(a, float) or isinstance(b, float) else "division by zero")
    if not FIX_DIV and isinstance(a, int) and isinstance(b, int) and a % b == 0:
        return a // b  # BUG (TOYC_FIX_DIV): "keep exact quotients exact", but / is true division
    return a / b


ARITHMETIC = {"+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b,
              "/": divide}


def range_length(start, stop, step):
    if step == 0:
        raise ToyError("ValueError", "range() arg 3 must not be zero")
    if step == 1:
        return max(0, stop - start)
    if step > 0:
        if start >= stop:
            return 0
        if FIX_RANGE:
            return (stop - start + step - 1) // step
        return (stop - start) // step + 1  # BUG (TOYC_FIX_RANGE): one too many when step divides
    return max(0, (start - stop - step - 1) // -step)


class Interpreter:
    def __init__(self, output):
        self.variables, self.output, self.line = {}, output, None

    def run(self, statements):
        for statement in statements:
            self.line = statement[1]
            getattr(self, "do_" + statement[0])(*statement[2:])

    def do_assign(self, name, expression):
        self.variables[name] = self.value(expression)

    def do_print(self, expression):
        self.output.write(("" if expression is None else str(self.value(expression))) + "\n")

    def do_if(self, branches, otherwise):
        for condition, body in branches:
            if self.value(condition):
                return self.run(body)
        self.run(otherwise)

    def do_for(self, variable, arguments, body):
        values = [self.value(argument) for argument in arguments]
        for value in values:
            if not isinstance(value, int):
                raise ToyError("TypeError",
                               f"'{type(value).__name__}' object cannot be interpreted as an integer")
        if len(values) == 1:
            values = [0] + values
        start, stop, step = values if len(values) == 3 else values + [1]
        for index in range(range_length(start, stop, step)):
            self.variables[variable] = start + index * step
            self.run(body)

    def value(self, node):
        kind = node[0]
        if kind == "num":
            return node[1]
        if kind == "name":
            if node[1] not in self.variables:
                raise ToyError("NameError", f"name '{node[1]}' is not defined")
            return self.variables[node[1]]
        if kind == "neg":
            return -self.value(node[1])
        if kind == "not":
            return not self.value(node[1])
        if kind == "and":
            left = self.value(node[1])
            return self.value(node[2]) if left else left
        if kind == "or":
            left = self.value(node[1])
            return left if left else self.value(node[2])
        if kind == "compare":
            left = self.value(node[1])
            for operator, operand in node[2]:
                right = self.value(operand)
                if not COMPARE[operator](left, right):
                    return False
                left = right
            return True
        left, right = self.value(node[2]), self.value(node[3])
        try:
            return ARITHMETIC[node[1]](left, right)
        except OverflowError as error:
            raise ToyError("OverflowError", str(error)) from None


def run(source):
    """Interpret one program, printing to sys.stdout; a ToyError is the program's exception."""
    Interpreter(sys.stdout).run(Parser(tokenize(source)).program())


def main(argv):
    if argv[1:] == ["--tinyfuzz-worker"]:  # the fast form: one process for every program
        from tinyfuzz.adapter import serve

        serve(run)
        return 0
    if len(argv) != 2:
        sys.stderr.write("usage: python toyc.py PROGRAM.py | --tinyfuzz-worker\n")
        return 2
    path = argv[1]
    with open(path, encoding="utf-8") as handle:
        source = handle.read()
    interpreter = Interpreter(sys.stdout)
    try:
        interpreter.run(Parser(tokenize(source)).program())
    except ToyError as error:
        line = error.line or interpreter.line or 1
        text = source.splitlines()[line - 1].strip() if source.splitlines()[line - 1:] else ""
        sys.stdout.flush()
        sys.stderr.write("Traceback (most recent call last):\n"
                         f'  File "{path}", line {line}, in <module>\n    {text}\n'
                         f"{error.kind}: {error.message}\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
