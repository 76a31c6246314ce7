"""The semantic layer: static arithmetic, provably nonzero divisors, bindings, shared and evaluated
symbols, budgets and feature exclusion, on small grammars written for each property."""

import ast
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinyfuzz.engine.derivation import CompiledGrammar, Infeasible, derive
from tinyfuzz.errors import InvalidArgument
from tinyfuzz.grammar.bnf import parse_bnf
from tinyfuzz.grammar.semantics import assigned_value, divisor_may_be_zero, static_value


@pytest.mark.parametrize("text, env, value", [
    ("3+2*2", {}, 7),
    ("(a + 2)*(3 * 2)/(a + a)", {"a": 3}, 5.0),
    ("a - b", {"a": 1}, None),  # b unknown
    ("-2**2", {}, -4),
    ("7 // 2 % 3", {}, 0),
    ("1 / 3", {}, 1 / 3),
    ("a.b", {"a": 1}, None),  # not arithmetic: not judged
    ("f(2)", {}, None),
])
def test_static_value(text, env, value):
    assert static_value(text, env) == value


@pytest.mark.parametrize("text, env, unsafe", [
    ("a / b", {"a": 1, "b": 2}, False),
    ("a / b", {"a": 1, "b": 0}, True),
    ("a / i", {"a": 1}, True),  # i unknown: might be zero
    ("(a - 2) / (a - a)", {"a": 5}, True),
    ("x % 0", {"x": 1}, True),
    ("x // (3 - 3)", {"x": 1}, True),
    ("x * 0 + 1", {"x": 1}, False),
    ("f(x) / 0.0", {}, True),  # not understood: literal zero still caught
    ("f(x) / 10", {}, False),
    ("a + b", {}, False),
])
def test_divisor_may_be_zero(text, env, unsafe):
    assert divisor_may_be_zero(text, env) is unsafe


@given(st.integers(-50, 50), st.integers(-50, 50), st.sampled_from("+-*"))
def test_static_value_agrees_with_python(a, b, op):
    text = f"a {op} b"
    assert static_value(text, {"a": a, "b": b}) == {"+": a + b, "-": a - b, "*": a * b}[op]


def test_assigned_value():
    assert assigned_value("x = 5\n", {}) == ("x", 5)
    assert assigned_value("y = x * 2\n", {"x": 5}) == ("y", 10)
    assert assigned_value("y = z * 2\n", {}) == ("y", None)


def _programs(grammar_text: str, n: int = 300, seed: int = 0, budget: int = 200, **kwargs):
    compiled = CompiledGrammar(parse_bnf(grammar_text), **kwargs)
    rand = random.Random(seed).random
    rules = compiled.expanders(rand)
    start = compiled.rule_index(compiled.grammar.start)
    out = []
    for _ in range(n):
        out.append(derive(compiled, rules, start, lambda k: int(rand() * k), budget).text)
    return out


LOOPS = r"""
@start <prog>
<prog> ::= <header> "\n"
<header> ::= "for i in range(" <initial> ", " <final> ", " <step> "):" <count_comment>
<count_comment> ::= ""
<initial> ::= 0 | 1 | ... | 9
<final> ::= <initial> + <step> * <count>
<step> ::= 1 | 2 | 3
<count> ::= 1 | 2 | 3 | 4
@shared <initial> <step> in <header>
@eval <final>
"""


def test_shared_and_eval_make_loops_run_the_intended_count():
    for text in _programs(LOOPS):
        call = ast.parse(text + "  pass\n").body[0].iter
        start, stop, step = (arg.value for arg in call.args)
        assert len(range(start, stop, step)) in (1, 2, 3, 4)
        assert (stop - start) % step == 0  # final = initial + step * count exactly


NAMES = r"""
@start <prog>
<prog> ::= <stmts>
<stmts> ::= <stmt> | <stmts> <stmt>
<stmt> ::= <target> " = " <value> "\n" | "print(" <name> ")\n"
<value> ::= <digit> | <name> " + " <digit>
<digit> ::= 0 | 1 | ... | 9
<target> ::= a | b | c
<name> ::= <target>
@bind var <target>
@use var <name>
"""


