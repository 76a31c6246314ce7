"""The learned generator (tinyfuzz.learn): tokens and back, training, search, sampling, the model
file and the CLI. Real PyTorch, tiny models: each trains in a few seconds on one thread."""

import ast
import json
import sys

import pytest
from click.testing import CliRunner
from conftest import require_extra

from tinyfuzz import Sampler
from tinyfuzz.cli import main
from tinyfuzz.corpus.corpus import Corpus
from tinyfuzz.errors import InvalidArgument
from tinyfuzz.execution.pair import run_on_reference
from tinyfuzz.learn.lstm import Config, Model, sample, search, train, use_threads
from tinyfuzz.learn.tokens import canonical_names, detokenize, normalise, tokenize_program

LEARN = "pip install 'tinyfuzz[learn]'"
require_extra("torch", LEARN)  # the whole file: its autouse fixture sets PyTorch's threads

TINY = Config(units=64, layers=1, batch_size=8, bptt=32, epochs=8, learning_rate=1e-2)


def programs(grammar: str, n: int, seed: int = 1) -> list[str]:
    sampler = Sampler(grammar, seed=seed)
    return [sampler.draw().source for _ in range(n)]


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    use_threads(1)  # two shared cores: more threads only wait for each other


@pytest.fixture(scope="module")
def corpus() -> list[str]:
    return programs("tinypy", 400)


@pytest.fixture(scope="module")
def model(corpus) -> Model:
    return train(corpus, TINY, seed=0)


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


# ---- tokens ----

@pytest.mark.parametrize("grammar, n", [("tinypy", 300), ("python", 60)])
def test_detokenize_of_tokens_is_the_same_program(grammar, n):
    for source in programs(grammar, n, seed=7):
        text = detokenize(tokenize_program(source))
        assert ast.dump(ast.parse(text)) == ast.dump(ast.parse(source)), (source, text)
        assert normalise(text) == text  # the normal form is a fixed point


@pytest.mark.parametrize("source", [
    "x = (1).real + 1 .real\n",  # "1.real" would be a malformed number
    "print(*[1, 2], sep='', **{})\n",
    "x = -1 ** -2 - -3\ny = [~x, not x, x if -x else -x]\n",
    "from . import x\n",
    "def f(a, *, b=-1, **k):\n    return lambda v=2: v - a\n",
    "s = f'{x!r:>{w}}' 'tail', rb'\\x00'\n",
    "if x:\n    pass\nelif (y := 3) >= -x:\n    while True:\n        break\n",
])
def test_detokenize_keeps_tokens_apart_where_they_would_merge(source):
    text = detokenize(tokenize_program(source))
    assert ast.dump(ast.parse(text)) == ast.dump(ast.parse(source)), text


def test_canonical_names_rename_in_order_and_keep_behaviour():
    sources = programs("tinypy", 100, seed=3) + programs("python", 30, seed=3)
    renamed = [canonical_names(source) for source in sources]
    assert renamed[0].startswith("a = ")  # every tinypy program starts with an assignment
    assert all(canonical_names(text) == text for text in renamed)  # already canonical
    before, after = run_on_reference(sources), run_on_reference(renamed)
    assert [(o.status, o.stdout) for o in after] == [(o.status, o.stdout) for o in before]


def test_canonical_names_leave_methods_attributes_and_builtins_alone():
    source = ("class Box:\n    def __init__(self, value):\n        self.value = value\n"
              "    def add(self, amount=1):\n        return Box(self.value + amount)\n"
              "total = Box(2).add(amount=3).value\nprint(len([total]))\n")
    text = canonical_names(source)
    assert "def add(" in text and "def __init__(" in text and ".value" in text and "len(" in text
    assert "class a:" in text and "amount" not in text and "total" not in text


# ---- training and sampling ----

def test_training_lowers_the_validation_loss(model):
    epochs = model.stats["epochs"]
    assert model.stats["validation_loss"] < epochs[0]["validation_loss"] - 0.1
    assert model.stats["validation_loss"] == min(e["validation_loss"] for e in epochs)
    assert model.stats["training_programs"] + model.stats["validation_programs"] == 400


def test_samples_of_a_tiny_model_mostly_compile_and_run(model):
    report = sample(model, 200, seed=1)
    # measured over training seeds 0-3: 78-93% compiled, 47-74% ran cleanly, 98-100% of the
    # distinct valid ones novel (untrained: 2% compiled, 1.5% ran cleanly)
    assert report.compiled >= 0.6 * report.drawn
    assert report.valid >= 0.35 * report.drawn
    assert report.novel >= 0.8 * len(report.programs)
    assert len(report.programs) == report.valid - report.duplicates
    for code, stdout in report.programs:  # the valid ones: each compiles (here only compiled)
        compile(code, "<sampled>", "exec")
        assert isinstance(stdout, str)


def test_a_memorised_corpus_gives_duplicates_that_are_not_novel():
    few = programs("tinypy", 3)
    model = train(few * 60, TINY, seed=0)
    report = sample(model, 100, seed=0)
    assert report.duplicates > 50
    assert report.novel <= report.drawn // 10  # at most one draw in ten is new


