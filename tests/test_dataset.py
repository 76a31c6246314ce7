"""The dataset job end to end: correct outputs, reproducibility, deduplication and clean failures."""

import ast
import json
import os
import subprocess
import sys
import textwrap

import pytest

from tinyfuzz._internal.hashing import HashSet64, content_hash
from tinyfuzz.corpus.dataset import generate_dataset
from tinyfuzz.errors import InvalidArgument

LEVELS = ["1.1", "1.2", "2.1", "2.2", "3.1", "3.2"]

# An independent checker, run as its own CPython process: it shares no code with tinyfuzz's worker.
CHECKER = textwrap.dedent("""
    import contextlib, io, json, sys
    bad = []
    count = 0
    for line in open(sys.argv[1]):
        record = json.loads(line)
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec(compile(record["code"], "<p>", "exec"), {"__name__": "__main__"})
        count += 1
        if out.getvalue() != record["output"]:
            bad.append(record["code"])
    print(json.dumps({"checked": count, "bad": bad[:5], "n_bad": len(bad)}))
""")


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    """10 800 programs: 6 000 at level all and 800 at each level, as JSON lines."""
    folder = tmp_path_factory.mktemp("data")
    records = []
    for level, n in [("all", 6000)] + [(level, 800) for level in LEVELS]:
        path = folder / f"{level}.jsonl"
        summary = generate_dataset(n, path, level=level, seed=3, fmt="jsonl")
        assert summary.written == n
        records += [json.loads(line) for line in path.read_text().splitlines()]
    merged = folder / "merged.jsonl"
    merged.write_text("".join(json.dumps(r) + "\n" for r in records))
    return records, merged


def test_programs_parse_and_outputs_match_a_fresh_cpython(dataset, tmp_path):
    records, merged = dataset
    assert len(records) >= 10_000
    assert {r["level"] for r in records} == set(LEVELS)
    for record in records:
        ast.parse(record["code"])  # parsing only: generated code never runs in this process
    checker = tmp_path / "check.py"
    checker.write_text(CHECKER)
    result = subprocess.run([sys.executable, str(checker), str(merged)], capture_output=True,
                            text=True, timeout=600)
    report = json.loads(result.stdout)
    assert report["checked"] == len(records)
    assert report["n_bad"] == 0, report["bad"]


@pytest.mark.slow
def test_a_sample_matches_one_fresh_interpreter_per_program(dataset):
    records, _ = dataset
    for record in records[::80]:  # 135 programs, each in its own `python -c`
        run = subprocess.run([sys.executable, "-c", record["code"]], capture_output=True,
                             text=True, timeout=60)
        assert run.returncode == 0 and run.stdout == record["output"], record["code"]


def test_no_duplicates_and_hashes_identify_programs(dataset):
    records, _ = dataset
    first_run = records[:6000]  # the level-all run: no program twice
    assert len({r["code"] for r in first_run}) == 6000
    assert len({r["hash"] for r in first_run}) == 6000
    for r in records[:200]:
        assert r["hash"] == f"{content_hash(r['code'].rstrip(chr(10))):016x}"


def range_of(code: str) -> range:
    """The range a TinyPy program's loop runs over (its header's literal bounds)."""
    header = next(line for line in code.splitlines() if line.startswith("for "))
    call = ast.parse(header + " pass").body[0].iter
    return range(*(a.value for a in call.args))


def test_loops_are_bounded_and_have_the_papers_shapes(dataset):
    records, _ = dataset
    loops = [r for r in records if "loop" in r["constructs"]]
    assert len(loops) > 500
    shapes = set()
    for record in loops:
        numbers = range_of(record["code"])
        # <initial> a digit, <step> 1 to 3, a stop from 0 to 19 (<free_final>; the formulas give 1 to 18)
        assert 0 <= numbers.start <= 9 and 0 <= numbers.stop <= 19 and numbers.step in (1, 2, 3)
        assert len(numbers) <= 19
        assert record["output"].count("\n") == len(numbers)  # the body prints once per iteration
        span = numbers.stop - numbers.start
        shapes.add("empty" if span <= 0 else "exact" if span % numbers.step == 0 else "inexact")
    # exact counts (stop = start + step * count), the appendix's stop off the step's grid, and the
    # original tool's free stops, empty ranges included
    assert shapes == {"exact", "inexact", "empty"}


def test_same_seed_same_bytes_whatever_the_workers(tmp_path):
    files = []
    for workers in (1, 2, 3):
        path = tmp_path / f"w{workers}.txt"
        generate_dataset(3000, path, seed=11, workers=workers, batch_size=97)
        files.append(path.read_bytes())
    assert files[0] == files[1] == files[2]
    other = tmp_path / "other.txt"
    generate_dataset(3000, other, seed=12)
    assert other.read_bytes() != files[0]


def test_text_format_is_the_papers(tmp_path):
    path = tmp_path / "d.txt"
    generate_dataset(50, path, seed=1, level="3.1")
    blocks = path.read_text().split("\n\n")
    assert blocks[-1] == ""
    assert len(blocks) == 51
    for block in blocks[:-1]:
        code, _, output = block.partition("# output\n")
        ast.parse(code)
        assert all(line.startswith("# ") for line in output.splitlines())
        assert len(output.splitlines()) == len(range_of(code))  # a loop prints once per iteration


def test_summary_counts_and_construct_shares(tmp_path):
    summary = generate_dataset(2000, tmp_path / "d.txt", seed=5)
    assert summary.written == 2000
    assert sum(summary.levels.values()) == 2000
    shares = summary.construct_shares()
    assert abs(shares["assignment"] + shares["conditional"] + shares["loop"] - 1) < 1e-9
    assert all(0.25 < shares[c] < 0.42 for c in ("assignment", "conditional", "loop"))
    assert sum(summary.redrawn.values()) == 0  # tinypy programs are correct by construction


def test_bad_arguments_raise_before_writing(tmp_path):
    with pytest.raises(InvalidArgument, match="level='4.4'"):
        generate_dataset(5, tmp_path / "x.txt", level="4.4")
    with pytest.raises(InvalidArgument, match="does not exist"):
        generate_dataset(5, tmp_path / "missing" / "x.txt")
    with pytest.raises(InvalidArgument, match="format"):
        generate_dataset(5, tmp_path / "x.txt", fmt="csv")
    assert list(tmp_path.iterdir()) == []


def test_an_interrupted_run_leaves_nothing_behind(tmp_path):
    def interrupt(written):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        generate_dataset(5000, tmp_path / "x.txt", progress=interrupt, batch_size=100)
    assert list(tmp_path.iterdir()) == []


def test_hash_set_matches_a_python_set():
    import random

    rng = random.Random(0)
    values = [rng.getrandbits(64) for _ in range(50_000)]
    values += values[:5000]
    compact, reference = HashSet64(capacity=8), set()
    for value in values:
        assert compact.add(value) == (value | 1 not in reference)
        reference.add(value | 1)
    assert len(compact) == len(reference)


def test_written_files_get_the_permissions_open_would_give(tmp_path):
    """Written under a private temporary name, the file is then readable as any other would be."""
    umask = os.umask(0)
    os.umask(umask)
    generate_dataset(5, tmp_path / "data.txt", seed=1)
    assert (tmp_path / "data.txt").stat().st_mode & 0o777 == 0o666 & ~umask != 0o600
