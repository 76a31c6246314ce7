"""Tests of the BNF loader (``tinyfuzz/grammar/bnf.py``): error reporting, notation, costs, levels."""

from __future__ import annotations

import math
import os
import re
import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tinyfuzz._internal.data import bundled_grammar_path
from tinyfuzz.errors import GrammarError, InvalidArgument
from tinyfuzz.grammar.bnf import parse_bnf
from tinyfuzz.grammar.load import load_grammar
from tinyfuzz.grammar.model import NonTerminal, Terminal
from tinyfuzz.grammar.parser import parser_for

PATH = "bad.bnf"

# --------------------------------------------------------------------------------------------------
# 1. Malformed grammars: (id, source, expected message fragment, line, column)

MALFORMED = [
    ("undefined-did-you-mean", "<start> ::= <digt>\n<digit> ::= 0\n",
     "undefined nonterminal <digt> (did you mean <digit>?)", 1, 13),
    ("undefined-no-suggestion", "<start> ::= x <zzz>\n",
     "undefined nonterminal <zzz>: define it as <zzz> ::= ...", 1, 15),
    ("undefined-on-continuation-line", "<start> ::= x\n    | y <qq>\n",
     "undefined nonterminal <qq>", 2, 9),
    ("undefined-in-directive", "@start <al>\n<all> ::= x\n",
     "undefined nonterminal <al> (did you mean <all>?)", 1, 8),
    ("undefined-in-second-directive-symbol", "@start <s>\n@eval <s> <nope>\n<s> ::= x\n",
     "undefined nonterminal <nope>", 2, 11),
    ("duplicate-definition", "<start> ::= x\n# between\n  <start> ::= y\n",
     "<start> is defined twice (first on line 1)", 3, 3),
    ("missing-start", "<a> ::= x\n", "no start rule", 1, 1),
    ("never-terminates-direct", "<start> ::= <a>\n<a> ::= x <a>\n",
     "<a> can never finish", 2, 1),
    ("never-terminates-mutual", "<start> ::= <a> | z\n<a> ::= ( <b> )\n<b> ::= <a> <a>\n",
     "<a> can never finish", 2, 1),
    ("never-terminates-blames-cause-not-user",
     "<start> ::= <e>\n<e> ::= <t> + <e>\n<t> ::= <t> * x\n",
     "<t> can never finish", 3, 1),
    ("unreachable", "<start> ::= x\n<b> ::= y\n",
     "<b> is unreachable from the start rule <start>", 2, 1),
    ("unknown-directive", "@frob <x>\n<start> ::= x\n", "unknown directive @frob", 1, 1),
    ("directive-missing-word", "@level <start>\n<start> ::= x\n",
     "malformed @level: write it as @level NAME <rule>", 1, 1),
    ("directive-missing-symbol", "<start> ::= x\n@use var\n",
     "malformed @use: write it as @use KIND[,KIND...] <rule>...", 2, 1),
    ("start-two-symbols", "@start <start> <start>\n<start> ::= x\n", "malformed @start", 1, 1),
    ("shared-without-in", "<start> ::= x\n  @shared <start> <start>\n",
     "malformed @shared: write it as @shared <rule>... in <scope-rule>", 2, 3),
    ("since-bad-version", "@since three <start>\n<start> ::= x\n",
     "@since needs a version like 3.10, not 'three'", 1, 1),
    ("two-starts", "@start <start>\n@start <start>\n<start> ::= x\n",
     "more than one @start", 2, 1),
    ("unterminated-double", '<start> ::= x "abc\n', "unterminated string: add the closing \"", 1, 15),
    ("unterminated-single", "<start> ::= x\n   | 'ab\\'\n",
     "unterminated string: add the closing '", 2, 6),
    ("bad-escape-bare", "<start> ::= a\\qb\n", "unknown escape \\q", 1, 14),
    ("bad-escape-quoted", '<start> ::= "ab\\z"\n', "unknown escape \\z", 1, 16),
    ("range-reversed", "<start> ::= z | ... | a\n",
     "'...' needs single characters on both sides, the lower first", 1, 17),
    ("range-multichar", "<start> ::= ab | ... | z\n", "'...' needs single characters", 1, 18),
    ("range-to-nonterminal", "<start> ::= a | ... | <start>\n", "'...' needs single characters", 1, 17),
    ("range-not-alone", "<start> ::= a ... | z\n", "'...' must stand alone", 1, 15),
    ("range-first", "<start> ::= ... | z\n", "'...' must stand alone", 1, 13),
    ("empty-alternative-middle", "<start> ::= x | | y\n",
     "empty alternative in <start>: write \"\" for the empty string", 1, 17),
    ("empty-alternative-leading", "<start> ::= | x\n", "empty alternative in <start>", 1, 13),
    ("empty-alternative-trailing", "<start> ::= x |\n", "empty alternative in <start>", 1, 15),
    ("empty-alternative-across-lines", "<start> ::= x |\n    | y\n", "empty alternative", 2, 5),
    ("no-alternatives", "<start> ::= x\n <other> ::=   # nothing here\n",
     "<other> has no alternatives", 2, 2),
    ("stray-line", "  junk here\n<start> ::= x\n", "expected a rule '<name> ::= ...'", 1, 3),
    ("line-after-directive", "<start> ::= x\n@start <start>\n  | y\n",
     "expected a rule '<name> ::= ...' or a directive", 3, 3),
    ("no-rules", "# only a comment\n", "the grammar defines no rules", 1, 1),
]


