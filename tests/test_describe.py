"""Programs from a task description (``tinyfuzz generate --describe``): a table of descriptions with
the constraints each must yield, and programs generated for each that have them (checked here with
``ast`` directly where that is simple) and ran cleanly on CPython."""

import ast
import json
import sys
from typing import NamedTuple

import pytest
from click.testing import CliRunner
from conftest import require_extra

DESCRIBE = "pip install 'tinyfuzz[describe]'"
require_extra("spacy", DESCRIBE)  # parse(), which nearly every test here calls
require_extra("spacy_lookups_data", DESCRIBE)  # the lemma tables parse() loads

from tinyfuzz.cli import main
from tinyfuzz.describe.task import CONSTRUCTS, _rename, generate_programs, parse
from tinyfuzz.errors import InvalidArgument
from tinyfuzz.execution.targets import load_target

PROGRAMS = 3  # per description


class Case(NamedTuple):
    description: str
    constructs: set
    constants: tuple = ()
    names: tuple = ()
    grammar: str = "python"


TABLE = [
    Case("a loop that prints the even numbers below 20", {"loop", "print", "parity"}, (20,)),
    Case("a function called total that returns the sum of a list", {"return", "sum", "list"},
         names=(("function", "total"),)),
    Case("a while loop counting down from 10", {"while_loop", "countdown"}, (10,)),
    Case("a class with a method", {"class", "method"}),
    Case("a recursive function", {"recursion", "function"}),
    Case("a dictionary comprehension", {"dict_comprehension"}),
    Case("try/except catching ZeroDivisionError", {"try"},
         names=(("exception", "ZeroDivisionError"),)),
    Case("an if statement comparing two strings", {"if", "string_comparison"}),
    Case("a for loop over a list that prints each item", {"for_loop", "list", "print"}),
    Case("a variable named count incremented in a while loop",
         {"augmented_assignment", "while_loop"}, names=(("variable", "count"),)),
    Case("a list comprehension that squares numbers", {"list_comprehension", "power"}),
    Case("a lambda used to sort a list of strings", {"lambda", "sort", "list", "string"}),
    Case("print the largest and the smallest of three numbers", {"print", "max", "min"}),
    Case("a class called Counter that inherits from another class", {"class", "inheritance"},
         names=(("class", "Counter"),)),
    Case("Slice a string and show it with an f-string", {"slicing", "string", "fstring", "print"}),
    Case("raise a ValueError and catch it", {"raise", "try"}, names=(("exception", "ValueError"),)),
    Case("a nested function returning a lambda", {"closure", "return", "lambda"}),
    Case("a for-loop with a break", {"for_loop", "break"}),
    Case("a match statement", {"match"}),
    Case("a function named area that multiplies two numbers", {"multiplication"},
         names=(("function", "area"),)),
    Case("store the string 'hello' in a variable named greeting", {"assignment", "string"},
         ("hello",), (("variable", "greeting"),)),
    Case("the remainder of 17 divided by 5", {"modulo", "division"}, (17, 5)),
    Case("Iterate over a dictionary and print its keys in sorted order",
         {"loop", "dict", "print", "sort"}),
    Case("a list called scores and its length", {"length"}, names=(("list", "scores"),)),
    # everything here is in tinypy, the paper's grammar: its programs are chosen
    Case("a loop that prints numbers up to nine", {"loop", "print"}, (9,), grammar="tinypy"),
    Case("an if statement with an else branch", {"if"}, grammar="tinypy"),
]


# ---- Checks written here with ast, apart from tinyfuzz.describe's own (used where not simple) ----

def nodes(tree, *types):
    return [node for node in ast.walk(tree) if isinstance(node, types)]


def calls(tree, name):
    return any(isinstance(node.func, ast.Name) and node.func.id == name
               or isinstance(node.func, ast.Attribute) and node.func.attr == name
               for node in nodes(tree, ast.Call))


def binary(tree, op, right=None):
    return any(isinstance(node.op, op) and (right is None or getattr(node.right, "value", None) == right)
               for node in nodes(tree, ast.BinOp))


