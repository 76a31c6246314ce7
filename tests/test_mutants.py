"""The semantic mutants (``tinyfuzz/science/_mutant*.py``) and mutation scoring
(``tinyfuzz/science/mutants.py``, ``tinyfuzz mutants``): the suite is well formed, every mutant is
killable by a small witness and leaves a neutral program alone, the scorer excludes
nondeterministic programs and reports the smallest killer, and programs a mutant cannot reach
really are left unchanged by it."""

from __future__ import annotations

import ast
import subprocess
import sys
from collections import Counter

import pytest
from click.testing import CliRunner

from tinyfuzz.cli import main
from tinyfuzz.engine.sampler import Sampler
from tinyfuzz.errors import TinyfuzzError
from tinyfuzz.execution.worker import Limits, WorkerPool
from tinyfuzz.science import _mutants_language
from tinyfuzz.science._mutant_api import SECTIONS, Mutant
from tinyfuzz.science.mutants import RUNNER, _bindings, _facts, _reach, _reaches, check_suite, load_suite, score

SUITE = load_suite()
LANGUAGE = _mutants_language.MUTANTS
NEUTRAL = "print(1)"
ENV = {"PYTHONHASHSEED": "1"}

# For each mutant of _mutants_language.py, a program whose outcome shows its fault.
WITNESSES = {
    "floordiv-truncates-toward-zero": "print(-7 // 2)",
    "modulo-takes-dividend-sign": "print(-7 % 3)",
    "int-overflow-wraps-at-64-bits": "print(2 ** 63)",
    "int-true-division-floors": "print(7 / 2)",
    "int-true-division-via-float": "print(10 ** 400 / 10 ** 399)",
    "true-division-by-zero-gives-infinity": "print(1 / 0)",
    "float-floordiv-gives-int": "print(7.0 // 2)",
    "int-power-negative-exponent-truncates": "print(2 ** -1)",
    "power-left-associative": "print(2 ** 3 ** 2)",
    "unary-minus-binds-tighter-than-power": "print(-2 ** 2)",
    "negation-loses-negative-zero": "x = 0.0\nprint(-x)",
    "bool-arithmetic-gives-bool": "print(True + True)",
    "right-shift-of-negative-is-logical": "print(-8 >> 1)",
    "bitwise-on-magnitudes": "print(-1 & 3)",
    "int-of-float-rounds": "print(int(2.7))",
    "chained-comparison-as-nested": "print(3 > 2 > 1)",
    "chained-comparison-evaluates-middle-twice": (
        "def two():\n    print('two')\n    return 2\nprint(1 < two() < 3)"),
    "chained-comparison-evaluates-all-operands": (
        "def zero():\n    print('zero')\n    return 0\nprint(2 < 1 < zero())"),
    "int-float-comparison-through-float": "print(2 ** 53 + 1 == 2.0 ** 53)",
    "int-float-never-equal": "print(1 == 1.0)",
    "equality-identity-shortcut": "x = float('nan')\nprint(x == x)",
    "is-not-parsed-as-is-not-operand": "print(1 is not None)",
    "in-dict-tests-values": "print(1 in {'a': 1})",
    "in-string-matches-single-characters": "print('ab' in 'cab')",
    "ordering-mixed-types-false": "print(1 < 'a')",
    "and-returns-bool": "print(2 and 3)",
    "or-returns-bool": "print('' or 'a')",
    "and-evaluates-all-operands": (
        "def f():\n    print('f')\n    return 1\nprint(0 and f())"),
    "or-evaluates-all-operands": (
        "def f():\n    print('f')\n    return 1\nprint(1 or f())"),
    "or-all-false-returns-first": "print(repr(0 or ''))",
    "not-empty-container-false": "print(not [])",
    "not-binds-tighter-than-comparison": "print(not 1 == 2)",
    "and-or-same-precedence": "print(1 or 0 and 0)",
    "conditional-expression-evaluates-both": (
        "def f():\n    print('f')\n    return 1\nprint(0 if True else f())"),
    "float-zero-true-in-conditions": "if 0.0:\n    print('taken')",
    "tuple-assignment-is-sequential": "a, b = 1, 2\na, b = b, a\nprint(a, b)",
    "chained-assignment-right-to-left": "x = [0, 0]\ni = 0\ni = x[i] = 1\nprint(x)",
    "chained-assignment-evaluates-value-per-target": "a = b = []\na.append(1)\nprint(b)",
    "unpacking-ignores-extra-values": "a, b = [1, 2, 3]\nprint(a, b)",
    "annotated-assignment-binds-nothing": "x: int = 5\nprint(x)",
    "augmented-attribute-evaluates-object-twice": (
        "class Box:\n    value = 1\nbox = Box()\ndef get():\n    print('get')\n    return box\n"
        "get().value += 1\nprint(box.value)"),
    "augmented-subscript-evaluates-index-twice": (
        "xs = [0, 0]\ndef index():\n    print('index')\n    return 1\nxs[index()] += 5\nprint(xs)"),
    "augmented-subtraction-reversed": "x = 5\nx -= 2\nprint(x)",
    "elif-tested-after-taken-branch": "x = 5\nif x > 0:\n    print('a')\nelif x > 1:\n    print('b')",
    "if-else-tests-condition-twice": (
        "def f():\n    print('f')\n    return True\nif f():\n    print('yes')\nelse:\n    print('no')"),
    "while-else-runs-after-break": "while True:\n    break\nelse:\n    print('else')",
    "for-else-runs-after-break": "for x in [1]:\n    break\nelse:\n    print('else')",
    "for-else-skipped-on-empty-iterable": "for x in []:\n    pass\nelse:\n    print('else')",
    "continue-in-while-skips-condition": (
        "i = 0\nwhile i < 3:\n    i += 1\n    if i == 3:\n        continue\n    print(i)\n"
        "print('end', i)"),
    "break-exits-all-nested-loops": (
        "for i in range(2):\n    for j in range(2):\n        break\n    print(i)"),
    "range-loop-variable-one-past-end": "for i in range(3):\n    pass\nprint(i)",
    "for-iterates-list-snapshot": (
        "xs = [1, 2]\nfor x in xs:\n    if x < 4:\n        xs.append(x + 2)\nprint(xs)"),
    "finally-skipped-on-return-break-continue": (
        "def f():\n    try:\n        return 1\n    finally:\n        print('finally')\nprint(f())"),
    "finally-skipped-when-exception-propagates": (
        "try:\n    try:\n        raise ValueError\n    finally:\n        print('finally')\n"
        "except ValueError:\n    print('caught')"),
    "try-else-runs-after-handled-exception": (
        "try:\n    raise ValueError\nexcept ValueError:\n    print('caught')\nelse:\n    print('else')"),
    "except-matches-exact-type-only": (
        "try:\n    1 / 0\nexcept ArithmeticError:\n    print('caught')"),
    "except-tuple-matches-first-only": (
        "try:\n    {}['x']\nexcept (ValueError, KeyError):\n    print('caught')"),
    "except-name-survives-handler": (
        "try:\n    1 / 0\nexcept ZeroDivisionError as error:\n    pass\nprint(error)"),
    "bare-raise-reraises-last-handled": (
        "try:\n    raise ValueError\nexcept ValueError:\n    try:\n        raise KeyError\n"
        "    except KeyError:\n        pass\n    raise"),
    "raise-class-needs-instance": "raise ValueError",
    "function-returns-last-expression": "def f():\n    1 + 1\nprint(f())",
    "return-tuple-as-list": "def f():\n    return 1, 2\nprint(f())",
    "global-declaration-ignored": "x = 1\ndef f():\n    global x\n    x = 2\nf()\nprint(x)",
    "nonlocal-declaration-ignored": (
        "def outer():\n    n = 0\n    def inner():\n        nonlocal n\n        n = 1\n"
        "    inner()\n    print(n)\nouter()"),
    "del-unbound-name-is-silent": "del x",
    "del-multiple-targets-only-first": "a = b = 1\ndel a, b\nprint(b)",
    "with-exit-skipped-on-exception": (
        "class Manager:\n    def __enter__(self):\n        return self\n"
        "    def __exit__(self, *exc):\n        print('exit')\n"
        "try:\n    with Manager():\n        raise ValueError\nexcept ValueError:\n    pass"),
    "with-exit-result-ignored": (
        "import contextlib\nwith contextlib.suppress(ZeroDivisionError):\n    1 / 0\nprint('after')"),
    "with-as-binds-manager": (
        "import contextlib\nwith contextlib.nullcontext(5) as x:\n    print(x)"),
    "assert-statement-ignored": "assert False",
}