@pytest.mark.parametrize("source, fragment, line, column",
                         [case[1:] for case in MALFORMED], ids=[case[0] for case in MALFORMED])
def test_malformed_grammar_reports_position(source, fragment, line, column):
    with pytest.raises(GrammarError) as info:
        parse_bnf(source, PATH)
    err = info.value
    assert fragment in err.message
    assert (err.path, err.line, err.column) == (PATH, line, column)
    text = str(err)
    assert text.startswith(f"{PATH}:{line}:{column}: {err.message}")
    rendered = text.splitlines()
    assert len(rendered) == 3
    assert rendered[1] == "    " + source.splitlines()[line - 1].rstrip()
    assert rendered[2].strip() == "^"
    assert rendered[2].index("^") - 4 == column - 1


def test_malformed_table_covers_every_check():
    messages = " ".join(case[2] for case in MALFORMED)
    for check in ["undefined nonterminal", "did you mean", "defined twice", "no start rule",
                  "can never finish", "unreachable", "unknown directive", "malformed @",
                  "@since needs a version", "more than one @start", "unterminated string",
                  "unknown escape", "'...' needs", "'...' must stand alone", "empty alternative",
                  "has no alternatives", "expected a rule", "defines no rules"]:
        assert check in messages, check


def test_grammar_error_is_a_tinyfuzz_error_with_plain_path_when_no_line():
    err = GrammarError("boom", path="x.bnf")
    assert str(err) == "x.bnf: boom"


def test_unreachable_check_can_be_disabled():
    grammar = parse_bnf("<start> ::= x\n<b> ::= y\n", check_unreachable=False)
    assert set(grammar.rules) == {"start", "b"}


# --------------------------------------------------------------------------------------------------
# 2. The paper's notation


def alts(grammar, name):
    """Alternatives as tuples of plain strings: terminals as text, nonterminals as '<name>'."""
    return [tuple(s.text if isinstance(s, Terminal) else f"<{s.name}>" for s in alt)
            for alt in grammar.rules[name].alternatives]


def test_ranges_expand_to_letters_and_digits():
    g = parse_bnf("<start> ::= <v> <d>\n<v> ::= a | b | c | ... | z\n<d> ::= 0 | ... | 9\n")
    assert alts(g, "v") == [(c,) for c in string.ascii_lowercase]
    assert len(g.rules["v"].alternatives) == 26
    assert alts(g, "d") == [(c,) for c in string.digits]
    assert len(g.rules["d"].alternatives) == 10


def test_range_with_quoted_ends_and_more_alternatives_after():
    g = parse_bnf('<start> ::= "a" | ... | "d" | zz\n')
    assert alts(g, "start") == [("a",), ("b",), ("c",), ("d",), ("zz",)]


def test_empty_string_gives_empty_alternative():
    g = parse_bnf("<start> ::= x <o>\n<o> ::= y | \"\" | ''\n")
    assert alts(g, "o") == [("y",), (), ()]
    assert g.min_cost["o"] == 1