INDEPENDENT = {
    "loop": lambda t: nodes(t, ast.For, ast.While),
    "for_loop": lambda t: nodes(t, ast.For),
    "while_loop": lambda t: nodes(t, ast.While),
    "if": lambda t: nodes(t, ast.If),
    "function": lambda t: nodes(t, ast.FunctionDef),
    "return": lambda t: [r for r in nodes(t, ast.Return) if r.value is not None],
    "recursion": lambda t: any(calls(f, f.name) for f in nodes(t, ast.FunctionDef)),
    "class": lambda t: nodes(t, ast.ClassDef),
    "method": lambda t: any(nodes(c, ast.FunctionDef) for c in nodes(t, ast.ClassDef)),
    "inheritance": lambda t: [c for c in nodes(t, ast.ClassDef) if c.bases],
    "lambda": lambda t: nodes(t, ast.Lambda),
    "try": lambda t: [n for n in nodes(t, ast.Try, ast.TryStar) if n.handlers],
    "raise": lambda t: nodes(t, ast.Raise),
    "break": lambda t: nodes(t, ast.Break),
    "match": lambda t: nodes(t, ast.Match),
    "dict_comprehension": lambda t: nodes(t, ast.DictComp),
    "list_comprehension": lambda t: nodes(t, ast.ListComp),
    "fstring": lambda t: nodes(t, ast.JoinedStr),
    "slicing": lambda t: nodes(t, ast.Slice),
    "augmented_assignment": lambda t: nodes(t, ast.AugAssign),
    "assignment": lambda t: nodes(t, ast.Assign, ast.AugAssign, ast.AnnAssign, ast.NamedExpr),
    "print": lambda t: calls(t, "print"),
    "max": lambda t: calls(t, "max"),
    "min": lambda t: calls(t, "min"),
    "length": lambda t: calls(t, "len"),
    "power": lambda t: binary(t, ast.Pow) or calls(t, "pow"),
    "multiplication": lambda t: binary(t, ast.Mult),
    "division": lambda t: binary(t, (ast.Div, ast.FloorDiv)),
    "modulo": lambda t: binary(t, ast.Mod),
    "parity": lambda t: binary(t, ast.Mod, right=2),
}


def has_constant(tree, value):
    return any(type(node.value) is type(value) and node.value == value
               for node in nodes(tree, ast.Constant))


def has_name(tree, role, name):
    if role == "function":
        return any(f.name == name for f in nodes(tree, ast.FunctionDef))
    if role == "class":
        return any(c.name == name for c in nodes(tree, ast.ClassDef))
    if role == "exception":
        return any(name in ast.unparse(h.type) for h in nodes(tree, ast.ExceptHandler) if h.type)
    if role == "list":
        return any(isinstance(t, ast.Name) and t.id == name and not isinstance(a.value, ast.Constant)
                   for a in nodes(tree, ast.Assign) for t in a.targets)
    return any(n.id == name and isinstance(n.ctx, ast.Store) for n in nodes(tree, ast.Name))


# ---- The table -------------------------------------------------------------------------------------

@pytest.mark.parametrize("case", TABLE, ids=[case.description for case in TABLE])
def test_description_yields_its_constraints(case):
    constraints = parse(case.description)
    assert set(constraints.constructs) == case.constructs
    assert constraints.constants == case.constants
    assert constraints.names == case.names
    assert constraints.unknown == ()


@pytest.mark.parametrize("case", TABLE, ids=[case.description for case in TABLE])
def test_generated_programs_have_what_was_asked_and_run_cleanly(case):
    constraints = parse(case.description)
    generated = generate_programs(constraints, PROGRAMS, seed=0, workers=1)
    assert generated.grammar == case.grammar
    sources = [program.source for program, _ in generated.programs]
    assert len(set(sources)) == PROGRAMS
    for program, outcome in generated.programs:
        tree = ast.parse(program.source)
        assert outcome.ok, (program.source, outcome)
        assert constraints.unmet(tree) == [], program.source
        for construct in case.constructs:
            independent = INDEPENDENT.get(construct, CONSTRUCTS[construct].check)
            assert independent(tree), (construct, program.source)
        for value in case.constants:
            assert has_constant(tree, value), (value, program.source)
        for role, name in case.names:
            assert has_name(tree, role, name), (role, name, program.source)
    # ran cleanly, again, in a worker of its own: the same outputs
    rerun = load_target("cpython").run(sources)
    assert [o.status for o in rerun] == ["ok"] * PROGRAMS
    assert [o.stdout for o in rerun] == [outcome.stdout for _, outcome in generated.programs]


# ---- Parsing -------------------------------------------------------------------------------------

def test_unknown_words_are_reported_not_dropped():
    constraints = parse("a loop that prints 2.5 flamboyant zigzags")
    assert constraints.unknown == ("2.5", "flamboyant", "zigzags")
    assert set(constraints.constructs) == {"loop", "print"}


def test_number_words_are_constants_after_a_bound_and_counts_elsewhere():
    assert parse("count down from ten").constants == (10,)
    assert parse("compare two strings").constants == ()
    assert parse("print 3 and 4").constants == (3, 4)


