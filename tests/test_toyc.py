"""The example toy interpreter (examples/toyc): fixed, it agrees with CPython on TinyPy programs;
each of its three seeded bugs shows on a hand-written program and on programs the sampler draws.

toyc.toml serves tinyfuzz's worker protocol (tinyfuzz.adapter): one process for every program;
toyc-process.toml is the same interpreter as a ``command`` target (a process per program, ~30 ms
each), and both must give the same outcomes.
"""

import dataclasses
import os
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tinyfuzz.engine.sampler import Sampler
from tinyfuzz.execution.oracle import compare
from tinyfuzz.execution.targets import load_target

TOYC = Path(__file__).resolve().parent.parent / "examples" / "toyc"
FIXES = ("TOYC_FIX_DIV", "TOYC_FIX_NOT", "TOYC_FIX_RANGE")
PARALLEL = max(1, min(4, os.cpu_count() or 1))

# For each bug: the fix that switches it off, a hand-written program that shows it, and what a
# program's text needs for the bug to be able to change its output.
BUGS = {
    "div": ("TOYC_FIX_DIV", "print(6 / 3)",
            re.compile(r"/")),
    "not": ("TOYC_FIX_NOT", "a = 1\nif not (a < 3) and (a > 5) :\n\tprint(a)",
            re.compile(r"^(if|elif) not \(.*\) and ", re.M)),
    "range": ("TOYC_FIX_RANGE", "for i in range(1, 5, 2) :\n\tprint(i)",
              re.compile(r"range\(\d+, \d+, [2-9]\)")),
}


@pytest.fixture(scope="module")
def reference():
    return load_target("cpython")


@pytest.fixture(scope="module")
def toyc():
    return load_target(TOYC / "toyc.toml")


def build(toyc, *fixes):
    """toyc with only ``fixes`` applied: every other seeded bug is live."""
    return dataclasses.replace(toyc, env={name: "1" for name in fixes})


def run(target, programs, chunk=25):
    """Outcomes of ``programs`` on a target, a few workers at a time, in order."""
    chunks = [programs[i:i + chunk] for i in range(0, len(programs), chunk)]
    with ThreadPoolExecutor(PARALLEL) as pool:
        return [outcome for outcomes in pool.map(target.run, chunks) for outcome in outcomes]


def drawn(seed, count):
    sampler = Sampler("tinypy", seed=seed)
    return [sampler.draw().source for _ in range(count)]


def test_the_interpreter_never_runs_the_program_through_python():
    source = (TOYC / "toyc.py").read_text()
    assert not re.search(r"(?<![\w.])(exec|eval|compile)\s*\(", source)
    assert not re.search(r"^\s*(import|from)\s+(ast|code|codeop|runpy|importlib)\b", source, re.M)


@pytest.mark.slow
def test_fixed_toyc_agrees_with_cpython_on_500_tinypy_programs(reference, toyc):
    fixed = build(toyc, *FIXES)
    programs = drawn(seed=20240611, count=500) + [program for _, program, _ in BUGS.values()]
    differences = [(program, difference) for program, expected, observed in
                   zip(programs, reference.run(programs), run(fixed, programs))
                   if (difference := compare(expected, observed, fixed)) is not None]
    assert not differences, differences[:3]


def test_errors_are_python_exceptions(reference, toyc):
    programs = ["a = 0\nprint(5 / a)", "print(q)", "a = 2\nb = (a - 2)\nprint(a * (7 / b))"]
    fixed = build(toyc, *FIXES)
    for program, expected, observed in zip(programs, reference.run(programs), fixed.run(programs)):
        assert observed.status == "exception", (program, observed)
        assert compare(expected, observed, fixed) is None, (program, expected, observed)
    buggy = build(toyc)  # the bugs do not change how errors look
    assert buggy.run(programs[:1])[0].exc_type == "ZeroDivisionError"


@pytest.mark.parametrize("bug", BUGS)
def test_each_bug_shows_on_a_three_line_program(reference, toyc, bug):
    fix, program, can_trigger = BUGS[bug]
    assert program.count("\n") < 3 and can_trigger.search(program)
    expected = reference.run([program])[0]
    only_this_bug = build(toyc, *(other for other in FIXES if other != fix))
    difference = compare(expected, only_this_bug.run([program])[0], only_this_bug)
    assert difference is not None and difference.is_bug and difference.kind == "output"
    assert compare(expected, build(toyc, *FIXES).run([program])[0], toyc) is None


@pytest.mark.parametrize("bug", BUGS)
def test_sampled_programs_expose_each_bug_within_2000(reference, toyc, bug):
    fix, _, can_trigger = BUGS[bug]
    only_this_bug = build(toyc, *(other for other in FIXES if other != fix))
    programs = drawn(seed=7, count=2000)
    candidates = [program for program in programs if can_trigger.search(program)]
    expected = reference.run(candidates)
    step = 8 * PARALLEL
    for start in range(0, len(candidates), step):  # stop at the first batch that shows the bug
        batch = candidates[start:start + step]
        for program, exp, obs in zip(batch, expected[start:], run(only_this_bug, batch, chunk=8)):
            difference = compare(exp, obs, only_this_bug)
            if difference is not None:
                assert difference.is_bug and difference.kind == "output", (program, difference)
                return
    pytest.fail(f"no program of 2000 ({len(candidates)} candidates) exposed the {bug} bug")


def test_the_worker_form_and_the_process_form_agree(toyc):
    """The same interpreter served two ways: every outcome the same (the seconds apart), the seeded
    bugs included; a ToyError is reported by the Python exception it stands for."""
    process = load_target(TOYC / "toyc-process.toml")
    assert (toyc.kind, process.kind) == ("worker", "command")
    programs = drawn(seed=11, count=40) + [program for _, program, _ in BUGS.values()] + [
        "a = 0\nprint(5 / a)", "print(q)", "if (:\n\tprint(1)"]
    for fixes in ((), FIXES):
        fast = build(toyc, *fixes).run(programs)
        slow = run(dataclasses.replace(process, env={name: "1" for name in fixes}), programs)
        assert [o._replace(seconds=0) for o in fast] == [o._replace(seconds=0) for o in slow]
    assert fast[-3].exc_type == "ZeroDivisionError" and fast[-2].exc_type == "NameError"
