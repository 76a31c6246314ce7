"""tinyfuzz.execution.shrink: the AST-aware reducer (issue 6).

Programs run only in workers (bench/tasks/differential.py: CPython and a truncating-``//`` copy of
tinyfuzz's runner); the other tests use interestingness functions that only look at the text.
"""

import ast
import sys
from pathlib import Path

import pytest

from tinyfuzz.errors import InvalidArgument
from tinyfuzz.execution.shrink import compact, reduce

TASKS = Path(__file__).resolve().parent.parent / "bench" / "tasks"


@pytest.fixture(scope="module")
def floordiv():
    sys.path.insert(0, str(TASKS))
    try:
        from differential import DifferentialTest
    finally:
        sys.path.remove(str(TASKS))
    source = (TASKS / "floordiv59.py").read_text()
    with DifferentialTest(source) as test:
        yield source, test


def test_floordiv_task_reaches_shrinkray_size_in_fewer_tests_than_picireny(floordiv):
    source, test = floordiv
    assert len(source.splitlines()) == 59 and "print(-7 // 2 * x)" in source
    result = reduce(source, test)
    assert len(result.source) <= 21, result.source
    assert result.tests_run < 200
    assert test(result.source)  # the result is itself interesting
    assert result.history[0] == len(source) and result.history[-1] == len(result.source)
    assert result.history == sorted(result.history, reverse=True)
    assert not result.exhausted


def test_deterministic_same_input_same_output_and_test_count(floordiv):
    source, test = floordiv
    first, second = reduce(source, test), reduce(source, test)
    assert (first.source, first.tests_run, first.history) == \
        (second.source, second.tests_run, second.history)


def test_candidates_are_tried_shortest_first_within_a_pass():
    source = "a = 1\nb = 22\nkeep = 333\nc = 4444\nif keep:\n    print(keep)\n"
    tried = []

    def interesting(text):  # nothing but the input: every pass tries all of its candidates
        tried.append(text)
        return text == source

    result = reduce(source, interesting)
    assert result.source == source and len(tried) == result.tests_run > 20
    assert len(tried) == len(set(tried))  # no text is tested twice
    # one shortest-first (length, then text) run per pass: at most 6 breaks for 7 passes
    keys = [(len(t), t) for t in tried[1:]]
    breaks = sum(1 for a, b in zip(keys, keys[1:]) if b < a)
    assert breaks <= 6
    first_run = keys[: next((i + 1 for i, (a, b) in enumerate(zip(keys, keys[1:])) if b < a),
                            len(keys))]
    assert first_run == sorted(first_run) and len(first_run) >= 5


def test_never_returns_an_uninteresting_program():
    def interesting(text):  # needs a loop that still prints two things
        try:
            tree = ast.parse(text)
        except SyntaxError:
            return False
        return any(isinstance(n, ast.For) for n in ast.walk(tree)) and text.count("print") >= 2

    source = ("x = 5\nfor i in range(x):\n    if i % 2:\n        print(i)\n    else:\n"
              "        print(-i)\nprint(x * 2)\n")
    result = reduce(source, interesting)
    assert interesting(result.source)
    assert len(result.source) < len(source)


def test_uninteresting_input_is_refused():
    with pytest.raises(InvalidArgument, match="not interesting"):
        reduce("print(1)", lambda text: False)


def test_unparseable_input_is_reduced_by_the_line_pass():
    source = "a = 1\nb = (\nc = 3\nprint(a b)\nd = 4\n"

    def interesting(text):
        return "print(a b)" in text

    result = reduce(source, interesting)
    assert result.source == "print(a b)"
    assert result.accepted.get("lines", 0) >= 1


def test_max_tests_is_respected():
    calls = []
    source = "\n".join(f"v{i} = {i}" for i in range(30)) + "\nprint(v7)"

    def interesting(text):
        calls.append(text)
        return "print(" in text

    result = reduce(source, interesting, max_tests=10)
    assert result.tests_run == len(calls) == 10
    assert result.exhausted
    assert interesting(result.source) and len(result.source) < len(source)
    with pytest.raises(InvalidArgument, match="max_tests"):
        reduce(source, interesting, max_tests=0)


def test_passes_hoist_inline_and_compact():
    source = ("value = 7\nwhile True:\n    print(divmod(value + 100, 2))\n    break\n")

    def interesting(text):  # only looks at the text: divmod's first argument holds 7 or `value`
        try:
            tree = ast.parse(text)
        except SyntaxError:
            return False
        firsts = [call.args[0] for call in ast.walk(tree) if isinstance(call, ast.Call)
                  and getattr(call.func, "id", "") == "divmod" and call.args]
        holds = any(getattr(node, "value", None) == 7 or getattr(node, "id", "") == "value"
                    for first in firsts for node in ast.walk(first))
        assigned = "value" not in text or "value = 7" in text or "value=7" in text
        return holds and assigned

    result = reduce(source, interesting)
    assert result.source == "divmod(7,0)"
    assert {"hoist", "inline", "compact"} <= set(result.accepted)


def test_rename_to_shortest_unused_names():
    source = "total = 3\ncounter = total\nprint(counter, counter, total)"

    def interesting(text):  # two distinct variables, one assigned from the other
        tree = ast.parse(text)
        names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)} - {"print"}
        return len(names) == 2 and "3" in text and text.count("print(") == 1

    result = reduce(source, interesting)
    assert interesting(result.source)
    assert result.accepted.get("rename")
    assert set(n.id for n in ast.walk(ast.parse(result.source))
               if isinstance(n, ast.Name)) <= {"a", "b", "print"}


def test_compact_keeps_the_ast():
    text = "x = 7 // 2 * y\nif x > -1:\n    print(x - -1, 1 .real, 'a' if x else b)"
    squeezed = compact(text)
    assert squeezed == "x=7//2*y\nif x>-1:\n print(x--1,1 .real,'a' if x else b)"
    assert ast.dump(ast.parse(squeezed)) == ast.dump(ast.parse(text))


def test_lambda_and_conditional_expression_bodies_are_expressions_not_statement_lists():
    # found by a campaign: the inline pass walked lambda's body as if it were a statement list
    source = "a = 1\nf = lambda: 0\nb = 2 if a else 3\nprint(a, f(), b)\n"
    result = reduce(source, lambda s: "print" in s and "lambda" in s)
    assert "lambda" in result.source and len(result.source) < len(source)


def test_a_compact_input_is_reduced_further():
    """An input reduced before comes compact (``7//2``): candidates are rendered compact too, or
    every AST candidate would be longer than the input and none tried."""
    result = reduce("for a in range(0,6,2):\n print(1/2)", lambda text: "range(" in text and "print(" in text)
    assert result.source == "for a in range(0,0,0):\n print(0)"


def test_and_chains_lose_operands_and_a_name_read_once_is_inlined():
    keep = lambda text: "not" in text and " and " in text and "print(" in text  # noqa: E731
    assert reduce("if not 0 and 0 and 1 and 0:\n print(0)", keep).source.count(" and ") == 1
    inline = reduce("a = 0 / 1\nprint(a)", lambda text: "print(" in text and
                    ("print(0/" in text.replace(" ", "") or "a = 0 / 1" in text))
    assert inline.source == "print(0/0)"  # the assignment gone, the value where it was read


def test_an_assignment_is_hoisted_to_its_value():
    result = reduce("a = ''.center(0, '*')", lambda text: "center" in text)
    assert result.source == "''.center(0,0)"
