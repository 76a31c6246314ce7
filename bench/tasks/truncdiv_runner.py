"""A deliberately buggy Python for the reduction benchmark: CPython whose ``//`` truncates toward zero.

It is tinyfuzz's own worker (``tinyfuzz/execution/_runner.py``, same JSON-lines protocol) with ``compile``
replaced, for the programs it runs, by one that first rewrites every floor division (``a // b``,
``a //= b``) into a call of ``__truncdiv__``, which rounds toward zero like C does. Floor and
truncating division agree unless exactly one operand is negative, so only such lines show the bug.
Run it as a worker: ``Worker(argv=[sys.executable, "-s", ".../truncdiv_runner.py"])``.
"""

import ast
import builtins
import importlib.util
import math
import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
if sys.path and os.path.abspath(sys.path[0] or ".") == _HERE:
    del sys.path[0]  # programs must not import the benchmark's files
_spec = importlib.util.spec_from_file_location(
    "_runner", os.path.join(_HERE, os.pardir, os.pardir, "tinyfuzz", "execution", "_runner.py"))
_runner = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_runner)


def __truncdiv__(a, b):
    if isinstance(a, int) and isinstance(b, int):
        q = abs(a) // abs(b)  # ZeroDivisionError as usual
        return q if (a < 0) == (b < 0) else -q
    q = a / b
    return float(math.trunc(q)) if math.isfinite(q) else q


class _Truncate(ast.NodeTransformer):
    def visit_BinOp(self, node):
        self.generic_visit(node)
        if isinstance(node.op, ast.FloorDiv):
            return ast.copy_location(ast.Call(ast.Name("__truncdiv__", ast.Load()),
                                              [node.left, node.right], []), node)
        return node

    def visit_AugAssign(self, node):
        self.generic_visit(node)
        if isinstance(node.op, ast.FloorDiv) and isinstance(node.target, ast.Name):
            load = ast.Name(node.target.id, ast.Load())
            call = ast.Call(ast.Name("__truncdiv__", ast.Load()), [load, node.value], [])
            return ast.copy_location(ast.Assign([node.target], call), node)
        return node


_real_compile = builtins.compile


def _buggy_compile(source, filename, mode, *args, **kwargs):
    tree = _Truncate().visit(ast.parse(source, filename, mode))
    return _real_compile(ast.fix_missing_locations(tree), filename, mode, *args, **kwargs)


builtins.__truncdiv__ = __truncdiv__
_runner.compile = _buggy_compile  # the name run_program looks up (module globals before builtins)

if __name__ == "__main__":
    _runner.main()