def test_empty_string_inside_a_sequence_contributes_nothing():
    g = parse_bnf('<start> ::= a "" b\n')
    assert alts(g, "start") == [("a", "b")]


def test_continuation_lines_join_the_previous_rule():
    source = ("<start> ::= <a>\n"
              "<a> ::= x y\n"
              "    z | w\n"          # continues the alternative x y
              "\n"
              "    # a comment line in between\n"
              "    | v\n"            # a new alternative
              "<b_unused> ::= q\n")
    g = parse_bnf(source, check_unreachable=False)
    assert alts(g, "a") == [("x", "y", "z"), ("w",), ("v",)]
    assert alts(g, "b_unused") == [("q",)]


def test_comments_ignored_but_hash_inside_quotes_kept():
    source = ("# leading comment <undefined> ::= nothing\n"
              "<start> ::= \"a # b\" '#' x#y   # trailing comment <undefined>\n"
              "    | \"\\\\\" # comment after an escaped backslash\n"
              "    | c\t# comment after a tab\n")
    g = parse_bnf(source)
    assert alts(g, "start") == [("a # b", "#", "x#y"), ("\\",), ("c",)]


def test_quote_right_after_definition_sign_is_a_string():
    g = parse_bnf('<start> ::="a #b"|<x>"# c"\n<x> ::= y\n')
    assert alts(g, "start") == [("a #b",), ("<x>", "# c")]


def test_comment_after_directive_ignored():
    g = parse_bnf("@start <s>   # the start\n@level 1.1 <s> # a level\n<s> ::= x\n")
    assert g.start == "s"
    assert dict(g.levels) == {"1.1": "s"}


def test_escapes_in_bare_and_quoted_terminals():
    source = ('<start> ::= \\n | \\t | "\\n" | \'\\t\' | a\\sb | "\\"" | \'\\\'\' | "x\\\\y"'
              ' | \\r | "\\0"\n')
    g = parse_bnf(source)
    assert alts(g, "start") == [("\n",), ("\t",), ("\n",), ("\t",), ("a b",), ('"',), ("'",),
                                ("x\\y",), ("\r",), ("\0",)]


def test_angle_brackets_as_bare_terminals_are_not_nonterminals():
    g = parse_bnf("<start> ::= < | <= | > | >= | <> | a<x> | <x>b\n<x> ::= k\n")
    assert alts(g, "start") == [("<",), ("<=",), (">",), (">=",), ("<>",), ("a", "<x>"),
                                ("<x>", "b")]
    assert isinstance(g.rules["start"].alternatives[1][0], Terminal)
    assert isinstance(g.rules["start"].alternatives[5][1], NonTerminal)


def test_left_recursion_accepted():
    source = ("<start> ::= <expr>\n"
              "<expr> ::= <expr> + <term> | <term>\n"
              "<term> ::= <term> * <atom> | <atom>\n"
              "<atom> ::= ( <expr> ) | 1\n")
    g = parse_bnf(source)
    assert alts(g, "expr")[0] == ("<expr>", "+", "<term>")
    assert dict(g.min_cost) == {"atom": 1, "term": 2, "expr": 3, "start": 4}


def test_min_cost_computed_by_hand():
    source = ("<start> ::= <pair> | <list> <list>\n"
              "<pair> ::= ( <atom> , <atom> )\n"
              "<atom> ::= <atom> <digit> | <digit>\n"
              "<digit> ::= 0 | 1\n"
              "<list> ::= <list> , <atom> | <atom>\n"
              "<deep> ::= <deep2>\n"
              "<deep2> ::= <deep3> | <start> <start>\n"
              "<deep3> ::= \"\"\n"
              "@level deep <deep>\n")
    g = parse_bnf(source)
    # digit 1; atom 1+1; pair 1+2+2; list 1+2; start min(1+5, 1+3+3); deep3 1; deep2 1+1; deep 1+2
    assert dict(g.min_cost) == {"digit": 1, "atom": 2, "pair": 5, "list": 3, "start": 6,
                                "deep3": 1, "deep2": 2, "deep": 3}
    assert all(type(c) is int for c in g.min_cost.values())


