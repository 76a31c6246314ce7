"""The corpus (labelled programs in the store), mutation and crossover on syntax trees, the
``from_corpus`` strategy, and campaigns that mutate the corpus."""

import json
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings

from tinyfuzz import Sampler, from_corpus
from tinyfuzz.campaign.config import Budget, CampaignConfig
from tinyfuzz.campaign.driver import Campaign
from tinyfuzz.campaign.runner import BatchRunner
from tinyfuzz.cli import main
from tinyfuzz.corpus.corpus import Corpus
from tinyfuzz.corpus.formats import read_programs
from tinyfuzz.corpus.store import Store
from tinyfuzz.engine.mutate import OPERATORS, Mutator, Parents
from tinyfuzz.errors import InvalidArgument
from tinyfuzz.execution.pair import run_on_reference

TOYC = str(Path(__file__).parent.parent / "examples" / "toyc" / "toyc.toml")


def drawn(grammar: str, n: int, seed: int = 0) -> list[str]:
    sampler = Sampler(grammar, seed=seed)
    return [sampler.draw().source for _ in range(n)]


# ---- the corpus ----

def test_import_labels_by_running_on_the_reference(tmp_path):
    (tmp_path / "ok.py").write_text("print(6 * 7)\n")
    (tmp_path / "raises.py").write_text("print(1)\nprint(1 / 0)\n")
    (tmp_path / "more").mkdir()
    (tmp_path / "more" / "loops.py").write_text("while True:\n    pass\n")
    corpus = Corpus(tmp_path / "c.sqlite")
    counts = corpus.import_path(tmp_path)
    assert counts == Counter(added=3, correct=1, incorrect=2)
    rows = {row.source.splitlines()[-1]: row for row in corpus.rows()}
    assert rows["print(6 * 7)"].label == "correct" and rows["print(6 * 7)"].expected["stdout"] == "42\n"
    assert (rows["print(1 / 0)"].label, rows["print(1 / 0)"].reason) == ("incorrect", "ZeroDivisionError")
    assert rows["print(1 / 0)"].expected["stdout"] == "1\n"  # the test case: what it printed
    assert (rows["    pass"].label, rows["    pass"].reason) == ("incorrect", "timeout")
    again = corpus.import_path(tmp_path)  # one row per text
    assert again["added"] == 0 and again["duplicates"] == 3


def test_import_reads_both_dataset_formats(tmp_path):
    runner = CliRunner()
    for fmt in ("jsonl", "text"):
        out = tmp_path / f"data.{fmt}"
        assert runner.invoke(main, ["generate", "-n", "40", "--seed", "3", "--format", fmt, "-o",
                                    str(out), "--quiet"]).exit_code == 0
    jsonl = [json.loads(line)["code"] for line in (tmp_path / "data.jsonl").read_text().splitlines()]
    text = list(read_programs(tmp_path / "data.text"))
    assert [p.strip() for p in text] == [p.strip() for p in jsonl] and len(jsonl) == 40
    corpus = Corpus(tmp_path / "c.sqlite")
    assert corpus.import_path(tmp_path / "data.jsonl", grammar="tinypy")["correct"] == 40
    assert corpus.import_path(tmp_path / "data.text")["duplicates"] == 40  # the same programs
    assert corpus.stats()["grammar"] == {"tinypy": 40}


@pytest.mark.slow
def test_import_takes_a_campaigns_findings_as_incorrect(tmp_path):
    db = tmp_path / "run.sqlite"
    Campaign(CampaignConfig(targets=(TOYC,), grammar="tinypy", batch_size=25, seed=1), db=db,
             budget=Budget(programs=100), workers=1, crashes=tmp_path / "crashes",
             shrink_tests=50).run()
    findings = Store(db).findings(1)
    assert findings
    corpus = Corpus(tmp_path / "corpus.sqlite")
    assert corpus.import_path(db)["incorrect"] == len({f.source.strip() for f in findings})
    rows = corpus.rows("incorrect")
    assert all(row.reason.startswith("finding toyc ") and row.origin == "campaign" for row in rows)
    assert {row.source.strip() for row in rows} == {f.source.strip() for f in findings}
    # those that ran cleanly on the reference are parents for mutation (bugs cluster)
    corpus.add_sources(["print(1 / 0)\n", "print(2)\n"], origin="import")
    sources, _ = corpus.parents("tinypy")
    assert set(sources) == {row.source for row in rows if row.expected["status"] == "ok"} | \
        {"print(2)\n"}
    assert any(row.expected["status"] == "ok" for row in rows)


