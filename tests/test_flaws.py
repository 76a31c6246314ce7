"""Grammar flaws (``tinyfuzz/science/flaws.py``) and Lark grammars (``tinyfuzz/grammar/lark_loader.py``): strings a
grammar derives that CPython's ``compile()`` rejects, on Lark's own python.lark, on our grammars
(none) and on a planted flaw (exactly that production)."""

from __future__ import annotations

import random
import re
import warnings

import pytest
from click.testing import CliRunner

from tinyfuzz.cli import main
from tinyfuzz.engine.sampler import Sampler
from tinyfuzz.errors import GrammarError, InvalidArgument
from tinyfuzz.grammar.bnf import parse_bnf
from tinyfuzz.grammar.lark_loader import lark_origin, load_lark_grammar, regex_examples
from tinyfuzz.grammar.load import load_grammar
from tinyfuzz.grammar.model import Terminal
from tinyfuzz.science.flaws import Trees, find_flaws, message_key

PLANTED = '@start <program>\n<program> ::= <stmt> | <stmt> <program>\n<stmt> ::= "x = 1\\n" | "1 = x\\n"\n'


def compile_error(text: str) -> str | None:
    """The message of the SyntaxError ``compile()`` raises on ``text`` (None if it compiles).
    Only compiled, never run."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            compile(text, "<test>", "exec")
    except SyntaxError as error:
        return error.msg
    return None


@pytest.fixture(scope="module")
def lark_python():
    return load_lark_grammar("lark:python")


@pytest.fixture(scope="module")
def lark_parsers():
    """Lark's own parsers of its python.lark, as Lark's examples/advanced/python_parser.py
    makes them; LALR first, Earley for the few strings LALR's conflict resolution refuses."""
    from lark import Lark
    from lark.indenter import PythonIndenter

    def make(**options):
        return Lark.open_from_package("lark", "python.lark", ["grammars"], postlex=PythonIndenter(),
                                      start="file_input", **options)

    return make(parser="lalr"), make(parser="earley", lexer="basic")


def lark_parses(parsers, text: str) -> bool:
    from lark.exceptions import LarkError

    for parser in parsers:
        try:
            parser.parse(text)
            return True
        except LarkError:
            continue
    return False


@pytest.fixture(scope="module")
def lark_report():
    return find_flaws("lark:python", samples=100, seed=0)


# --------------------------------------------------------------------------------------------------
# Lark grammars


def test_lark_python_loads(lark_python):
    assert lark_python.start == "file_input"
    assert lark_python.path == "lark:python"
    assert len(lark_python.rules) > 150  # 187 with lark 1.3.1
    origin = lark_origin(lark_python)
    # Lark's names kept (templates sanitised), and each alternative traced to its Lark production
    for name in ("funcdef", "suite", "atom_expr", "__file_input_star_0", "comprehension.test"):
        assert name in lark_python.rules
    assert origin.rules["comprehension.test"] == "comprehension{test}"
    productions = [origin.production("atom_expr", k)
                   for k in range(len(lark_python.rules["atom_expr"].alternatives))]
    assert 'atom_expr: atom_expr "." name -> getattr' in productions
    # the indented block is a rule of its own, marked @indent
    indents = {s.name for d in lark_python.directives if d.keyword == "indent" for s in d.symbols}
    assert indents == {"suite.block", "match_stmt.block"}
    suite = [[str(s) for s in alt] for alt in lark_python.rules["suite"].alternatives]
    assert ["'\\n'", "<suite.block>"] in suite
    # literals are their text and a space (none after an opening bracket or a dot)
    funcdef = lark_python.rules["funcdef"].alternatives[-1]
    assert [s.text for s in funcdef if isinstance(s, Terminal)] == ["def ", "(", ") ", ": "]


def test_regex_terminals_become_matching_strings(lark_python):
    origin = lark_origin(lark_python)
    assert set(origin.terminals) >= {"NAME", "STRING", "LONG_STRING", "DEC_NUMBER", "HEX_NUMBER",
                                     "FLOAT_NUMBER", "IMAG_NUMBER"}
    for rule, regexp in origin.terminals.items():
        examples = [alt[0].text for alt in lark_python.rules[rule].alternatives]
        assert 1 <= len(examples) <= 8
        for example in examples:
            assert example.endswith(" ") and re.fullmatch(regexp, example[:-1]), (rule, example)
    # never a literal of the grammar (Lark's lexer would read "match" as MATCH, not NAME)
    names = [alt[0].text.strip() for alt in lark_python.rules["NAME"].alternatives]
    assert not {"match", "case", "if", "await"} & set(names)


