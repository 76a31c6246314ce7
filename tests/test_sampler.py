"""Property tests of the dataset engine over seeds and levels (Hypothesis draws the seeds)."""

import ast

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinyfuzz.engine.sampler import Sampler
from tinyfuzz.execution.worker import WorkerPool

LEVELS = ["all", "1.1", "1.2", "2.1", "2.2", "3.1", "3.2"]


@pytest.fixture(scope="module")
def pool():
    with WorkerPool(2) as workers:
        yield workers


def names_defined_before_use(source: str) -> bool:
    defined = set()
    for statement in ast.parse(source).body:
        if isinstance(statement, ast.For):  # the loop variable is bound before the body runs
            loads = {n.id for n in ast.walk(statement.iter) if isinstance(n, ast.Name)}
            body = {n.id for b in statement.body for n in ast.walk(b) if isinstance(n, ast.Name)}
            if not loads - {"range"} <= defined:
                return False
            defined.add(statement.target.id)
            if not body - {"print"} <= defined:
                return False
            continue
        loads = {n.id for n in ast.walk(statement) if isinstance(n, ast.Name)
                 and isinstance(n.ctx, ast.Load)} - {"print"}
        if not loads <= defined:
            return False
        if isinstance(statement, ast.Assign):
            defined.add(statement.targets[0].id)
    return True


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**64), level=st.sampled_from(LEVELS))
def test_programs_are_valid_by_construction(pool, seed, level):
    sampler = Sampler("tinypy", seed=seed, level=level)
    programs = [sampler.draw() for _ in range(50)]
    for program in programs:
        assert names_defined_before_use(program.source), program.source
        if level != "all":
            assert program.level == level
    outcomes = next(pool.map(iter([[p.source for p in programs]])))
    assert all(o.ok for o in outcomes), [(p.source, o) for p, o in zip(programs, outcomes)
                                          if not o.ok][:2]
    assert sampler.infeasible == 0


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**64), max_size=st.integers(20, 60))
def test_size_budget_holds_for_every_seed(seed, max_size):
    sampler = Sampler("tinypy", seed=seed, max_size=max_size)
    for _ in range(30):
        # Each statement costs several rule expansions: lines are bounded by the budget.
        assert sampler.draw().source.count("\n") < max_size
