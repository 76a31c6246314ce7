"""The ``tinyfuzz`` command line: datasets written whole, reproducibly, and user errors as one message."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import tinyfuzz
from tinyfuzz import Sampler
from tinyfuzz.cli import main

N = 200
WORKERS = "2"
REPO_ROOT = Path(tinyfuzz.__file__).resolve().parent.parent
JSONL_KEYS = {"code", "output", "level", "constructs", "hash"}


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def generate(output, *args, n=N, seed=0):
    return invoke("generate", "-n", n, "--seed", seed, "--workers", WORKERS, "-o", output, *args)


def tree(folder: Path) -> list[str]:
    """Every file and directory under ``folder``, hidden ones (such as .partial files) included."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def check_record(record: dict) -> None:
    assert set(record) == JSONL_KEYS
    assert isinstance(record["code"], str) and record["code"].endswith("\n") and record["code"].strip()
    assert isinstance(record["output"], str)
    assert isinstance(record["level"], str) and record["level"]
    assert isinstance(record["constructs"], list)
    assert all(isinstance(c, str) for c in record["constructs"])
    assert record["constructs"] == sorted(record["constructs"])
    assert isinstance(record["hash"], str) and re.fullmatch(r"[0-9a-f]{16}", record["hash"])


# --------------------------------------------------------------------------------------------------
# Successful runs


def test_text_format_writes_exactly_n_programs_and_a_summary(tmp_path):
    out = tmp_path / "data.txt"
    result = generate(out)
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    lines = text.splitlines()
    assert lines.count("# output") == N
    # Paper format: each record ends with a blank line; output lines are comments.
    records = [r for r in text.split("\n\n") if r.strip()]
    assert len(records) == N
    for record in records:
        program, _, output = record.partition("# output\n")
        assert program.strip(), record
        assert all(line.startswith("# ") or line == "#" for line in output.splitlines()), record
    assert len(set(records)) == N  # unique programs
    assert result.stdout == ""
    assert f"wrote {N:,} programs" in result.stderr
    assert "duplicates skipped" in result.stderr
    assert "redrawn" in result.stderr
    assert tree(tmp_path) == ["data.txt"]  # no .partial file left behind


def test_jsonl_format_records_have_the_documented_keys_and_types(tmp_path):
    out = tmp_path / "data.jsonl"
    result = generate(out, "--format", "jsonl", "--quiet")
    assert result.exit_code == 0, result.output
    assert result.stderr == ""  # --quiet: no summary
    records = read_jsonl(out)
    assert len(records) == N
    for record in records:
        check_record(record)
    assert len({r["hash"] for r in records}) == N
    assert len({r["code"] for r in records}) == N
    assert {r["level"] for r in records} <= {"1.1", "1.2", "2.1", "2.2", "3.1", "3.2"}


def test_zero_programs_writes_an_empty_file(tmp_path):
    out = tmp_path / "empty.txt"
    result = generate(out, "--quiet", n=0)
    assert result.exit_code == 0, result.output
    assert out.read_bytes() == b""
    assert tree(tmp_path) == ["empty.txt"]


def test_same_seed_gives_identical_bytes_and_another_seed_does_not(tmp_path):
    first, second, other = tmp_path / "a.txt", tmp_path / "b.txt", tmp_path / "c.txt"
    assert generate(first, "--quiet", seed=7).exit_code == 0
    # Also with another number of workers: the order never depends on timing.
    assert invoke("generate", "-n", N, "--seed", 7, "--workers", 1, "-o", second,
                  "--quiet").exit_code == 0
    assert generate(other, "--quiet", seed=8).exit_code == 0
    assert first.read_bytes() == second.read_bytes()
    assert first.read_bytes() != other.read_bytes()
    assert other.read_text().splitlines().count("# output") == N


def test_level_3_1_gives_only_for_loops(tmp_path):
    out = tmp_path / "loops.jsonl"
    result = generate(out, "--level", "3.1", "--format", "jsonl", "--quiet", seed=3)
    assert result.exit_code == 0, result.output
    records = read_jsonl(out)
    assert len(records) == N
    for record in records:
        assert "for " in record["code"], record["code"]
        assert record["level"] == "3.1"