def test_export_round_trips_and_writes_files(tmp_path):
    corpus = Corpus(tmp_path / "c.sqlite")
    corpus.add_sources(drawn("tinypy", 30) + ["print(1 / 0)\n"], origin="import")
    assert corpus.export(tmp_path / "all.jsonl") == 31
    records = [json.loads(line) for line in (tmp_path / "all.jsonl").read_text().splitlines()]
    assert Counter(r["label"] for r in records) == {"correct": 30, "incorrect": 1}
    assert all(r["output"] == r["expected"]["stdout"] for r in records)
    copy = Corpus(tmp_path / "copy.sqlite")
    copy.import_path(tmp_path / "all.jsonl")
    assert sorted(copy.sources(None)) == sorted(corpus.sources(None))
    assert corpus.export(f"{tmp_path}/files/", label="incorrect") == 1
    (only,) = (tmp_path / "files" / "incorrect").glob("*.py")
    assert only.read_text() == "print(1 / 0)\n"
    stats = corpus.stats()
    assert stats["programs"] == 31 and stats["label"] == {"correct": 30, "incorrect": 1}
    assert stats["reason"] == {"ZeroDivisionError": 1}


@pytest.mark.parametrize("content, message", [
    ('{"code": "print(1)"}\nnot json\n', r"data.jsonl:2: not a JSON object with a \"code\" field"),
    ("print(1)\n", r"data.txt: the last program has no '# output' line"),
    ("print(1)\n# output\nnot a comment\n", r"data.txt:3: expected '# <output line>'"),
])
def test_bad_datasets_name_the_file_and_line(tmp_path, content, message):
    path = tmp_path / ("data.jsonl" if content.startswith("{") else "data.txt")
    path.write_text(content)
    with pytest.raises(InvalidArgument, match=message):
        list(read_programs(path))


@pytest.mark.postgres
def test_the_corpus_lives_in_postgresql_too(postgres_url):
    corpus = Corpus(postgres_url)
    counts = corpus.add_sources(drawn("tinypy", 20) + ["print(1 / 0)\n"], origin="import")
    assert counts == Counter(added=21, correct=20, incorrect=1)
    assert corpus.stats()["label"] == {"correct": 20, "incorrect": 1}
    assert Corpus(postgres_url).add_sources(drawn("tinypy", 20), origin="import")["duplicates"] == 20


def test_a_store_made_before_a_column_existed_gains_it(tmp_path):
    import sqlite3

    db = tmp_path / "old.sqlite"
    Store(db).close()
    with sqlite3.connect(db) as connection:  # as an older tinyfuzz made it
        connection.execute("ALTER TABLE batches DROP COLUMN mutated")
        connection.execute("ALTER TABLE corpus DROP COLUMN tree")
    Store(db).close()
    with sqlite3.connect(db) as connection:
        assert "mutated" in {row[1] for row in connection.execute("PRAGMA table_info(batches)")}
        assert "tree" in {row[1] for row in connection.execute("PRAGMA table_info(corpus)")}
    assert Corpus(db).add_generated("tinypy", 3)["added"] == 3


# ---- trees, mutation and crossover ----

@pytest.mark.parametrize("grammar, count", [("tinypy", 150), ("python", 25)])
def test_the_tree_of_a_programs_text_gives_back_the_text(grammar, count):
    mutator = Mutator(grammar)
    for source in drawn(grammar, count, seed=11):
        tree = mutator.tree_of(source)
        assert tree is not None and tree.text == source
        assert mutator.derive(tree).text == source  # replaying a tree unchanged: the same program
    assert mutator.tree_of("print(undefined_name)\n") is None  # not derivable: no tree


def test_stored_trees_replay_without_a_parse(tmp_path, monkeypatch):
    corpus = Corpus(tmp_path / "c.sqlite")
    assert corpus.add_generated("python", 20, seed=6)["correct"] == 20
    sources, stored = corpus.parents("python")
    assert len(sources) == 20 and all(stored)
    assert all(json.loads(tree)["r"] == "program" for tree in stored)  # compact JSON text
    # another compiled grammar (3.9: no match, no except*) reads them by names and positions
    mutator = Mutator("python", python_version=(3, 9))
    parsed = []
    monkeypatch.setattr(Mutator, "tree_of", lambda self, source: parsed.append(source))
    parents = Parents(mutator, sources, stored)
    loaded = [parents.tree(i) for i in range(20)]
    assert [t.text.rstrip() for t in loaded if t] == [s.rstrip() for s, t in zip(sources, loaded) if t]
    # those using 3.10+ constructs (match, except*) are not derived, and no parse is tried
    assert not parsed and 0 < loaded.count(None) < 20
    assert all(("match " in s or "except*" in s) == (t is None) for s, t in zip(sources, loaded))
    # a larger corpus: a random sample, the same for the same seed
    assert corpus.parents("python", limit=5, seed=1) == corpus.parents("python", limit=5, seed=1)
    assert len(corpus.parents("python", limit=5)[0]) == 5 and \
        set(corpus.parents("python", limit=5)[0]) < set(sources)
    # a tree of a grammar that has changed since (a rule renamed) is made again from the text
    assert mutator.load_tree('{"r": "no_such_rule", "i": []}', sources[0]) is None
    assert parsed == [sources[0]]


