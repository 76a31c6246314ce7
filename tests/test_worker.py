"""Warm workers: outcomes, limits, and a harness that survives whatever a program does."""

import os

import psutil
import pytest

from tinyfuzz.execution.worker import Limits, Worker, WorkerPool


@pytest.fixture
def worker():
    w = Worker(limits=Limits(timeout=0.5, memory_mb=512, batch_slack=2.0))
    yield w
    w.close()


def test_outcomes_of_ordinary_programs(worker):
    ok, raised, syntax = worker.run(["print(1)\nprint('a', 2)", "x = 1\nraise KeyError('k')",
                                     "print(("])
    assert (ok.status, ok.stdout) == ("ok", "1\na 2\n")
    assert (raised.status, raised.exc_type, raised.exc_message) == ("exception", "KeyError", "'k'")
    assert (syntax.status, syntax.exc_type) == ("exception", "SyntaxError")


def test_each_program_gets_a_fresh_namespace(worker):
    first, second = worker.run(["x = 5\nprint(x)", "print(x)"])
    assert first.stdout == "5\n"
    assert second.exc_type == "NameError"


def test_soft_timeout_stops_a_loop_and_the_batch_goes_on(worker):
    before, looping, after = worker.run(["print(1)", "while True:\n    pass", "print(2)"])
    assert before.stdout == "1\n" and after.stdout == "2\n"
    assert looping.status == "timeout"
    assert 0.4 < looping.seconds < 2.0


def test_except_exception_cannot_swallow_the_timeout(worker):
    (outcome,) = worker.run(["while True:\n    try:\n        pass\n    except Exception:\n        pass"])
    assert outcome.status == "timeout"


@pytest.mark.slow
def test_hard_deadline_kills_a_hang_inside_one_c_call_and_names_the_program(worker):
    first_pid = worker.proc.pid
    programs = ["print(1)", "sum(range(10**13))", "print(3)"]  # C-level loop: no signal check
    outcomes = worker.run(programs)
    assert [o.status for o in outcomes] == ["ok", "timeout", "ok"]
    assert not psutil.pid_exists(first_pid) or psutil.Process(first_pid).status() == "zombie"
    assert worker.run(["print(4)"])[0].stdout == "4\n"  # replaced, warm again


def test_a_crashing_worker_is_replaced_and_the_culprit_named(worker):
    outcomes = worker.run(["print(1)", "import os\nos._exit(3)", "print(2)"])
    assert [o.status for o in outcomes] == ["ok", "crash", "ok"]
    assert "code 3" in outcomes[1].exc_message


def test_memory_limit_turns_a_huge_allocation_into_memory_error(worker):
    (outcome,) = worker.run(["x = bytearray(2 ** 31)"])
    assert (outcome.status, outcome.exc_type) == ("oom", "MemoryError")


def test_output_limit():
    w = Worker(limits=Limits(output_limit=100))
    try:
        (outcome,) = w.run(["for i in range(1000):\n    print(i)"])
        assert outcome.status == "output-limit" and len(outcome.stdout) == 100
    finally:
        w.close()


def test_pool_keeps_order_and_leaves_no_process_behind():
    me = psutil.Process(os.getpid())
    before = {p.pid for p in me.children(recursive=True)}
    batches = [[f"print({i} * {j})" for j in range(50)] for i in range(20)]
    with WorkerPool(3) as pool:
        results = list(pool.map(iter(batches)))
        assert len({p.pid for p in me.children(recursive=True)} - before) == 3
    assert [[o.stdout for o in r] for r in results] == [[f"{i * j}\n" for j in range(50)]
                                                         for i in range(20)]
    assert {p.pid for p in me.children(recursive=True)} - before == set()


def test_abandoning_a_map_midway_leaves_workers_usable():
    with WorkerPool(2) as pool:
        results = pool.map(iter([["print(1)"]] * 10))
        next(results)
        results.close()
        assert [o.stdout for o in next(pool.map(iter([["print(7)"]])))] == ["7\n"]


def test_environment_reaches_the_worker():
    programs = ["print(hash('tinyfuzz'))"]
    hashes = []
    for seed in ("0", "0", "1"):
        w = Worker(env={"PYTHONHASHSEED": seed})
        try:
            hashes.append(w.run(programs)[0].stdout)
        finally:
            w.close()
    assert hashes[0] == hashes[1] != hashes[2]


def test_programs_cannot_import_the_harness_modules(worker):
    (outcome,) = worker.run(["import worker"])
    assert outcome.exc_type == "ModuleNotFoundError"


def test_programs_cannot_write_or_read_the_protocol_channel(worker):
    """A program that writes a forged response to sys.__stdout__ or fd 1, or reads fd 0, reaches
    /dev/null: the protocol has file descriptors of its own."""
    forged, after = worker.run([
        "import os, sys\nsys.__stdout__.write('{\"results\": []}\\n'); sys.__stdout__.flush()\n"
        "os.write(1, b'garbage\\n')\nprint(repr(os.read(0, 10)))",
        "print('fine')"])
    assert (forged.status, forged.stdout) == ("ok", "b''\n")
    assert (after.status, after.stdout) == ("ok", "fine\n")
    (again,) = worker.run(["print(2)"])  # the next batch too
    assert again.stdout == "2\n"


def test_sys_exit_zero_ends_a_program_normally(worker):
    """As ``python3 prog.py`` sees it: sys.exit(0) and sys.exit() are a normal end, not an exception."""
    zero, bare, three = worker.run(["import sys\nprint(1)\nsys.exit(0)\nprint(2)",
                                    "import sys\nsys.exit()", "import sys\nsys.exit(3)"])
    assert (zero.status, zero.stdout) == ("ok", "1\n") and bare.status == "ok"
    assert (three.status, three.exc_type, three.exc_message) == ("exception", "SystemExit", "3")


def test_a_program_cannot_change_what_the_next_one_sees(worker):
    """Builtins and modules a program changes are put back, modules it loaded dropped: in a warm
    worker the next program sees a fresh interpreter (each of these was a false difference)."""
    outcomes = worker.run([
        "import builtins\nbuiltins.print = None\nbuiltins.len = lambda x: 7",
        "print(len('ab'))",
        "import math\nmath.pi = 3\nimport os.path\nos.path.sep = '!'\nfrom json import decoder\n"
        "decoder.x = 1\nimport fractions\nfractions.Fraction = int",
        "import math, os, fractions, json\nprint(math.pi, os.path.sep, hasattr(json.decoder, 'x'), "
        "fractions.Fraction(1, 2))"])
    assert outcomes[1].stdout == "2\n"
    assert outcomes[3].stdout == "3.141592653589793 / False 1/2\n", outcomes[3]