def test_a_folder_named_like_a_bundled_grammar_does_not_hide_it(tmp_path, monkeypatch):
    """A name is the bundled grammar unless it is a path to a file."""
    monkeypatch.chdir(tmp_path)
    for name in ("tinypy", "python"):
        (tmp_path / name).mkdir()
        assert Sampler(name, seed=1).draw().source
    result = invoke("generate", "-n", 5, "--workers", 1, "-o", "out.txt", "--quiet")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out.txt").read_text(encoding="utf-8").splitlines().count("# output") == 5


# --------------------------------------------------------------------------------------------------
# User errors: one message, exit code 2, nothing written


BAD_GRAMMAR = '@start <a>\n<a> ::= "x" <b>\n'


def bad_arguments(case: str, tmp_path: Path, out: Path) -> list:
    if case == "unknown level":
        return ["--level", "9.9", "-o", out / "x.txt"]
    if case == "missing directory":
        return ["-o", out / "missing" / "x.txt"]
    if case == "output is a directory":
        (out / "d").mkdir()
        return ["-o", out / "d"]
    if case == "undefined nonterminal":
        grammar = tmp_path / "bad.bnf"
        grammar.write_text(BAD_GRAMMAR, encoding="utf-8")
        return ["--grammar", grammar, "-o", out / "x.txt"]
    if case == "unknown grammar":
        return ["--grammar", "no_such_grammar", "-o", out / "x.txt"]
    raise AssertionError(case)


@pytest.mark.parametrize("case", ["unknown level", "missing directory", "output is a directory",
                                  "undefined nonterminal", "unknown grammar"])
def test_user_errors_print_one_message_and_exit_2(tmp_path, case):
    out = tmp_path / "out"
    out.mkdir()
    args = bad_arguments(case, tmp_path, out)
    before = tree(out)
    result = invoke("generate", "-n", 5, "--workers", 1, *args)
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit), result.exception  # nothing unexpected escaped
    assert "Traceback" not in result.output
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("tinyfuzz: error:")]
    assert len(errors) == 1, result.stderr
    assert result.stderr.startswith("tinyfuzz: error:")
    assert tree(out) == before  # no output file, no .partial leftovers

    lines = result.stderr.splitlines()
    if case == "undefined nonterminal":
        grammar = tmp_path / "bad.bnf"
        assert f"{grammar}:2:13:" in errors[0]
        assert "undefined nonterminal <b>" in errors[0]
        # The source line, then a caret under the offending symbol.
        assert len(lines) == 3, result.stderr
        source, caret = lines[1], lines[2]
        assert source.strip() == '<a> ::= "x" <b>'
        assert caret.strip() == "^"
        assert caret.index("^") == source.index("<b>")
    else:
        assert len(lines) == 1, result.stderr
        assert "^" not in result.stderr
    if case == "unknown level":
        assert "9.9" in errors[0] and "3.1" in errors[0]  # names the value and the known levels
    if case == "unknown grammar":
        assert "no_such_grammar" in errors[0] and "tinypy" in errors[0]
    if case == "output is a directory":
        assert "directory" in errors[0]
        assert tree(out / "d") == []
    if case == "missing directory":
        assert "does not exist" in errors[0]
        assert not (out / "missing").exists()


def test_negative_count_is_a_usage_error(tmp_path):
    result = invoke("generate", "-n", -1, "-o", tmp_path / "x.txt")
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    assert re.search(r"Error: Invalid value for '-n'.*-1", result.stderr), result.stderr
    assert tree(tmp_path) == []


# --------------------------------------------------------------------------------------------------
# Help and version


def test_group_help_lists_the_commands_and_options():
    for flag in ("--help", "-h"):
        result = invoke(flag)
        assert result.exit_code == 0, result.output
        assert "Usage:" in result.stdout
        assert "generate" in result.stdout
        assert "--version" in result.stdout


def test_generate_help_mentions_every_option():
    result = invoke("generate", "--help")
    assert result.exit_code == 0, result.output
    for option in ("-n", "--grammar", "--level", "--seed", "-o, --output", "--format", "text",
                   "jsonl", "--workers", "--quiet"):
        assert option in result.stdout, option