def test_rule_and_symbol_positions():
    g = parse_bnf("  <start> ::= x\n    <a> | <a>\n<a> ::= y\n")
    assert (g.rules["start"].line, g.rules["start"].column) == (1, 3)
    first, second = g.rules["start"].alternatives
    assert (first[1].line, first[1].column) == (2, 5)
    assert (second[0].line, second[0].column) == (2, 11)


GRAMMAR_WITH_LEVELS = ("@start <top>\n@level 1.1 <one>\n@level easy <two>\n"
                       "<top> ::= <one> | <two>\n<one> ::= a\n<two> ::= b\n")


@pytest.mark.parametrize("level, expected", [
    (None, "top"), ("all", "top"), ("1.1", "one"), ("easy", "two"), ("two", "two"), ("<one>", "one"),
])
def test_start_for_known_levels(level, expected):
    assert parse_bnf(GRAMMAR_WITH_LEVELS, "lv.bnf").start_for(level) == expected


def test_start_for_unknown_level_names_it_and_lists_known_ones():
    g = parse_bnf(GRAMMAR_WITH_LEVELS, "lv.bnf")
    with pytest.raises(InvalidArgument) as info:
        g.start_for("9.9")
    message = str(info.value)
    assert "'9.9'" in message
    assert "lv.bnf" in message
    assert "known levels: all, 1.1, easy" in message
    assert isinstance(info.value, ValueError)


def test_start_for_all_uses_level_named_all_when_declared():
    g = parse_bnf("@start <s>\n@level all <t>\n<s> ::= <t>\n<t> ::= x\n")
    assert g.start_for("all") == "t"
    assert g.start_for() == "s"


def test_load_tinypy():
    g = load_grammar("tinypy")
    assert g.start == "all"
    assert g.name == "tinypy"
    assert list(g.levels) == ["1.1", "1.2", "2.1", "2.2", "3.1", "3.2"]
    assert dict(g.levels) == {lv: f"level{lv}" for lv in ["1.1", "1.2", "2.1", "2.2", "3.1", "3.2"]}
    assert g.start_for("2.2") == "level2.2"
    assert alts(g, "variable") == [(c,) for c in string.ascii_lowercase]
    assert alts(g, "digit") == [(c,) for c in string.digits]
    assert alts(g, "relational_operator") == [("<",), (">",), ("<=",), (">=",), ("!=",), ("==",)]
    assert alts(g, "new_line") == [("\n",)]
    assert alts(g, "tab_indent") == [("\t",)]
    assert alts(g, "space") == [(" ",)]
    assert () in alts(g, "simple_assignments")
    assert all(math.isfinite(c) and c >= 1 for c in g.min_cost.values())
    assert {d.keyword for d in g.directives} >= {"start", "level", "use", "bind", "shared", "eval",
                                                  "nonzero", "feature"}
    shared = next(d for d in g.directives if d.keyword == "shared")
    assert [s and s.name for s in shared.symbols] == ["initial", "step", None, "for_header"]
    assert load_grammar(g) is g


def test_load_unknown_grammar_lists_bundled_ones():
    with pytest.raises(InvalidArgument) as info:
        load_grammar("no_such_grammar_here")
    assert "'no_such_grammar_here'" in str(info.value)
    assert "tinypy" in str(info.value)


def test_load_grammar_is_memoized_by_the_file_and_reads_an_edited_one_again(tmp_path):
    """Caches keyed by grammar identity (parsers, compiled grammars) hit for a name or a path."""
    tinypy = load_grammar("tinypy")
    assert load_grammar("tinypy") is tinypy
    assert load_grammar(bundled_grammar_path("tinypy")) is tinypy
    assert load_grammar(str(bundled_grammar_path("tinypy"))) is tinypy
    assert parser_for("tinypy") is parser_for("tinypy")
    for name, before, after in [("mine.bnf", '@start <a>\n<a> ::= "x"\n', '@start <a>\n<a> ::= "yy"\n'),
                                ("mine.lark", 'start: "x"\n', 'start: "yy"\n')]:
        path = tmp_path / name
        path.write_text(before)
        first = load_grammar(path)
        assert load_grammar(str(path)) is first
        path.write_text(after)
        stat = path.stat()
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))  # coarse clocks
        second = load_grammar(path)
        assert second is not first and load_grammar(path) is second
        assert "yy" in repr(second.rules) and "yy" not in repr(first.rules)