def test_regex_examples():
    assert regex_examples(r"[0-9]+") == ["0", "1", "2", "00", "11", "22"]
    found = regex_examples(r"(?i)([ubf]?r?|r[ubf])'a'")
    assert "'a'" in found and "br'a'" in found  # the prefixes of the branches, optional parts taken
    assert all(re.fullmatch(r"(?i)([ubf]?r?|r[ubf])'a'", s) for s in found)
    assert regex_examples(r"(?=b)a") == []  # unsatisfiable: no example, never a wrong one
    assert regex_examples(r"a|b", exclude={"a"}) == ["b"]


def test_generated_python_parses_with_larks_own_parser(lark_python, lark_parsers):
    """Spacing and indentation: what the converted grammar derives is what python.lark parses."""
    trees = Trees(lark_python)
    texts = [trees.text(t) for t in trees.coverage_set(lark_python.start)]
    rand = random.Random(0)
    texts += [trees.text(trees.random_tree(lark_python.start, rand, 200)) for _ in range(150)]
    sampler = Sampler(lark_python, seed=0)  # the dataset generator reads Lark grammars too
    texts += [sampler.draw().source for _ in range(150)]
    assert any("\n    " in t for t in texts)  # indented blocks
    failures = [t for t in texts if not lark_parses(lark_parsers, t)]
    assert not failures, failures[:3]


def test_missing_and_malformed_lark_files(tmp_path):
    with pytest.raises(InvalidArgument, match=r"grammar '.*nope\.lark' not found: give a path to a \.lark"):
        load_lark_grammar(tmp_path / "nope.lark")
    with pytest.raises(InvalidArgument, match="known: lark:python"):
        load_grammar("lark:ruby")
    bad = tmp_path / "bad.lark"
    bad.write_text('start: "a" b\nb: ( \n', encoding="utf-8")
    with pytest.raises(GrammarError) as error:
        load_grammar(bad)  # load_grammar reads .lark files through lark_import
    assert error.value.path == str(bad) and error.value.line == 2
    assert "Lark cannot read this grammar: Expecting a value" in str(error.value)
    undefined = tmp_path / "undefined.lark"
    undefined.write_text('start: "a" b\n', encoding="utf-8")
    with pytest.raises(GrammarError, match=r"undefined\.lark:1:1: .*Rule 'b' used but not defined"):
        load_lark_grammar(undefined)
    impossible = tmp_path / "impossible.lark"
    impossible.write_text("start: A\nA: /(?=b)a/\n", encoding="utf-8")
    with pytest.raises(GrammarError, match=r"impossible\.lark:2:1: cannot produce a string for "
                                           r"terminal A /\(\?=b\)a/"):
        load_lark_grammar(impossible)
    declared = tmp_path / "declared.lark"
    declared.write_text("start: X\n%declare X\n", encoding="utf-8")
    with pytest.raises(GrammarError, match="terminal X .* has no pattern"):
        load_lark_grammar(declared)
    result = CliRunner().invoke(main, ["flaws", str(bad)])
    assert result.exit_code == 2
    assert "tinyfuzz: error:" in result.output and "bad.lark:2:" in result.output
    assert "Traceback" not in result.output


def test_small_lark_file(tmp_path):
    """A user's .lark file: start rule `start` (else the first rule), %import common, ?rules."""
    path = tmp_path / "calc.lark"
    path.write_text('?sum: product | sum "+" product\n?product: NUMBER | product "*" NUMBER\n'
                    "%import common.NUMBER\n%import common.WS\n%ignore WS\n", encoding="utf-8")
    grammar = load_lark_grammar(path)
    assert grammar.start == "sum"
    report = find_flaws(path, samples=30)
    assert not report.flaws and report.checked > 10


# --------------------------------------------------------------------------------------------------
# Flaws


