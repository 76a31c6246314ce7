"""``from_grammar``: Hypothesis strategies from grammars (issue 3's acceptance)."""

import pytest
from hypothesis import find, given, settings
from hypothesis import strategies as st
from hypothesis.errors import FailedHealthCheck

import tinyfuzz.pytest_plugin  # noqa: F401  (registers the tinyfuzz-* Hypothesis profiles)
from tinyfuzz.errors import GrammarError, InvalidArgument
from tinyfuzz.execution.worker import WorkerPool
from tinyfuzz.grammar.load import load_grammar
from tinyfuzz.strategy import from_grammar

TINYPY = load_grammar("tinypy")
PRODUCTIONS = {(name, k) for name, rule in TINYPY.rules.items() if len(rule.alternatives) > 1
               for k in range(len(rule.alternatives))}
COVERAGE_BOUND = 1500  # examples within which every production of tinypy.bnf must appear


@pytest.fixture(scope="module")
def pool():
    with WorkerPool(2) as workers:
        yield workers


def run(pool, sources):
    return [outcome for batch in pool.map([list(sources)]) for outcome in batch]


@pytest.mark.slow
def test_every_production_is_reached_within_a_bound():
    covered = set()
    count = []

    @settings(max_examples=COVERAGE_BOUND, derandomize=True, database=None, deadline=None)
    @given(from_grammar("tinypy"))
    def collect(program):
        count.append(1)
        covered.update(program.coverage)

    collect()
    assert len(count) <= COVERAGE_BOUND
    assert PRODUCTIONS - covered == set()


def test_drawn_programs_compile_and_run_cleanly(pool):
    drawn = []

    @settings(max_examples=1000, database=None, deadline=None)
    @given(from_grammar("tinypy"))
    def collect(program):
        compile(program.source, "<drawn>", "exec")  # compiling does not run it
        drawn.append(program.source)

    collect()
    outcomes = run(pool, drawn)
    failures = [(src, o) for src, o in zip(drawn, outcomes) if not o.ok]
    assert not failures, failures[:3]


def prints_a_negative_number(pool, program) -> bool:
    (outcome,) = run(pool, [program.source])
    return any(line.startswith("-") for line in outcome.stdout.splitlines())


def test_planted_failure_prints_negative_shrinks_to_two_lines(pool):
    # derandomize: the ci profile's way, so the shrunk size is the same on every run
    found = find(from_grammar("tinypy"), lambda p: prints_a_negative_number(pool, p),
                 settings=settings(max_examples=3000, database=None, deadline=None,
                                   derandomize=True))
    lines = found.source.strip().splitlines()
    assert len(lines) <= 2, found.source
    assert prints_a_negative_number(pool, found)


def test_planted_failure_divides_shrinks_to_two_lines():
    found = find(from_grammar("tinypy"), lambda p: " / " in p.source,
                 settings=settings(max_examples=3000, database=None, deadline=None,
                                   derandomize=True))
    assert len(found.source.strip().splitlines()) <= 2, found.source


@pytest.mark.parametrize("level", ["1.1", "1.2", "2.1", "2.2", "3.1", "3.2"])
def test_levels_draw_their_own_programs(level):
    @settings(max_examples=30, database=None, deadline=None)
    @given(from_grammar("tinypy", level=level))
    def check(program):
        assert program.level == level
        compile(program.source, "<drawn>", "exec")
        if level.startswith("3"):
            assert "for " in program.source
        if level.startswith("2"):
            assert "if " in program.source

    check()


def test_swarm_disables_features_per_example(pool):
    feature_sets = []

    @settings(max_examples=300, database=None, deadline=None)
    @given(from_grammar("tinypy", swarm=True, exclude_features={"loop"}))
    def collect(program):
        assert "loop" not in program.features
        feature_sets.append(program.features)
        compile(program.source, "<drawn>", "exec")

    collect()
    assert len(set(feature_sets)) > 5
    with_else = sum("else" in f for f in feature_sets)
    assert 0 < with_else < len(feature_sets)


def test_max_size_bounds_programs():
    @settings(max_examples=200, database=None, deadline=None)
    @given(from_grammar("tinypy", max_size=40))
    def check(program):
        assert len(program.source) < 40 * 12  # each expansion emits a few characters at most

    check()


def test_strategy_composes_with_other_strategies():
    @settings(max_examples=50, database=None, deadline=None)
    @given(st.tuples(from_grammar("tinypy", level="1.1"), st.integers()))
    def check(pair):
        program, number = pair  # each part drawn by its own strategy, untouched by the other
        assert program.level == "1.1" and isinstance(number, int)
        compile(program.source, "<drawn>", "exec")

    check()


@pytest.mark.parametrize("kwargs, error, message", [
    ({"grammar": "no-such-grammar"}, InvalidArgument, "bundled grammars: .*tinypy"),
    ({"level": "7.7"}, InvalidArgument, "level='7.7'"),
    ({"start": "nonexistent"}, InvalidArgument, "start='nonexistent' is not a rule"),
    ({"start": "level1.1", "level": "1.1"}, InvalidArgument, "one or the other"),
    ({"max_size": 0}, InvalidArgument, "max_size=0"),
    ({"max_size": 3}, InvalidArgument, "below the minimum size"),
    ({"exclude_features": {"nope"}}, InvalidArgument, "not features"),
])
def test_bad_arguments_name_the_argument(kwargs, error, message):
    with pytest.raises(error, match=message):
        from_grammar(**kwargs)


def test_malformed_grammar_file(tmp_path):
    bad = tmp_path / "bad.bnf"
    bad.write_text("@start <s>\n<s> ::= <t>\n")
    with pytest.raises(GrammarError, match=r"bad.bnf:2:9: undefined nonterminal <t>"):
        from_grammar(bad)


def test_the_ci_profile_keeps_health_checks_on_and_grammar_draws_pass_them():
    ci = settings(settings.get_profile("tinyfuzz-ci"), max_examples=100)

    @ci
    @given(from_grammar("tinypy"))
    def draws(program):
        compile(program.source, "<drawn>", "exec")

    draws()  # would raise FailedHealthCheck if drawing were too slow, too large or filtered

    @ci
    @given(from_grammar("tinypy").filter(lambda program: False))
    def filters_everything(program):
        pass

    # a suppressed filter_too_much check would end in Unsatisfiable instead
    with pytest.raises(FailedHealthCheck):
        filters_everything()


def test_the_ci_profile_derandomises_two_runs_draw_the_same_programs():
    def draw_with(profile) -> list[str]:
        drawn = []

        @settings(profile, max_examples=30)
        @given(from_grammar("tinypy"))
        def collect(program):
            drawn.append(program.source)

        collect()
        return drawn

    ci = settings.get_profile("tinyfuzz-ci")
    first = draw_with(ci)
    assert len(set(first)) > 10 and draw_with(ci) == first
    randomised = settings(ci, derandomize=False)  # the same profile but that: runs differ
    assert draw_with(randomised) != draw_with(randomised)


def test_max_depth_closes_derivations_off():
    @settings(max_examples=200, database=None, deadline=None)
    @given(from_grammar("tinypy", max_depth=3))
    def check(program):
        # Past depth 3 only cheapest alternatives: one initialisation, no chained conditions.
        assert program.source.count(" = ") <= 3
        assert " and " not in program.source and " or " not in program.source
        compile(program.source, "<drawn>", "exec")

    check()
    with pytest.raises(InvalidArgument, match="max_depth=0"):
        from_grammar("tinypy", max_depth=0)