def test_search_runs_trials_and_keeps_the_best(corpus):
    require_extra("optuna", LEARN)
    model = search(corpus[:200], trials=2, config=TINY, trial_epochs=1, seed=0)
    table = model.stats["trials"]
    assert len(table) == 2
    best = min(table, key=lambda row: row["validation_loss"])
    assert {k: getattr(model.config, k) for k in ("units", "layers", "learning_rate",
                                                    "batch_size")} == \
        {k: best[k] for k in ("units", "layers", "learning_rate", "batch_size")}


def test_training_is_seeded(corpus):
    first, second = (train(corpus[:100], Config(units=16, layers=1, epochs=2), seed=5)
                     for _ in range(2))
    assert first.stats["validation_loss"] == second.stats["validation_loss"]


def test_model_file_round_trip(model, tmp_path):
    path = model.save(tmp_path / "model.pt")
    loaded = Model.load(path)
    assert loaded.config == model.config and loaded.vocabulary.tokens == model.vocabulary.tokens
    assert loaded.generate(30, seed=4) == model.generate(30, seed=4)
    assert loaded.generate(30, seed=4) != loaded.generate(30, seed=5)
    assert not [p.name for p in tmp_path.iterdir() if p.name != "model.pt"]  # no temporary left


def test_bad_arguments_are_one_line_errors(model, tmp_path):
    with pytest.raises(InvalidArgument, match="temperature"):
        model.generate(1, temperature=0)
    with pytest.raises(InvalidArgument, match="at least 2"):
        train(["x = 1\n", "x = = 1\n"], TINY)
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a model")
    with pytest.raises(InvalidArgument, match="not a model file"):
        Model.load(junk)


def test_missing_extras_name_the_install_command(monkeypatch, corpus):
    monkeypatch.setitem(sys.modules, "optuna", None)  # import optuna now raises ImportError
    with pytest.raises(InvalidArgument, match=r"needs Optuna: pip install 'tinyfuzz\[learn\]'"):
        search(corpus, 2, config=TINY)
    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(InvalidArgument, match=r"needs PyTorch: pip install 'tinyfuzz\[learn\]'"):
        train(corpus, TINY)
    result = invoke("learn", "--from", __file__, "-o", "unused.pt")
    assert result.exit_code == 2
    assert result.output.count("\n") == 1 and "pip install 'tinyfuzz[learn]'" in result.output
    assert normalise("x  =  1  # a comment\n") == "x = 1\n"  # the tokenizer needs neither


# ---- command line ----

def test_cli_learn_from_a_dataset_and_sample_into_a_corpus(corpus, tmp_path):
    require_extra("optuna", LEARN)  # --trials
    dataset = tmp_path / "data.jsonl"
    dataset.write_text("".join(json.dumps({"code": code, "output": ""}) + "\n" for code in corpus))
    model = tmp_path / "model.pt"
    result = invoke("learn", "--from", dataset, "-o", model, "--epochs", 2, "--trials", 2)
    assert result.exit_code == 0, result.output
    assert "trial 1:" in result.output and "best of 2 trials" in result.output
    assert "validation loss" in result.output and model.is_file()

    out, db = tmp_path / "samples.jsonl", tmp_path / "corpus.sqlite"
    result = invoke("sample", model, "-n", 200, "-o", out, "--corpus", db, "--seed", 1)
    assert result.exit_code == 0, result.output
    assert "drew 200 programs" in result.output and "novel" in result.output
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert records and all(set(r) == {"code", "output"} for r in records)
    stored = Corpus(db).sources(label=None, origin="learned")
    assert sorted(stored) == sorted(r["code"] for r in records)


def test_cli_learn_from_a_corpus_and_a_text_dataset(corpus, tmp_path):
    db = tmp_path / "corpus.sqlite"
    Corpus(db).add_sources(corpus[:150], origin="generate", grammar="tinypy")
    dataset = tmp_path / "data.txt"  # the paper's format: program, "# output", "# <line>"s, blank
    dataset.write_text("".join(f"{code.rstrip()}\n# output\n# 1\n\n" for code in corpus[150:200]))
    model = tmp_path / "model.pt"
    result = invoke("learn", "--corpus", db, "--grammar", "tinypy", "--from", dataset, "-o", model,
                    "--epochs", 1)
    assert result.exit_code == 0, result.output
    assert "200 programs" in result.output
    result = invoke("learn", "--corpus", db, "--grammar", "python", "-o", model)
    assert result.exit_code == 2 and "learning needs at least 2" in result.output


@pytest.mark.parametrize("args, message", [
    (["learn", "-o", "m.pt"], "give --corpus DB or --from FILE"),
    (["learn", "--corpus", "missing.sqlite", "-o", "m.pt"], "no such store"),
    (["learn", "--from", __file__, "-o", "no/such/dir/m.pt"], "does not exist"),
    (["sample", "missing.pt"], "no such model file"),
])
def test_cli_user_errors(args, message, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = invoke(*args)
    assert result.exit_code == 2
    assert message in result.output and result.output.count("\n") == 1