@pytest.mark.slow  # with the next test, shares the module's lark_report (~14 s to build)
def test_lark_python_flaw_report(lark_report, lark_python, lark_parsers):
    report = lark_report
    assert report.flaws and report.rejected > 0
    assert report.coverage_programs > 300 and report.samples == 100
    assert sum(f.count for f in report.flaws) == report.rejected
    for flaw in report.flaws:
        # a string the grammar derives (Lark's own parser of python.lark accepts it)...
        assert lark_parses(lark_parsers, flaw.example), flaw.example
        assert lark_parses(lark_parsers, flaw.original), flaw.original
        # ... that compile() rejects with the group's message, reduced from what was generated
        assert compile_error(flaw.example) == flaw.message, flaw
        assert message_key(flaw.message, flaw.example)
        assert len(flaw.example) <= len(flaw.original)
        assert flaw.rule in lark_python.rules
    blamed = {(f.message, f.production): f.example for f in report.flaws}
    # context-sensitive rules of Python that a context-free grammar does not say
    assert blamed[("'return' outside function", "flow_stmt: return_stmt")] == "return \n"
    assert blamed[("'break' outside loop", "flow_stmt: break_stmt")] == "break \n"
    assert blamed[("'await' outside function", 'await_expr: "await" atom_expr')] == "await a \n"
    assert blamed[("nonlocal declaration not allowed at module level", "small_stmt: nonlocal_stmt")] \
        == "nonlocal a \n"
    assert blamed[("named arguments must follow bare *", "poststarparams: <empty>")] \
        == "def a (* ) : a \n"
    # and things python.lark admits that Python does not
    assert blamed[("invalid syntax", 'comp_op: "<>"')] == "a <> a \n"
    assert any(m == "invalid syntax" and p.startswith("STRING:") and "ru''" in e
               for (m, p), e in blamed.items())  # the prefix ru of [ubf]?r?|r[ubf]
    assert ("invalid syntax", "test: assign_expr") in blamed  # an unparenthesised :=


@pytest.mark.slow
def test_report_format_and_cli(tmp_path, lark_report):
    text = lark_report.format()
    assert text.startswith("lark:python: ")
    assert "production: flow_stmt: return_stmt" in text
    planted = tmp_path / "planted.bnf"
    planted.write_text(PLANTED, encoding="utf-8")
    result = CliRunner().invoke(main, ["flaws", str(planted), "--samples", "20", "--seed", "1"])
    assert result.exit_code == 1, result.output
    assert "cannot assign to literal" in result.output
    assert '<stmt> ::= "1 = x\\n"  (alternative 1)' in result.output
    clean = CliRunner().invoke(main, ["flaws", "tinypy", "--samples", "20"])
    assert clean.exit_code == 0, clean.output
    assert "0 rejected" in clean.output


def test_planted_flaw_is_blamed_exactly():
    grammar = parse_bnf(PLANTED, "planted.bnf")
    report = find_flaws(grammar, samples=50, seed=0)
    assert len(report.flaws) == 1
    (flaw,) = report.flaws
    assert (flaw.rule, flaw.alternative) == ("stmt", 1)
    assert flaw.example == "1 = x\n"  # reduced: the statements around it are gone
    assert flaw.message.startswith("cannot assign to literal")
    assert flaw.count == report.rejected > 1


@pytest.mark.parametrize("name", ["tinypy", "python"])
def test_our_grammars_have_no_flaws(name):
    report = find_flaws(name, samples=60, seed=0)
    assert report.checked > 60
    assert not report.flaws, report.format()


def test_flaws_bad_arguments():
    with pytest.raises(InvalidArgument, match="samples=-1"):
        find_flaws("tinypy", samples=-1)
    with pytest.raises(InvalidArgument, match="max_size=0"):
        find_flaws("tinypy", max_size=0)


def test_message_key_leaves_out_chosen_names():
    assert message_key("duplicate argument 'a' in function definition", "def f(a, a): pass") == \
        message_key("duplicate argument 'b' in function definition", "def f(b, b): pass")
    assert message_key("'return' outside function", "return") == "'return' outside function"
    assert message_key("'tuple' is an illegal expression", "a, += 1") == "'tuple' is an illegal expression"


def test_single_brace_literal_alternative_derives():
    """An alternative that is only a literal starting with a brace ("{}") compiles to generated
    code correctly (python.lark's `atom: "{" "}"` did not)."""
    grammar = parse_bnf('<start> ::= "{}" | "[" <start> "]"\n', "braces.bnf")
    sampler = Sampler(grammar, seed=0)
    texts = {sampler.draw().source for _ in range(50)}
    assert "{}" in texts and all(t.strip("[]") == "{}" for t in texts)