# --------------------------------------------------------------------------------------------------
# 3. Properties of random well-formed grammars

_NAME = st.from_regex(r"[A-Za-z_][A-Za-z0-9_.\-]{0,6}", fullmatch=True).filter(lambda s: s != "start")
_LINE_BREAKS = "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
_TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters=_LINE_BREAKS[1:]),
                max_size=4)  # "\n" stays in: it is always written as an escape
_QUOTED_ESCAPES = {"\\": "\\\\", "\n": "\\n", "\t": "\\t", "\r": "\\r", "\0": "\\0"}
_BARE_ESCAPES = {**_QUOTED_ESCAPES, " ": "\\s"}
_BARE_CHARS = set(string.ascii_letters + string.digits + "+-*/()=:,.<>!#\"'_?[]{}%&;^~`@$\\")
_NT_PATTERN = re.compile(r"<[A-Za-z_][\w.\-]*>")


def render_quoted(text: str, quote: str) -> str:
    return quote + "".join(_QUOTED_ESCAPES.get(c, "\\" + c if c == quote else c)
                           for c in text) + quote


def render_bare(text: str) -> str | None:
    word = "".join(_BARE_ESCAPES.get(c, c) for c in text)
    if (not word or not set(word) <= _BARE_CHARS or word == "..." or word[0] in "#\"'@"
            or "::=" in word or _NT_PATTERN.search(word)):
        return None
    return word


@st.composite
def grammars(draw, productive: bool = True):
    """A random grammar as (rules, start, levels): rules maps name -> list of alternatives.

    With ``productive``, every rule has a *base* alternative naming only rules defined after it (so
    every rule can finish) and every rule but the first is named in an earlier rule's base (so every
    rule is reachable from the first).
    """
    n = draw(st.integers(1, 6))
    names = draw(st.lists(_NAME, min_size=n, max_size=n, unique=True))
    if draw(st.booleans()):
        names[0] = "start"
    terminal = _TEXT.map(Terminal)
    rules = {}
    bases = []
    for i, name in enumerate(names):
        any_symbol = st.one_of(terminal, st.sampled_from(names).map(NonTerminal))
        others = draw(st.lists(st.lists(any_symbol, max_size=4),
                               min_size=0 if productive else 1, max_size=3))
        if productive:
            later = names[i + 1:]
            base_symbol = st.one_of(terminal, st.sampled_from(later).map(NonTerminal)) if later \
                else terminal
            base = draw(st.lists(base_symbol, max_size=3))
            others.insert(draw(st.integers(0, len(others))), base)
            bases.append(base)
        rules[name] = others
    if productive:
        for i in range(1, n):
            base = bases[draw(st.integers(0, i - 1))]
            base.insert(draw(st.integers(0, len(base))), NonTerminal(names[i]))
    levels = draw(st.dictionaries(st.from_regex(r"[0-9]\.[0-9]|[a-z]{1,5}", fullmatch=True)
                                  .filter(lambda s: s != "all"),
                                  st.sampled_from(names), max_size=2))
    return rules, names[0], levels


@st.composite
def renderings(draw, grammar):
    """Source text for ``grammar`` with random spacing, line breaks, comments and quoting."""
    rules, start, levels = grammar
    comment = st.text(st.characters(blacklist_categories=("Cs",),
                                    blacklist_characters=_LINE_BREAKS), max_size=6)

    def newline() -> str:
        before = draw(st.sampled_from(["", " # " + draw(comment)]))
        extra = draw(st.sampled_from(["", "\n", "\n# " + draw(comment) + "\n"]))
        return before + "\n" + extra + draw(st.sampled_from(["", " ", "    ", "\t"]))

    def symbol(sym) -> str:
        if isinstance(sym, NonTerminal):
            return f"<{sym.name}>"
        bare = render_bare(sym.text)
        if bare is not None and draw(st.booleans()):
            return bare
        return render_quoted(sym.text, draw(st.sampled_from(['"', "'"])))

    lines = []
    directives = [f"@level {name} <{rule}>" for name, rule in levels.items()]
    if start != "start" or draw(st.booleans()):
        directives.insert(0, f"@start <{start}>")
    directives = [d + draw(st.sampled_from(["", "  # " + draw(comment)])) for d in directives]
    order = draw(st.permutations(list(rules)))
    for name in order:
        text = f"<{name}>" + draw(st.sampled_from([" ", "", "  "])) + "::="
        for k, alternative in enumerate(rules[name]):
            if k:
                text += draw(st.sampled_from(["", " ", "\t"])) if not draw(st.booleans()) \
                    else newline()
                text += "|"
            rendered = [symbol(s) for s in alternative] or [draw(st.sampled_from(['""', "''"]))]
            for j, piece in enumerate(rendered):
                if j == 0 and k == 0:
                    gap = draw(st.sampled_from(["", " ", "\t", None]))
                elif j == 0:
                    gap = draw(st.sampled_from(["", " ", None]))
                else:
                    gap = draw(st.sampled_from([" ", "\t", "  ", None]))
                text += newline() if gap is None else gap
                text += piece
        lines.append(text)
    at = draw(st.integers(0, len(lines)))
    lines[at:at] = directives
    return "\n".join(lines) + draw(st.sampled_from(["", "\n", "\n# end\n"])), order


