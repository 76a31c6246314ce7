"""What a semantic mutant is: one deliberate fault of a Python implementation, written down.

Standard library only: the mutant runner (a CPython worker with the fault injected) loads this file
and the suites beside it by path, the way a toy compiler would be run.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

# The sections of the language and library references a generated program can touch.
SECTIONS = (
    "arithmetic",     # ints, floats, bools: signs, rounding, overflow, conversions
    "comparisons",    # ==, <, chained comparisons, is, in
    "boolean",        # and, or, not, truthiness
    "statements",     # assignment forms, augmented assignment, if/elif/else, for/while/break/
                      # continue/else, try/except/else/finally, raise, return, global/nonlocal, del, with
    "functions",      # defaults, keyword and positional-only arguments, *args/**kwargs, closures,
                      # recursion, generators
    "classes",        # attributes, inheritance, super, dunder methods, properties
    "comprehensions", # list/set/dict comprehensions, generator expressions, their scopes
    "strings",        # methods, slicing, formatting
    "containers",     # list/dict/set/tuple operations, sorting, unpacking
    "builtins",       # range, round, divmod, pow, min/max, sum, enumerate, zip, sorted, print's
                      # arguments, repr/str of every type
)


@dataclass(frozen=True)
class Mutant:
    """A fault a real implementation could plausibly have.

    ``transform`` rewrites the program's syntax tree before it is compiled (an operator swapped, a
    statement's meaning changed); ``prelude`` is Python source run in the program's global namespace
    first (a builtin shadowed by a faulty one, a helper the rewritten tree calls). One or both.
    """

    id: str  # unique, kebab-case, e.g. "floordiv-truncates"
    section: str  # one of SECTIONS
    fault: str  # one line: what this implementation gets wrong
    reference: str  # where the right behaviour is documented (a docs.python.org URL with its anchor)
    transform: type[ast.NodeTransformer] | None = None
    prelude: str = ""

    def __post_init__(self):
        if self.section not in SECTIONS:
            raise ValueError(f"mutant {self.id}: section {self.section!r} is not one of {SECTIONS}")
        if self.transform is None and not self.prelude:
            raise ValueError(f"mutant {self.id}: give a transform, a prelude or both")
