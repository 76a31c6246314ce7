"""Target files, and the bundled targets against real interpreters (marked; CI installs them)."""

import os
import stat
import sys

import psutil
import pytest
from conftest import require_target

from tinyfuzz.errors import TargetError
from tinyfuzz.execution.oracle import compare
from tinyfuzz.execution.targets import bundled_target_names, load_target


def test_bundled_targets_load():
    assert {"cpython", "pypy", "micropython", "pyodide"} <= set(bundled_target_names())
    assert load_target("pypy").python_version == (3, 9)
    assert load_target("cpython").python_version == sys.version_info[:2]


@pytest.mark.parametrize("text, message", [
    ('kind = "worker"\n', "missing key 'command'"),
    ('command = "python"\n', "command = 'python': must be a list of strings"),
    ('command = ["x"]\n[limits]\ntimeout = "abc"\n', "timeout = 'abc': must be a number"),
    ('command = ["x"]\n[limits]\ntimeout = -1\n', "timeout = -1: must be a number, more than 0"),
    ('command = ["x"]\nlimits = 5\n', "limits = 5: must be a table"),
    ('command = ["x"]\nknown = "x"\n', "known = 'x': must be an array of tables"),
    ('command = ["x"]\n[[known]]\nkind = "output"\n', "has no id"),
    ('command = ["x"]\n[[known]]\nid = "a"\nkind = "output"\nexc_types = "KeyError"\n',
     "exc_types = 'KeyError': must be a list of strings"),
    ('command = ["x"]\nenv = 5\n', "env = 5: must be a table of strings"),
    ('command = ["x"]\nname = 5\n', "name = 5: must be a name"),
    ('command = ["x"]\nname = "../../x"\n', "name = '../../x': must be a name"),
    ('command = ["x", "{prog}"]\n', "unknown placeholder {prog}"),
    ('command = ["x"]\ntimeout = 3\n', "unknown key 'timeout'"),
    ('command = ["x"]\nkind = "daemon"\n', "kind = 'daemon'"),
    ('command = ["x"]\nkind = "command"\n', "needs {file}"),
    ('command = ["x"]\npython_version = "three"\n', "python_version"),
    ('command = ["x"]\n[limits]\ntimeout_s = 1\n', "unknown [limits] keys"),
    ('command = ["x"]\nnormalize = ["shout"]\n', "unknown normalizer 'shout'"),
    ('command = ["x"\n', "malformed TOML"),
])
def test_malformed_target_files(tmp_path, text, message):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(TargetError, match=r"bad\.toml") as error:
        load_target(path)
    assert message in str(error.value)