def test_parents_keep_a_bounded_number_of_trees(monkeypatch):
    import tinyfuzz.engine.mutate

    monkeypatch.setattr(tinyfuzz.engine.mutate, "MAX_TREES", 3)
    sources = drawn("tinypy", 10) + ["print(undefined)\n"]
    parents = Parents(Mutator("tinypy"), sources)
    for index in list(range(11)) * 2:
        tree = parents.tree(index)
        assert (tree is None) == (index == 10) and (tree is None or tree.text == sources[index])
        assert len(parents.trees) <= 3
    assert parents.underivable == 1


@pytest.mark.parametrize("grammar, parents, count", [
    ("tinypy", 60, 600), pytest.param("python", 40, 300, marks=pytest.mark.slow)])
def test_mutants_and_offspring_run_cleanly_on_cpython(grammar, parents, count):
    """The issue's bar: at least 98% run cleanly (measured: 100%, bench/mutation.py)."""
    mutator = Mutator(grammar, seed=3)
    trees = [mutator.tree_of(source) for source in drawn(grammar, parents, seed=5)]
    made = {op: [mutator.offspring(trees, op) for _ in range(count // 3)] for op in OPERATORS}
    for op, mutants in made.items():
        assert None not in mutants, op
        sources = [m.source for m in mutants]
        # each differs from its parent (small tinypy programs sometimes equal another parent)
        assert sum(s in {t.text for t in trees} for s in sources) <= 0.05 * len(sources)
        assert len(set(sources)) >= 0.8 * len(sources), op
        outcomes = run_on_reference(sources)
        clean = sum(o.ok for o in outcomes) / len(outcomes)
        assert clean >= 0.98, (op, Counter(o.exc_type or o.status for o in outcomes))


def test_later_generations_stay_valid():
    mutator = Mutator("python", seed=8)
    population = [mutator.tree_of(source) for source in drawn("python", 10, seed=2)]
    for _ in range(4):  # offspring of offspring of ...
        population = [mutator.offspring(population).tree for _ in range(30)]
    outcomes = run_on_reference([tree.text for tree in population])
    assert sum(o.ok for o in outcomes) >= 0.98 * len(outcomes)


def test_crossover_grafts_the_donors_subtree_and_rebinds_its_names():
    mutator = Mutator("tinypy", seed=1)
    recipient = mutator.tree_of("a = 1\nb = 2\nprint(a + b)")
    donor = mutator.tree_of("x = 3\ny = 4\nprint(x - y)")
    offspring = {mutator.crossover(recipient, donor)[0].text for _ in range(40)}
    # the donor's expression arrives in the recipient's print; its names x, y (not bound there)
    # become a or b; a grafted assignment brings its own name
    grafted = {t for t in offspring if t.startswith("a = 1\nb = 2\nprint(") and " - " in t}
    assert grafted and not any("x" in t or "y" in t for t in grafted)
    assert any(t.startswith("x = 3\n") for t in offspring)
    assert all(o.ok for o in run_on_reference(sorted(offspring)))  # no NameError anywhere


def test_a_subtree_grafted_onto_its_own_descendant_is_replayed_once():
    mutator = Mutator("python", seed=4)
    pairs = []
    for source in drawn("python", 10, seed=9):
        tree = mutator.tree_of(source)
        pairs += [(tree, inner, outer) for nodes in mutator._nodes(tree).values()
                  for outer in nodes for inner in nodes
                  if inner is not outer and any(n is inner for n in outer.walk())]
    assert len(pairs) >= 5  # same rule, nested (an expression inside an expression)
    for tree, inner, outer in pairs[:20]:  # the inner one replaced by its ancestor: no endless loop
        new = mutator.derive(tree, replace={id(inner): outer})
        assert new is not None and len(new.text) > len(tree.text)


def test_a_point_mutation_changes_one_terminal():
    mutator = Mutator("tinypy", seed=2)
    parent = mutator.tree_of("a = 1\nb = 2\nprint(a + b)")
    for _ in range(30):
        text = mutator.point(parent)[0].text
        changed = [(x, y) for x, y in zip(parent.text.split(), text.split()) if x != y]
        assert len(text.split()) == len(parent.text.split()) and 1 <= len(changed) <= 2


# ---- from_corpus, campaigns, the command line ----

def test_from_corpus_draws_valid_programs_and_shrinks(tmp_path):
    corpus = Corpus(tmp_path / "c.sqlite")
    corpus.add_sources(drawn("tinypy", 40), origin="generate", grammar="tinypy")
    seen = []

    @settings(max_examples=60, deadline=None, database=None)
    @given(from_corpus(tmp_path / "c.sqlite", "tinypy"))
    def collect(program):
        seen.append(program.source)

    collect()
    assert len(set(seen)) > 30
    assert all(o.ok for o in run_on_reference(seen))
    failing = []

    @settings(max_examples=300, deadline=None, database=None)
    @given(from_corpus(corpus.sources(), "tinypy", operator="point"))
    def never_subtracts(program):
        if " - " in program.source:
            failing.append(program.source)
            raise AssertionError

    with pytest.raises(AssertionError):
        never_subtracts()
    assert " - " in failing[-1]
    with pytest.raises(InvalidArgument, match="no correct programs"):
        from_corpus([], "tinypy")

    @settings(max_examples=5, database=None)
    @given(from_corpus(["print(undefined)\n"], "tinypy"))
    def underivable(program):
        pass

    with pytest.raises(InvalidArgument, match="tinypy derives none of the 1 programs"):
        underivable()
    with pytest.raises(InvalidArgument, match="no such store"):  # a typo is not an empty corpus
        from_corpus(tmp_path / "typo.sqlite", "tinypy")
    assert not (tmp_path / "typo.sqlite").exists()


@pytest.mark.slow
def test_campaign_batches_mutate_the_corpus_and_find_the_toy_bugs(tmp_path):
    corpus_db = tmp_path / "corpus.sqlite"
    corpus = Corpus(corpus_db)
    corpus.add_sources(drawn("tinypy", 60, seed=4), origin="generate", grammar="tinypy")
    config = CampaignConfig(targets=(TOYC,), grammar="tinypy", batch_size=25, seed=1,
                            corpus=str(corpus_db), mutate=1.0)
    runner = BatchRunner(config.as_dict())
    parents = set(corpus.sources())
    offspring = runner.offspring(7, 40)
    assert len(offspring) == 40 and offspring == runner.offspring(7, 40)  # a seed reproduces them
    # each is new, and mostly lines of corpus programs (a subtree changed or grafted)
    corpus_lines = {line for source in parents for line in source.splitlines()}
    assert not {p.source for p in offspring} & parents
    shared = [sum(line in corpus_lines for line in p.source.splitlines()) /
              len(p.source.splitlines()) for p in offspring]
    assert sum(shared) / len(shared) > 0.6
    runner.close()
    status = Campaign(config, db=tmp_path / "run.sqlite", budget=Budget(programs=200), workers=1,
                      crashes=tmp_path / "crashes", shrink_tests=60).run()
    assert status.programs == 200 and len(status.buckets) >= 2  # toyc's seeded bugs
    assert status.mutated == 200 and sum(b.mutated for b in Store(tmp_path / "run.sqlite")
                                         .batches(1)) == 200
    fed = corpus.rows("incorrect")  # the findings went into the corpus, labelled incorrect
    assert len(fed) >= 2 and all(row.reason.startswith("finding toyc") for row in fed)
    with pytest.raises(InvalidArgument, match="needs --corpus"):
        CampaignConfig(targets=(TOYC,), mutate=0.5)
    # campaigns without a corpus keep their identity (the same command resumes them)
    assert "corpus" not in CampaignConfig(targets=(TOYC,)).as_dict()


def test_corpus_commands_end_to_end(tmp_path):
    runner = CliRunner()
    db = str(tmp_path / "c.sqlite")
    (tmp_path / "bad.py").write_text("print([][1])\n")

    def run(*args):
        result = runner.invoke(main, ["corpus", *args, "--db", db])
        return result.exit_code, result.output

    assert run("mutate", "-n", "5")[0] == 2  # nothing to mutate yet: a usage error
    code, out = run("generate", "--grammar", "tinypy", "-n", "50")
    assert code == 0 and "50 added (50 correct, 0 incorrect)" in out
    code, out = run("import", str(tmp_path / "bad.py"))
    assert code == 0 and "1 added (0 correct, 1 incorrect)" in out
    code, out = run("mutate", "--grammar", "tinypy", "-n", "60", "--seed", "1")
    assert code == 0 and "all: " in out
    for op in OPERATORS:
        assert f"{op}: " in out
    code, out = run("stats")
    assert code == 0 and "IndexError" in out and "regenerate" in out
    code, out = run("export", "-o", str(tmp_path / "out.jsonl"), "--label", "incorrect")
    assert code == 0 and out.startswith("1 programs")
    code, out = run("import", str(tmp_path / "missing.jsonl"))
    assert code == 2 and "missing.jsonl: no such file or directory" in out
    result = runner.invoke(main, ["fuzz", "--target", TOYC, "--corpus", str(tmp_path / "typo.db"),
                                  "--db", str(tmp_path / "run.sqlite"), "--budget", "10"])
    assert result.exit_code == 2 and "no such store" in result.output