def expected_rules(rules):
    return {name: tuple(tuple(s for s in alt if not (isinstance(s, Terminal) and s.text == ""))
                        for alt in alternatives)
            for name, alternatives in rules.items()}


def check_min_cost_equation(rules, cost):
    for name, rule in rules.items():
        best = min(1 + sum(cost[s.name] for s in alt if isinstance(s, NonTerminal))
                   for alt in rule.alternatives)
        assert cost[name] == best, name
        assert isinstance(cost[name], int) and cost[name] >= 1


@pytest.mark.slow
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_well_formed_grammars_round_trip(data):
    grammar = data.draw(grammars())
    rules, start, levels = grammar
    text, order = data.draw(renderings(grammar))
    g = parse_bnf(text, "gen.bnf")
    assert list(g.rules) == list(order)
    assert {name: rule.alternatives for name, rule in g.rules.items()} == expected_rules(rules)
    assert g.start == start
    assert dict(g.levels) == levels
    check_min_cost_equation(g.rules, g.min_cost)
    # Every position points at the text it names.
    source = text.splitlines()
    for name, rule in g.rules.items():
        assert re.match(rf"<{re.escape(name)}>\s*::=", source[rule.line - 1][rule.column - 1:])
        for alternative in rule.alternatives:
            for s in alternative:
                if isinstance(s, NonTerminal):
                    assert source[s.line - 1][s.column - 1:].startswith(f"<{s.name}>")


def productive_set(rules):
    done: set = set()
    changed = True
    while changed:
        changed = False
        for name, alternatives in rules.items():
            if name not in done and any(all(not isinstance(s, NonTerminal) or s.name in done
                                            for s in alt) for alt in alternatives):
                done.add(name)
                changed = True
    return done


def onward(rules, name, bad):
    seen, stack = set(), [name]
    while stack:
        for alt in rules[stack.pop()]:
            for s in alt:
                if isinstance(s, NonTerminal) and s.name in bad and s.name not in seen:
                    seen.add(s.name)
                    stack.append(s.name)
    return seen


@pytest.mark.slow
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_rules_that_cannot_finish_are_reported_at_their_cause(data):
    grammar = data.draw(grammars(productive=False))
    rules = grammar[0]
    text, _ = data.draw(renderings(grammar))
    bad = set(rules) - productive_set(rules)
    if not bad:
        g = parse_bnf(text, check_unreachable=False)
        check_min_cost_equation(g.rules, g.min_cost)
        return
    with pytest.raises(GrammarError) as info:
        parse_bnf(text, check_unreachable=False)
    match = re.fullmatch(r"<(.+)> can never finish: .*", info.value.message)
    assert match, info.value.message
    blamed = match.group(1)
    assert blamed in bad
    assert info.value.line == text.splitlines().index(
        next(line for line in text.splitlines() if re.match(rf"<{re.escape(blamed)}>\s*::=", line))
    ) + 1
    # The blamed rule is a cause: it lies on a cycle, and whatever broken rule it leads to leads back.
    reach = onward(rules, blamed, bad)
    assert blamed in reach
    assert all(blamed in onward(rules, other, bad) for other in reach)
