"""The ready-made differential test: ``pytest --pyargs tinyfuzz.differential --target pypy``.

It draws programs from the grammar (``--tinyfuzz-grammar``, default tinypy; constructs newer than
the target's Python version left out), runs each on the reference and the target, and fails on a
difference the target's documented differences do not explain. Hypothesis shrinks the program, the
AST-aware reducer finishes, and the finding is saved to ``crashes/<target>/`` (``--tinyfuzz-crashes``),
from where later runs replay it. Writing your own is the same few lines::

    from hypothesis import given
    from tinyfuzz import from_grammar

    def test_mine(tinyfuzz_differential):
        @tinyfuzz_differential.settings
        @given(from_grammar("python", level=None))
        def check(program):
            tinyfuzz_differential.check(program.source)
        check()
"""

import pytest
from hypothesis import given


@pytest.mark.tinyfuzz
def test_differential(tinyfuzz_differential):
    @tinyfuzz_differential.settings
    @given(tinyfuzz_differential.strategy)
    def agrees(program):
        tinyfuzz_differential.check(program.source)

    agrees()
