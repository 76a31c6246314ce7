"""Serve tinyfuzz's warm-worker protocol from an interpreter or compiler written in Python.

A ``command`` target starts a process per program (about 30 ms each for a small interpreter in
Python); an interpreter that serves the worker protocol starts once and runs every program of a
campaign in the same process, with the same time, memory and output limits, the same isolation
between programs and the same hard deadline from outside as CPython's own worker. Three lines in
the interpreter::

    if sys.argv[1:] == ["--tinyfuzz-worker"]:
        from tinyfuzz.adapter import serve
        serve(run)  # run(source): interpret one program, printing to sys.stdout

and its target file::

    kind = "worker"
    command = ["{python}", "{target_dir}/toyc.py", "--tinyfuzz-worker"]

``run`` prints the program's output to ``sys.stdout`` (read it at call time: each program gets a
fresh capture) and raises for an error. A Python exception is reported by its type's name; an
interpreter's own error class stands for a Python exception with ``Raised("ZeroDivisionError",
"division by zero")`` (or any exception with a ``python_type`` attribute). ``examples/toyc/toyc.py``
is a complete example.
"""

from __future__ import annotations

from typing import Callable

from tinyfuzz.execution._runner import Raised, main

__all__ = ["Raised", "serve"]


def serve(run: Callable[[str], object]) -> None:
    """Answer the harness's requests on stdin/stdout until it closes them, running each program
    with ``run(source)``."""
    main(lambda source, namespace: run(source))