def test_version_prints_a_version():
    result = invoke("--version")
    assert result.exit_code == 0, result.output
    assert re.fullmatch(r"tinyfuzz, version \d+\.\d+\S*\n", result.stdout), result.stdout


# --------------------------------------------------------------------------------------------------
# A real process, from a directory other than the checkout


def run_module(*args, cwd):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    return subprocess.run([sys.executable, "-m", "tinyfuzz", *map(str, args)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


def test_python_dash_m_tinyfuzz_works_from_any_directory(tmp_path):
    run = run_module("generate", "-n", N, "--seed", 5, "--workers", WORKERS, "--format", "jsonl",
                     "-o", "out.jsonl", "--quiet", cwd=tmp_path)  # relative to the cwd
    assert run.returncode == 0, run.stderr
    assert run.stderr == ""
    assert run.stdout == ""
    records = read_jsonl(tmp_path / "out.jsonl")
    assert len(records) == N
    for record in records:
        check_record(record)
    assert tree(tmp_path) == ["out.jsonl"]
    # The same bytes as in-process generation with the same seed.
    again = tmp_path / "again" / "out.jsonl"
    again.parent.mkdir()
    assert generate(again, "--format", "jsonl", "--quiet", seed=5).exit_code == 0
    assert again.read_bytes() == (tmp_path / "out.jsonl").read_bytes()

    version = run_module("--version", cwd=tmp_path)
    assert version.returncode == 0, version.stderr
    assert re.fullmatch(r"tinyfuzz, version \d+\.\d+\S*\n", version.stdout)


def test_a_real_process_reports_a_grammar_error_without_a_traceback(tmp_path):
    (tmp_path / "bad.bnf").write_text(BAD_GRAMMAR, encoding="utf-8")
    run = run_module("generate", "-n", 5, "--grammar", "bad.bnf", "-o", "x.txt", cwd=tmp_path)
    assert run.returncode == 2
    assert "Traceback" not in run.stderr
    assert run.stderr.splitlines()[0].startswith("tinyfuzz: error: bad.bnf:2:13: undefined nonterminal")
    assert run.stderr.splitlines()[-1].strip() == "^"
    assert tree(tmp_path) == ["bad.bnf"]


def test_output_dash_writes_the_dataset_to_stdout_and_nothing_else(tmp_path):
    run = run_module("generate", "-n", 20, "--seed", 3, "--workers", WORKERS, "-o", "-",
                     cwd=tmp_path)  # not --quiet: the summary goes to stderr
    assert run.returncode == 0, run.stderr
    assert generate(tmp_path / "file.txt", "--quiet", n=20, seed=3).exit_code == 0
    assert run.stdout == (tmp_path / "file.txt").read_text(encoding="utf-8")
    assert "wrote 20 programs to standard output" in run.stderr
    assert tree(tmp_path) == ["file.txt"]  # no file named '-', no .partial leftovers


def test_a_grammar_that_makes_fewer_programs_than_asked_fails_fast(tmp_path):
    """Its draws soon give nothing new: one message, exit code 2, not a spin at 100% CPU (a real
    process, whose timeout fails the test if it hangs)."""
    for name, programs, fix in [("clean", '"print(1)" | "print(2)"', "ask for at most 2, or use"),
                                ("raise", '"x" | "y"', "(0 ran cleanly), then 10,000 duplicates")]:
        (tmp_path / f"{name}.bnf").write_text(f"@start <a>\n<a> ::= {programs}\n", encoding="utf-8")
        run = run_module("generate", "-n", 5, "--grammar", f"{name}.bnf", "--workers", 1,
                         "-o", "x.txt", cwd=tmp_path)
        assert run.returncode == 2, run.stderr
        assert run.stderr.startswith("tinyfuzz: error:") and len(run.stderr.splitlines()) == 1
        assert f"n=5: grammar {name!r} made only 2 distinct programs" in run.stderr
        assert fix in run.stderr
        assert not (tmp_path / "x.txt").exists()
    # Asking for as many as it makes gives them all (the last batch short).
    run = run_module("generate", "-n", 2, "--grammar", "clean.bnf", "--workers", 1, "--quiet",
                     "-o", "-", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert sorted(run.stdout.split("\n\n")) == ["", "print(1)\n# output\n# 1",
                                                 "print(2)\n# output\n# 2"]


def test_run_shows_outcomes_side_by_side_and_exits_1_on_a_bug(tmp_path):
    import stat

    same = tmp_path / "same.py"
    same.write_text("print(6 * 7)\n")
    compiler = tmp_path / "offbyone"
    compiler.write_text(f"#!{sys.executable}\nimport sys\nprint(int(open(sys.argv[1]).read()[6:11].replace(' * ', '*').split('*')[0]) * 7 + 1)\n")
    compiler.chmod(compiler.stat().st_mode | stat.S_IEXEC)
    toy = tmp_path / "toy.toml"
    toy.write_text(f'name = "offbyone"\nkind = "command"\ncommand = ["{compiler}", "{{file}}"]\n')
    agreeing = CliRunner().invoke(main, ["run", "--target", "cpython", str(same)])
    assert agreeing.exit_code == 0, agreeing.output
    assert "cpython (reference)" in agreeing.output and "42" in agreeing.output
    differing = CliRunner().invoke(main, ["run", "--target", str(toy), str(same)])
    assert differing.exit_code == 1, differing.output
    assert "43" in differing.output and "offbyone: output differs (signature" in differing.output
    unknown = CliRunner().invoke(main, ["run", "--target", "nope", str(same)])
    assert unknown.exit_code == 2 and "unknown target 'nope'" in unknown.output


def test_shrink_reduces_a_program_for_a_target(tmp_path, monkeypatch):
    toyc = Path(__file__).resolve().parent.parent / "examples" / "toyc" / "toyc.toml"
    monkeypatch.setenv("TOYC_FIX_NOT", "1")
    monkeypatch.setenv("TOYC_FIX_RANGE", "1")  # only the division bug is live
    program = tmp_path / "p.py"
    program.write_text("a = 4\nb = 2\nc = a + b\nprint(c)\nd = a / b\nprint(d)\nprint(a - b)\n")
    out = tmp_path / "min.py"
    result = CliRunner().invoke(main, ["shrink", "--target", str(toyc), "-o", str(out), str(program)])
    assert result.exit_code == 0, result.output
    assert "output (signature" in result.output and "test runs" in result.output
    reduced = out.read_text()
    assert "/" in reduced and len(reduced.strip().splitlines()) <= 2, reduced
    agreeing = tmp_path / "fine.py"
    agreeing.write_text("print(1)\n")
    refused = CliRunner().invoke(main, ["shrink", "--target", str(toyc), str(agreeing)])
    assert refused.exit_code == 2 and "nothing to shrink" in refused.output


@pytest.mark.parametrize("args", [["cover", "tinypy"], ["shrink", "--target", "cpython", __file__]])
def test_an_output_that_cannot_be_written_is_refused_before_the_work(tmp_path, args):
    """Refused at once, one line, exit 2: not an OSError after the work, with its result lost."""
    result = CliRunner().invoke(main, args + ["-o", str(tmp_path / "missing" / "out.txt")])
    assert result.exit_code == 2 and "does not exist" in result.output
    assert result.output.count("\n") == 1


def test_files_that_are_not_utf8_are_one_line_errors(tmp_path):
    latin = tmp_path / "latin.py"
    latin.write_bytes(b"print(1)\nprint('caf\xe9')\n")
    grammar = tmp_path / "latin.bnf"
    grammar.write_bytes(b"<start> ::= 'caf\xe9'\n")
    for args in (["run", "--target", "cpython", str(latin)], ["generate", "--grammar", str(grammar), "-n", "1", "-o", str(tmp_path / "d.jsonl")]):
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 2, result.output
        assert "not UTF-8 text (byte" in result.output and result.output.count("\n") == 1, result.output
    assert f"{latin}:2: not UTF-8" in CliRunner().invoke(main, ["run", "--target", "cpython", str(latin)]).output
