"""The warm worker: runs generated programs in a Python process that is not the harness.

Standalone on purpose (standard library only, no tinyfuzz imports) so any Python can run it as a
script: ``python -s _runner.py``. The protocol, which any worker speaks (``_node_runner.mjs`` for
MicroPython and Pyodide, or a toy compiler's own persistent worker): one JSON object per line.

Request (stdin):   {"programs": [source, ...], "timeout": seconds, "output_limit": chars}
Response (stdout): {"results": [[status, stdout, exc_type, exc_message, seconds], ...]}

``status`` is ``ok``, ``exception``, ``oom`` (MemoryError), ``timeout`` or ``output-limit``. Each
program runs as a module ``__main__`` in a fresh namespace, its stdout captured. The per-program time limit here is soft (a
periodic timer checks the running program's deadline); the harness kills the whole process if even
that does not return (a long computation inside one C call).
"""

import builtins
import io
import json
import os
import signal
import sys
import time


class Raised(Exception):
    """Raised by an interpreter served through ``tinyfuzz.adapter``: the program ended with a Python
    exception of type ``python_type`` (the interpreter's own error standing for it)."""

    def __init__(self, python_type, message=""):
        super().__init__(message)
        self.python_type = python_type


def _exec(source, namespace):
    exec(compile(source, "<program>", "exec"), namespace)  # (looked up at call time: mutants patch them)


_execute = _exec  # how a program is run: CPython's exec, or an interpreter's own (main(execute))


class _Timeout(BaseException):
    """Raised by the interval timer; a BaseException so ``except Exception`` in a program can't eat it."""


# One periodic timer per batch instead of two setitimer calls per program (they cost ~5% of a short
# program's run): each tick checks the running program's deadline and stops it once it has passed.
_deadline = float("inf")
_PID = os.getpid()


def _on_tick(signum, frame):
    global _deadline
    if time.perf_counter() > _deadline:
        _deadline = float("inf")
        raise _Timeout()


# What a program may change that outlives it in a warm worker, as the worker started: the builtins,
# and every module already loaded (name -> (module, its attributes)). After each program the
# builtins and the modules it imported are put back and the modules it loaded are dropped, so the
# next program sees a fresh interpreter (``builtins.print = None``, ``math.pi = 3`` do not leak).
_BUILTINS = {}
_MODULES = {}


def _snapshot():
    _BUILTINS.update(builtins.__dict__)
    for name, module in list(sys.modules.items()):
        attributes = getattr(module, "__dict__", None)
        if attributes is not None:
            _MODULES[name] = (module, dict(attributes))


def _recording_import(imported):
    real_import = builtins.__import__

    def recording(name, globals=None, locals=None, fromlist=(), level=0):
        imported.add(name)
        imported.update(f"{name}.{item}" for item in fromlist or ())
        return real_import(name, globals, locals, fromlist, level)
    return recording


def _restore(imported):
    table = builtins.__dict__  # (attribute access: between clear and update there are no builtins)
    if table != _BUILTINS:
        table.clear()
        table.update(_BUILTINS)
    if len(sys.modules) != len(_MODULES):
        for name in [name for name in sys.modules if name not in _MODULES]:
            del sys.modules[name]
    for name in imported:
        module, attributes = _MODULES.get(name, (None, None))
        if module is not None and module.__dict__ != attributes:
            module.__dict__.clear()
            module.__dict__.update(attributes)


def run_program(source, timeout, output_limit=1 << 20):
    """Run one program; return [status, stdout, exception type, exception message, seconds].

    The output cap is checked after the run (a Python-level write hook would cost more than the
    program); a program that prints without end is stopped by the time or memory limit first.
    """
    global _deadline
    out = io.StringIO()
    namespace = {"__name__": "__main__", "__builtins__": __builtins__}
    real_stdout = sys.stdout
    start = time.perf_counter()
    status, exc_type, exc_message = "ok", "", ""
    imported = set()
    sys.stdout = out
    if _MODULES:
        builtins.__import__ = _recording_import(imported)
    if timeout:
        _deadline = start + timeout
    try:
        _execute(source, namespace)
    except _Timeout:
        status = "timeout"
    except MemoryError as exc:
        status, exc_type, exc_message = "oom", "MemoryError", str(exc)
    except SystemExit as exc:  # sys.exit(0) or sys.exit(): the program ended normally, as python3 sees it
        if exc.code not in (None, 0):
            status, exc_type, exc_message = "exception", "SystemExit", str(exc)
    except BaseException as exc:  # the program's own exception is its outcome, whatever it is
        status, exc_message = "exception", str(exc)
        exc_type = getattr(exc, "python_type", None) or type(exc).__name__
    finally:
        if os.getpid() != _PID:  # a child the program forked: it must not go on as a worker
            os._exit(0)
        _deadline = float("inf")
        sys.stdout = real_stdout
        if _MODULES:
            _restore(imported)
    seconds = time.perf_counter() - start
    text = out.getvalue()
    if len(text) > output_limit:
        return ["output-limit", text[:output_limit], "", "", seconds]
    return [status, text, exc_type, exc_message, seconds]


def _read_message(stream):
    line = stream.readline()
    return json.loads(line) if line.strip() else None


def _write_message(stream, message):
    stream.write(json.dumps(message).encode() + b"\n")  # ASCII-escaped: no newline inside
    stream.flush()


def run_batch(programs, timeout, output_limit):
    if timeout:
        tick = min(timeout / 4, 0.05)
        signal.setitimer(signal.ITIMER_REAL, tick, tick)
    try:
        return [run_program(source, timeout, output_limit) for source in programs]
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)


def main(execute=None):
    """Serve the protocol until stdin closes; ``execute(source, namespace)`` runs one program
    (default: CPython's own ``exec``; ``tinyfuzz.adapter.serve`` passes an interpreter's)."""
    global _execute
    if execute is not None:
        _execute = execute
    if sys.path and sys.path[0] == __file__.rpartition("/")[0]:
        del sys.path[0]  # programs must not import tinyfuzz's modules as top-level names
    # The protocol gets file descriptors of its own, and 0 and 1 become /dev/null: a program that
    # writes to sys.__stdout__ or fd 1, or reads fd 0, cannot corrupt or forge the protocol.
    stdin, stdout = os.fdopen(os.dup(0), "rb"), os.fdopen(os.dup(1), "wb")
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(devnull, 1)
    os.close(devnull)
    sys.stdin = io.StringIO()  # programs never read the protocol stream
    signal.signal(signal.SIGALRM, _on_tick)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children a program forks are reaped at exit
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 2000))
    _snapshot()
    while True:
        request = _read_message(stdin)
        if request is None:
            return
        results = run_batch(request["programs"], request.get("timeout", 0),
                            request.get("output_limit", 1 << 20))
        _write_message(stdout, {"results": results})


if __name__ == "__main__":
    main()
