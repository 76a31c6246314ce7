"""One cause, one bucket: where a difference shows (``DifferentialPair.localize``), the shape of a
minimal program (``program_shape``), a finding's cause (``DifferentialPair.cause``) and the store's
merged buckets. The toy compiler of examples/toyc has two bugs that print one extra line each (one
loop iteration too many, an ``if`` taken wrongly): they must never share a bucket."""

from pathlib import Path

import pytest

from tinyfuzz.corpus.store import BatchRecord, BatchResult, Store
from tinyfuzz.execution.findings import Finding, program_shape
from tinyfuzz.execution.pair import DifferentialPair, cuts, last_statement
from tinyfuzz.execution.targets import load_target
from tinyfuzz.execution.worker import Outcome

TOYC = Path(__file__).resolve().parent.parent / "examples" / "toyc" / "toyc.toml"
RANGE = "a = 1\nprint(a)\nfor i in range(0, 4, 2):\n\tprint(i)\nb = 2\nprint(b)\n"
NOT = "a = 1\nprint(a)\nif not a < 0 and a > 5:\n\tprint(a)\nb = 2\nprint(b)\n"


@pytest.fixture(scope="module")
def toyc():
    with pytest.MonkeyPatch.context() as patch:
        for bug in ("DIV", "NOT", "RANGE"):
            patch.setenv(f"TOYC_FIX_{bug}", "0")  # every bug live
        with DifferentialPair(load_target("cpython"), load_target(str(TOYC))) as pair:
            yield pair


def test_cuts_end_at_each_top_level_statement_that_ends_a_line():
    assert cuts("x = 1; y = 2\nfor i in x:\n    print(i)\nprint(y)  # done\n") == [
        "x = 1; y = 2\n", "x = 1; y = 2\nfor i in x:\n    print(i)\n",
        "x = 1; y = 2\nfor i in x:\n    print(i)\nprint(y)  # done\n"]
    assert cuts("not python (") == ["not python ("]
    assert (last_statement("for i in x:\n    print(i)"), last_statement("(")) == ("For", "")


def test_two_bugs_that_print_an_extra_line_get_two_buckets(toyc):
    _, whole = toyc.observe([RANGE, NOT])
    assert whole[0].signature == whole[1].signature  # alike as whole programs
    (range_cut, range_bug), (not_cut, not_bug) = toyc.localize([RANGE, NOT], whole)
    assert range_cut == RANGE.split("b = 2")[0] and not_cut == NOT.split("b = 2")[0]
    assert range_bug.signature != not_bug.signature
    assert range_bug.signature == toyc.difference(range_cut).signature  # what a shrink keeps


def test_a_cause_is_the_same_whatever_shows_it(toyc):
    loops = ["for a in range(0,14,2):\n print(0)", "for b in range(2,8,3):\n print(1/2)"]
    branches = ["if not 0 and 0:\n print(0)", "x = 3\nif not 0 and 0:\n print(x)\nelse:\n print(1)"]
    causes = [toyc.cause(source) for source in loops + branches]
    assert causes[0] == causes[1] != causes[2] == causes[3], causes


@pytest.mark.parametrize("a, b, same", [
    ("print(0/1)", "print(6/3)", True),
    ("a={}\na['red']", "x={}\nx['cyan']", True),
    ("for a in range(0,14,2):\n print(0)", "for b in range(0,10,2):\n print(-1)", True),
    ("print(0/1)", "print(0.5/1)", False),  # an int is not a float
    ("''.casefold()", "''.center()", False),  # attributes are the language's, not the program's
    ("print('e'.count(''))", "print('é'.count(''))", False),  # ASCII or not
])
def test_program_shapes(a, b, same):
    assert (program_shape(a) == program_shape(b)) is same


def test_a_merged_bucket_counts_its_later_hits_in_the_one_it_joined(tmp_path):
    store = Store(tmp_path / "s.sqlite")
    campaign = store.open_campaign({"seed": 0})
    ok, two = Outcome("ok", "1\n"), Outcome("ok", "1\n1\n")

    def batch(index, *signatures):
        findings = tuple(Finding("toyc", "toyc.toml", "output", s, f"print({i})", ok, two)
                         for i, s in enumerate(signatures))
        record = BatchRecord(index=index, seed=index, excluded=(), programs=10, seconds=0.1,
                             outcomes={}, features={}, bugs=len(findings), covered=(), known=0,
                             flaky=0, mutated=0)
        return store.record_batch(campaign.id, BatchResult(record, findings, ()), 1.0)

    first, second, third = batch(0, "aaa", "bbb", "ccc")
    store.merge(second.id, first.id)
    store.merge(first.id, third.id)  # and those that had joined it follow
    batch(1, "aaa", "bbb")
    (kept,) = store.findings(campaign.id)
    assert kept.signature == "ccc" and kept.hits == 5
    assert {row.merged_into for row in store.findings(campaign.id, merged=True)} == {"ccc"}
    store.close()


def test_a_bug_is_never_reduced_into_a_documented_difference(tmp_path):
    """PyPy-like set order documented: a program whose bug shows after a set was printed must not
    shrink to the set alone (its signature, once the set order is explained, is the set's)."""
    documented = tmp_path / "toyc-sets.toml"
    documented.write_text(TOYC.read_text().replace("{target_dir}", str(TOYC.parent)) +
                          '\n[[known]]\nid = "everything"\nkind = "output"\nnormalize = ["ignore"]\n')
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TOYC_FIX_DIV", "0")
        with DifferentialPair(load_target("cpython"), load_target(str(documented))) as pair:
            difference = pair.difference("print(6/3)")
            assert difference is not None and not difference.is_bug
            holds = pair.holds(difference.signature, "Expr")
            assert not holds("print(6/3)") and not holds("print(4/2)")