def test_names_are_defined_before_use():
    for text in _programs(NAMES, n=500):
        defined = set()
        for line in text.splitlines():
            used = {n.id for n in ast.walk(ast.parse(line)) if isinstance(n, ast.Name)
                    and isinstance(n.ctx, ast.Load)} - {"print"}
            assert used <= defined, text
            tree = ast.parse(line).body[0]
            if isinstance(tree, ast.Assign):
                defined.add(tree.targets[0].id)


def test_a_use_with_nothing_bound_is_infeasible_not_wrong():
    grammar = "@start <p>\n<p> ::= \"print(\" <n> \")\"\n<n> ::= x\n@use var <n>\n"
    compiled = CompiledGrammar(parse_bnf(grammar))
    with pytest.raises(Infeasible):
        derive(compiled, compiled.expanders(random.Random(0).random), 0, lambda k: 0, 50)


DIVISION = r"""
@start <prog>
<prog> ::= <init> <init> "print(" <expr> ")\n"
<init> ::= <var> " = " <digit> "\n"
<expr> ::= <term> " / " <term> | "(" <term> " - " <term> ") % " <term>
<term> ::= <name> | <digit>
<digit> ::= 0 | 1
<var> ::= a | b
<name> ::= <var>
@bind var <var>
@use var <name>
@assign <init>
@nonzero <expr>
"""


def test_nonzero_divisors_are_provably_nonzero():
    for text in _programs(DIVISION, n=400):
        env = {}
        for line in text.splitlines()[:-1]:
            name, value = line.split(" = ")
            env[name] = int(value)
        expression = text.splitlines()[-1][len("print("):-1]
        # Division by a variable holding 0 or by the literal 0 never survives.
        assert not divisor_may_be_zero(expression, env), text


def test_budget_bounds_every_derivation():
    grammar = "@start <e>\n<e> ::= x | ( <e> + <e> )\n"
    for budget in (1, 5, 20):
        for text in _programs(grammar, n=200, budget=budget):
            assert text.count("x") <= budget  # each x is one expansion of <e>


def test_excluding_a_feature_removes_its_constructs():
    grammar = ("@start <s>\n<s> ::= <a> | <b>\n<a> ::= aaa\n<b> ::= bbb\n"
               "@feature first <a>\n@feature second <b>\n")
    assert set(_programs(grammar, n=50, exclude_features={"first"})) == {"bbb"}
    with pytest.raises(InvalidArgument, match="nothing to derive"):
        CompiledGrammar(parse_bnf(grammar), exclude_features={"first", "second"}).rule_index("s")
    with pytest.raises(InvalidArgument, match="not features"):
        CompiledGrammar(parse_bnf(grammar), exclude_features={"third"})


def test_since_excludes_newer_constructs_for_older_targets():
    grammar = ("@start <s>\n<s> ::= old | <new>\n<new> ::= \"match x:\"\n@since 3.10 <new>\n")
    assert set(_programs(grammar, n=50, python_version=(3, 9))) == {"old"}
    assert set(_programs(grammar, n=100, python_version=(3, 12))) == {"old", "match x:"}


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**32))
def test_same_seed_same_programs(seed):
    assert _programs(NAMES, n=20, seed=seed) == _programs(NAMES, n=20, seed=seed)


def test_deep_needs_steer_choices_away_from_dead_ends():
    # <use_deep> needs a name only two rules down; before anything is bound, choosing it would be
    # a dead end. The compiled requirements see through the nesting, so no derivation restarts.
    grammar = r"""
    @start <prog>
    <prog> ::= <stmt> <stmt> <stmt>
    <stmt> ::= <define> | <use_deep> | "pass\n"
    <define> ::= <var> " = 1\n"
    <use_deep> ::= <wrapper> "\n"
    <wrapper> ::= "print(" <name> ")"
    <var> ::= a | b
    <name> ::= <var>
    @bind var <var>
    @use var <name>
    """
    compiled = CompiledGrammar(parse_bnf(grammar))
    rand = random.Random(1).random
    rules = compiled.expanders(rand)
    for _ in range(300):
        text = derive(compiled, rules, 0, lambda k: int(rand() * k), 50).text
        first = text.splitlines()[0]
        assert not first.startswith("print")  # never a use before a definition