def _key(outcome):
    return outcome.status, outcome.stdout, outcome.exc_type


def test_language_suite_has_at_least_40_mutants_over_its_four_sections():
    sections = Counter(mutant.section for mutant in LANGUAGE)
    assert len(LANGUAGE) >= 40
    assert set(sections) == {"arithmetic", "comparisons", "boolean", "statements"}
    assert min(sections.values()) >= 3, sections


def test_whole_suite_has_at_least_80_mutants_and_3_per_section():
    sections = Counter(mutant.section for mutant in SUITE)
    assert len(SUITE) >= 80, f"{len(SUITE)} mutants"
    assert all(sections[section] >= 3 for section in SECTIONS), sections


def test_suite_is_well_formed():
    assert len({mutant.id for mutant in SUITE}) == len(SUITE)
    assert all(mutant.reference.startswith("https://docs.python.org/3/") and "#" in mutant.reference
               for mutant in SUITE)
    check_suite(SUITE)  # what load_suite checked, once more explicitly
    with pytest.raises(TinyfuzzError, match="used twice"):
        check_suite([LANGUAGE[0], LANGUAGE[0]])
    with pytest.raises(TinyfuzzError, match="docs.python.org"):
        check_suite([Mutant("x-y", "boolean", "a fault", "https://example.org/#a", prelude="x = 1")])