def test_a_target_file_that_is_not_utf8(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_bytes(b'command = ["x"]\ndescription = "caf\xe9"\n')
    with pytest.raises(TargetError, match=r"bad\.toml: not UTF-8 text"):
        load_target(path)


def test_unknown_target_lists_the_bundled_ones():
    with pytest.raises(TargetError, match="unknown target 'nope': use one of cpython, micropython"):
        load_target("nope")


def test_missing_interpreter_says_how_to_install(tmp_path):
    path = tmp_path / "ghost.toml"
    path.write_text('command = ["no-such-python-here", "{runner}"]\ninstall = "apt-get install ghost"\n')
    with pytest.raises(TargetError, match="no-such-python-here not found: apt-get install ghost"):
        load_target(path).run(["print(1)"])


@pytest.mark.slow
def test_command_target_runs_a_toy_compiler(tmp_path):
    # A "compiler" that upper-cases every print: a target with a real, checkable difference.
    compiler = tmp_path / "toyc"
    compiler.write_text(f"#!{sys.executable}\nimport sys\n"
                        "src = open(sys.argv[1]).read().replace('print(', 'print(str(').replace(')', ').upper())', 1)\n"
                        "exec(compile(src, sys.argv[1], 'exec'))\n")
    compiler.chmod(compiler.stat().st_mode | stat.S_IEXEC)
    path = tmp_path / "toy.toml"
    path.write_text(f'name = "toy"\nkind = "command"\ncommand = ["{compiler}", "{{file}}"]\n'
                    '[limits]\ntimeout = 5\n')
    toy = load_target(path)
    ok, raised, looping = toy.run(["print('abc')", "x = {}\nx['k']", "while True: pass"])
    assert (ok.status, ok.stdout) == ("ok", "ABC\n")
    assert (raised.status, raised.exc_type) == ("exception", "KeyError")
    assert looping.status == "timeout"
    reference = load_target("cpython").run(["print('abc')"])[0]
    assert compare(reference, ok, toy).kind == "output"


HOSTILE = {
    "infinite loop": "while True:\n    pass",
    "huge list": "x = [0] * 10**10",
    "deep recursion": "def f(n):\n    return f(n + 1)\nf(0)",
    "exit": "import os\nos._exit(3)",
    "segfault": "import ctypes\nctypes.memset(1, 0, 1)",
    "fork": "import os\nif os.fork() == 0:\n    while True:\n        pass\nprint('parent')",
    "100 MB of output": "print('x' * 10**8)",
    "fine after all that": "print(6 * 7)",
}
# What each target must make of each case (status, exception type).
EXPECTED = {
    "cpython": {"infinite loop": ("timeout", ""), "huge list": ("oom", "MemoryError"),
                "deep recursion": ("exception", "RecursionError"), "exit": ("crash", ""),
                "segfault": ("crash", ""), "fork": ("ok", ""),
                "100 MB of output": ("output-limit", ""), "fine after all that": ("ok", "")},
    "pypy": {"infinite loop": ("timeout", ""), "huge list": ("oom", "MemoryError"),
             "deep recursion": ("exception", "RecursionError"), "exit": ("crash", ""),
             "segfault": ("crash", ""), "fork": ("ok", ""),
             "100 MB of output": ("output-limit", ""), "fine after all that": ("ok", "")},
    "micropython": {"infinite loop": ("timeout", ""), "huge list": ("exception", "OverflowError"),
                    "deep recursion": ("exception", "RuntimeError"),
                    "exit": ("exception", "AttributeError"), "segfault": ("exception", "ImportError"),
                    "fork": ("exception", "AttributeError"),
                    "100 MB of output": ("timeout", ""),  # it writes ~3 MB/s: the deadline stops it
                    "fine after all that": ("ok", "")},
    "pyodide": {"infinite loop": ("timeout", ""), "huge list": ("exception", "OverflowError"),
                "deep recursion": ("exception", "RecursionError"),
                "exit": ("crash", ""),  # os._exit ends the engine: the node process exits
                "segfault": ("ok", ""),  # address 1 is ordinary WebAssembly memory
                "fork": ("exception", "OSError"), "100 MB of output": ("output-limit", ""),
                "fine after all that": ("ok", "")},
}


@pytest.mark.parametrize("name", [
    "cpython",
    pytest.param("pypy", marks=[pytest.mark.pypy, pytest.mark.slow]),
    pytest.param("micropython", marks=[pytest.mark.micropython, pytest.mark.slow]),
    pytest.param("pyodide", marks=[pytest.mark.pyodide, pytest.mark.slow]),
])
def test_hostile_programs_are_classified_and_leave_nothing_behind(name):
    target = require_target(name)
    me = psutil.Process(os.getpid())
    before = {p.pid for p in me.children(recursive=True)}
    outcomes = dict(zip(HOSTILE, target.run(list(HOSTILE.values()))))
    got = {case: (o.status, o.exc_type) for case, o in outcomes.items()}
    assert got == EXPECTED[name]
    assert outcomes["fine after all that"].stdout == "42\n"
    assert {p.pid for p in me.children(recursive=True)} - before == set()


@pytest.mark.pypy
def test_pypy_agrees_on_tinypy_programs_and_set_order_is_documented():
    pypy = require_target("pypy")
    from tinyfuzz.engine.sampler import Sampler

    sampler = Sampler("tinypy", seed=5)
    programs = [sampler.draw().source for _ in range(300)] + ["print({3, 1, 2})"]
    reference = load_target("cpython").run(programs)
    observed = pypy.run(programs)
    differences = [compare(r, o, pypy) for r, o in zip(reference, observed)]
    assert differences[:-1] == [None] * 300
    assert differences[-1].kind == "output" and differences[-1].known == "set-order"


@pytest.mark.micropython
def test_micropython_documented_message_difference():
    micropython = require_target("micropython")
    program = ["print(7 // 2)\n1 / 0"]
    (expected,) = load_target("cpython").run(program)
    (observed,) = micropython.run(program)
    difference = compare(expected, observed, micropython)
    assert observed.exc_message == "divide by zero"
    assert difference.kind == "exception-message" and difference.known == "exception-messages"


@pytest.mark.pyodide
def test_pyodide_runs_programs_in_fresh_namespaces():
    pyodide = require_target("pyodide")
    first, second, raised = pyodide.run(["x = 5\nprint(x)", "print(x)", "import sys\nprint(sys.version_info[0])\n1/0"])
    assert first.stdout == "5\n"
    assert second.exc_type == "NameError"
    assert (raised.stdout, raised.exc_type) == ("3\n", "ZeroDivisionError")


@pytest.mark.parametrize("name", [
    pytest.param("micropython", marks=pytest.mark.micropython),
    pytest.param("pyodide", marks=pytest.mark.pyodide),
])
def test_node_engines_print_non_ascii_text_whole(name):
    """An engine may hand over a character's UTF-8 bytes in separate writes: decoded as one stream,
    they are the character (decoding each write alone made every 'é' two replacement characters)."""
    engine = require_target(name)
    (outcome,) = engine.run(["print('café', 'Straße', '€', '😀')\nprint('ß' * 3, end='')"])
    assert outcome.stdout == "café Straße € 😀\nßßß"


@pytest.mark.parametrize("name", [
    pytest.param("micropython", marks=pytest.mark.micropython),
    pytest.param("pyodide", marks=pytest.mark.pyodide),
])
def test_node_engines_end_normally_on_sys_exit_zero(name):
    engine = require_target(name)
    zero, bare, three = engine.run(["import sys\nprint(1)\nsys.exit(0)", "import sys\nsys.exit()",
                                    "import sys\nsys.exit(3)"])
    assert (zero.status, zero.stdout, bare.status) == ("ok", "1\n", "ok")
    assert (three.status, three.exc_type) == ("exception", "SystemExit")


@pytest.mark.parametrize("name", [
    pytest.param("micropython", marks=pytest.mark.micropython),
    pytest.param("pyodide", marks=pytest.mark.pyodide),
    pytest.param("pypy", marks=pytest.mark.pypy),
])
def test_a_program_cannot_change_what_the_next_one_sees_on_real_implementations(name):
    engine = require_target(name)
    outcomes = engine.run(["import builtins\nbuiltins.print = None\nbuiltins.len = 5", "print(len('ab'))",
                           "import math\ntry:\n    math.pi = 3\nexcept Exception:\n    pass",
                           "import math\nprint(math.pi)"])
    assert outcomes[1].stdout == "2\n" and outcomes[3].stdout == "3.141592653589793\n"


def test_a_command_targets_output_flood_stops_at_the_cap(tmp_path):
    """Output goes to size-capped files: a target printing without end is an output-limit outcome
    at once, and the harness holds no more than the cap (it read the whole flood into memory)."""
    import psutil

    flood = tmp_path / "flood.toml"
    flood.write_text('name = "flood"\nkind = "command"\ncommand = ["{python}", "-c", '
                     '"import sys\\nwhile True: sys.stdout.write(\'x\' * 65536)", "{file}"]\n'
                     '[limits]\ntimeout = 30\n')
    before = psutil.Process().memory_info().rss
    (outcome,) = load_target(flood).run(["print(1)"])
    assert outcome.status == "output-limit" and len(outcome.stdout) == 1 << 20
    assert outcome.seconds < 10  # stopped at the cap, not at the timeout
    assert psutil.Process().memory_info().rss - before < 64 << 20