def test_quoted_text_is_a_string_or_the_name_after_called():
    constraints = parse("a function called 'area' that prints \"x = 1\"")
    assert constraints.names == (("function", "area"),)
    assert constraints.constants == ("x = 1",)


def test_without_the_extra_describe_says_what_to_install(monkeypatch, tmp_path):
    for name in [name for name in sys.modules if name.split(".")[0] == "spacy"]:
        monkeypatch.setitem(sys.modules, name, None)  # importing any of spaCy now fails
    with pytest.raises(InvalidArgument, match=r"pip install 'tinyfuzz\[describe\]'"):
        parse("a loop")
    result = CliRunner().invoke(main, ["generate", "--describe", "a loop", "-o",
                                       str(tmp_path / "x.txt")])
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        "tinyfuzz: error: --describe needs spaCy: pip install 'tinyfuzz[describe]'"]


# ---- What cannot be made -------------------------------------------------------------------------

def test_what_no_grammar_can_make_is_named_before_any_draw():
    with pytest.raises(InvalidArgument, match="neither tinypy nor python has a rule that produces "
                                              "an import"):
        generate_programs(parse("a function that imports a module"), 3)
    with pytest.raises(InvalidArgument, match="the tinypy grammar has no rule that produces a "
                                              "function definition or a recursive function"):
        generate_programs(parse("a recursive function"), 3, grammar="tinypy")


def test_what_cannot_be_met_together_gives_up_after_bounded_draws():
    # each is possible; one name cannot be both a function and a class
    constraints = parse("a class called Shape and a function called Shape")
    with pytest.raises(InvalidArgument, match="no program with everything asked for in 30 draws "
                                              "from the python grammar"):
        generate_programs(constraints, 2, max_draws=30)


def test_renaming_never_captures_or_changes_what_a_call_means():
    source = "def f(n, k=1):\n    return n + k\ntotal = 1\nprint(f(total, k=sum([1])))\n"
    for old, new in [("f", "total"),  # taken: it would capture
                     ("f", "sum"),  # a builtin in use
                     ("n", "m"),  # a parameter: f(n=...) elsewhere would break
                     ("f", "class")]:  # not an identifier
        tree = ast.parse(source)
        assert not _rename(tree, old, new)
        assert ast.unparse(tree) == ast.unparse(ast.parse(source))
    tree = ast.parse(source)
    assert _rename(tree, "f", "add")
    assert ast.unparse(tree) == ast.unparse(ast.parse(source.replace("f(", "add(")))


# ---- The command line ------------------------------------------------------------------------------

def test_command_line_writes_jsonl_the_same_for_the_same_seed(tmp_path):
    description = "a while loop that prints the squares of the numbers below 7 with zigzags"
    outputs = []
    for name in ("one.jsonl", "two.jsonl"):
        out = tmp_path / name
        result = CliRunner().invoke(main, ["generate", "--describe", description, "-n", "4",
                                           "--format", "jsonl", "--seed", "5", "-o", str(out)])
        assert result.exit_code == 0, result.output
        outputs.append(out.read_bytes())
    assert "words not understood, ignored: zigzags" in result.stderr
    assert "asked for: a power (**), a print call, a while loop; the constant 7" in result.stderr
    assert "wrote 4 programs (python grammar)" in result.stderr
    assert outputs[0] == outputs[1]
    records = [json.loads(line) for line in outputs[0].decode().splitlines()]
    assert len(records) == 4
    constraints = parse(description)
    for record in records:
        assert set(record) == {"code", "output", "level", "constructs", "hash"}
        tree = ast.parse(record["code"])
        # a power is ``a ** b`` or ``pow(a, b)``, as the construct defines it
        assert nodes(tree, ast.While) and (binary(tree, ast.Pow) or calls(tree, "pow")) and calls(tree, "print")
        assert has_constant(tree, 7)
        assert constraints.unmet(tree) == []
    assert sorted(tmp_path.iterdir()) == [tmp_path / "one.jsonl", tmp_path / "two.jsonl"]


def test_command_line_error_is_one_line_and_leaves_no_file(tmp_path):
    result = CliRunner().invoke(main, ["generate", "--describe", "a program that reads a file",
                                       "-o", str(tmp_path / "out.txt")])
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines()[-1].startswith(
        "tinyfuzz: error: --describe 'a program that reads a file': neither tinypy nor python "
        "has a rule that produces a file opened with open()")
    assert list(tmp_path.iterdir()) == []