def test_every_language_mutant_has_a_witness():
    assert set(WITNESSES) == {mutant.id for mutant in LANGUAGE}


@pytest.fixture(scope="module")
def outcomes():
    """{mutant id: (outcome of its witness or None, outcome of the neutral program)} through the
    real runner, and CPython's outcomes of the same programs. Pools of eight start together."""
    with WorkerPool(1, env=ENV) as pool:
        reference = dict(zip([*WITNESSES, NEUTRAL], pool.run([*WITNESSES.values(), NEUTRAL])))
    observed = {}
    for start in range(0, len(SUITE), 8):
        chunk = SUITE[start:start + 8]
        pools = [WorkerPool(1, argv=[sys.executable, "-s", RUNNER, mutant.id], env=ENV)
                 for mutant in chunk]
        for mutant, pool in zip(chunk, pools):
            with pool:
                programs = [WITNESSES[mutant.id]] if mutant.id in WITNESSES else []
                *witness, neutral = pool.run(programs + [NEUTRAL])
                observed[mutant.id] = (witness[0] if witness else None, neutral)
    return reference, observed


@pytest.mark.parametrize("mutant_id", sorted(WITNESSES))
def test_witness_kills_its_mutant(outcomes, mutant_id):
    reference, observed = outcomes
    witness = observed[mutant_id][0]
    assert witness.status in ("ok", "exception")
    assert _key(witness) != _key(reference[mutant_id]), witness


@pytest.mark.parametrize("mutant_id", [mutant.id for mutant in SUITE])
def test_mutant_leaves_a_neutral_program_alone(outcomes, mutant_id):
    reference, observed = outcomes
    assert _key(observed[mutant_id][1]) == _key(reference[NEUTRAL])


def test_runner_refuses_an_unknown_mutant():
    ran = subprocess.run([sys.executable, "-s", RUNNER, "no-such-mutant"], capture_output=True,
                         text=True, timeout=60)
    assert ran.returncode == 1
    assert "unknown mutant no-such-mutant" in ran.stderr


def test_score_excludes_nondeterministic_and_failing_programs_and_names_the_smallest_killer():
    floordiv = next(mutant for mutant in LANGUAGE if mutant.id == "floordiv-truncates-toward-zero")
    programs = ["print(hash('x'))", "print({'a', 'b', 'c'}.__repr__())", "while True:\n    pass",
                "print(1)", "x = -7\nprint(x // 2, 'and more')", "print(-7 // 2)", "print(7 // 2)"]
    result = score(programs + ["print(1)"], mutants=[floordiv], workers=2,
                   limits=Limits(timeout=0.5))
    assert result.excluded == {"nondeterministic": 2, "failed on CPython": 1}
    assert result.programs_used == 4
    [killed] = result.results
    assert killed.killed and killed.killer == "print(-7 // 2)"
    assert killed.expected.stdout == "-4\n" and killed.observed.stdout == "-3\n"
    assert result.sections() == {"arithmetic": (1, 1)} and result.kill_ratio == 1.0


def test_unreached_programs_are_left_unchanged():
    """The scorer skips the programs a mutant cannot reach: its transform must leave them as they
    are, and its prelude must only bind names."""
    programs = list(WITNESSES.values())
    for grammar in ("python", "tinypy"):
        sampler = Sampler(grammar, seed=3)
        programs += [sampler.draw().source for _ in range(40)]
    facts = [_facts(program) for program in programs]
    for mutant in LANGUAGE:
        reach = _reach(mutant)
        assert reach[0] is not None and (not mutant.prelude or _bindings(
            ast.parse(mutant.prelude).body) is not None), mutant.id
        for program, known in zip(programs, facts):
            if mutant.transform and not _reaches(reach, known):
                tree = ast.parse(program)
                assert ast.dump(mutant.transform().visit(tree)) == ast.dump(ast.parse(program)), \
                    (mutant.id, program)


def test_cli_reports_kills_per_section_and_the_survivors(tmp_path):
    result = CliRunner().invoke(main, ["mutants", "tinypy", "-n", "300", "--json",
                                       str(tmp_path / "score.json")])
    assert result.exit_code == 0, result.output
    for section in ("arithmetic", "comparisons", "boolean", "statements", "all"):
        assert section in result.output
    assert "surviving mutants" in result.output and "killed " in result.output
    assert "while-else-runs-after-break" in result.output  # tinypy has no break
    assert (tmp_path / "score.json").read_text().startswith("{")


def test_cli_errors_are_one_line():
    result = CliRunner().invoke(main, ["mutants"])
    assert result.exit_code == 2
    assert "nothing to score" in result.output
