"""Targets: the Python implementations under test, each described by a TOML file in ``targets/``.

A target file says how to start the implementation, how programs reach it, its Python version, its
limits and its documented differences (see ``targets/README.md`` for every key). Two kinds:

``worker``   a persistent process speaking the JSON-lines protocol of ``tinyfuzz/execution/_runner.py``
             (CPython and PyPy run ``_runner.py`` itself; MicroPython and Pyodide run under node
             with ``_node_runner.mjs``; a toy compiler can implement the protocol in a few lines).
``command``  one process per program: the command line gets the program's file as ``{file}``; the
             outcome is read from its exit code, stdout and a Python-style traceback on stderr.
"""

from __future__ import annotations

import functools
import os
import re
import select
import shutil
import string
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Sequence

from tinyfuzz._internal.data import data_dir
from tinyfuzz.errors import TargetError
from tinyfuzz.execution.worker import RUNNER, Limits, Outcome, WorkerPool, memory_limiter, reap

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

NODE_RUNNER = str(Path(__file__).with_name("_node_runner.mjs"))
KINDS = ("worker", "command")
DIFFERENCE_KINDS = ("output", "exception-type", "exception-message", "crash", "hang")


@dataclass(frozen=True)
class KnownDifference:
    """A documented difference: it explains a difference of ``kind`` when its conditions hold."""

    id: str
    description: str
    kind: str
    exc_types: tuple = ()  # only when the reference raised one of these
    normalize: tuple = ()  # names of normalizers that make both sides equal


@dataclass(frozen=True)
class Target:
    name: str
    kind: str
    command: tuple
    python_version: tuple | None
    limits: Limits
    description: str = ""
    install: str = ""
    normalize: tuple = ()  # normalizers applied to this target's and the reference's outcomes
    known: tuple = ()  # KnownDifference, in order
    env: dict = field(default_factory=dict)
    path: str = ""

    def argv(self, file: str = "program.py") -> list[str]:
        """The command line with its placeholders filled; raises TargetError if it cannot run
        (so ``target.argv()`` is also the check that a target is usable)."""
        values = {"python": sys.executable, "runner": RUNNER, "node_runner": NODE_RUNNER,
                  "target_dir": str(Path(self.path).resolve().parent)}
        if any("{npm_root}" in part for part in self.command):
            values["npm_root"] = npm_root()
        values["file"] = file
        argv = [part.format(**values) for part in self.command]
        if shutil.which(argv[0]) is None:
            raise TargetError(f"target {self.name}: {argv[0]} not found"
                              + (f": {self.install}" if self.install else ""))
        for part in argv[1:]:
            if part.endswith((".mjs", ".js")) and not Path(part).exists():
                raise TargetError(f"target {self.name}: {part} not found"
                                  + (f": {self.install}" if self.install else ""))
        return argv

    def pool(self, size: int = 1) -> "WorkerPool | CommandPool":
        if self.kind == "command":
            return CommandPool(self)
        return WorkerPool(size, argv=self.argv(), limits=self.limits, env=self.env or None)

    def run(self, programs: Sequence[str]) -> list[Outcome]:
        """Run programs on a fresh pool of one worker (for a handful; campaigns keep pools warm)."""
        with self.pool(1) as pool:
            return pool.run(programs)


@functools.lru_cache(maxsize=1)
def npm_root() -> str:
    """Where npm packages for node targets live: $TINYFUZZ_NODE_MODULES, else npm's global root."""
    configured = os.environ.get("TINYFUZZ_NODE_MODULES")
    if configured:
        return configured
    if shutil.which("npm") is None:
        raise TargetError("npm not found: install Node.js and npm (apt-get install nodejs npm)")
    result = subprocess.run(["npm", "root", "-g"], capture_output=True, text=True, timeout=60)
    return result.stdout.strip()


def bundled_target_names() -> list[str]:
    return sorted(p.stem for p in data_dir("targets").glob("*.toml"))


def load_target(name_or_path: str | Path) -> Target:
    """A bundled target by name (``pypy``) or a target file by path."""
    path = Path(name_or_path)
    if path.suffix != ".toml":
        path = data_dir("targets") / f"{name_or_path}.toml"
    if not path.is_file():
        raise TargetError(f"unknown target {str(name_or_path)!r}: use one of "
                          f"{', '.join(bundled_target_names())} or a path to a .toml file")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as error:
        raise TargetError(f"{path}: malformed TOML: {error}") from None
    except UnicodeDecodeError as error:
        raise TargetError(f"{path}: not UTF-8 text (byte {error.start}): save it as UTF-8") from None
    return _target_from(data, path)


PLACEHOLDERS = ("python", "runner", "node_runner", "target_dir", "npm_root", "file")
SAFE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.+-]*")  # a file name: crashes/<name>/ stays inside


def _strings(value) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def _string(value) -> bool:
    return isinstance(value, str)


# key: (what it must be, its check): an error names the key, the value and what it must be
_KEYS = {
    "name": ("a name of letters, digits, _ . + - (it names the folder crashes/<name>/)",
             lambda v: isinstance(v, str) and SAFE_NAME.fullmatch(v) is not None),
    "kind": ("a string", _string),
    "command": ("a list of strings", _strings),
    "python_version": ("a string like \"3.9\"", lambda v: isinstance(v, (str, int, float))
                       and not isinstance(v, bool)),
    "limits": ("a table ([limits])", lambda v: isinstance(v, dict)),
    "known": ("an array of tables ([[known]])",
              lambda v: isinstance(v, list) and all(isinstance(x, dict) for x in v)),
    "normalize": ("a list of strings", _strings),
    "env": ("a table of strings ([env])", lambda v: isinstance(v, dict)
            and all(isinstance(x, str) for x in v.values())),
    "description": ("a string", _string),
    "install": ("a string", _string),
}
_KNOWN_KEYS = {
    "id": ("a string", lambda v: isinstance(v, str) and v != ""),
    "kind": ("a string", _string),
    "description": ("a string", _string),
    "exc_types": ("a list of strings", _strings),
    "normalize": ("a list of strings", _strings),
}
_LIMITS = tuple(field.name for field in fields(Limits))
_ZERO_ALLOWED = ("memory_mb", "batch_slack")  # 0: no memory limit; no slack


def _check_table(table: dict, rules: dict, where: str) -> None:
    """Every key known and of its type, or a TargetError naming the key, the value and the fix."""
    for key, value in table.items():
        if key not in rules:
            raise TargetError(f"{where}: unknown key {key!r}: use {', '.join(rules)} (see "
                              "targets/README.md)")
        what, ok = rules[key]
        if not ok(value):
            raise TargetError(f"{where}: {key} = {value!r}: must be {what}")


def _target_from(data: dict, path: Path) -> Target:
    _check_table(data, _KEYS, str(path))
    if "command" not in data:
        raise TargetError(f"{path}: missing key 'command': see targets/README.md")
    kind = data.get("kind", "worker")
    if kind not in KINDS:
        raise TargetError(f"{path}: kind = {kind!r}: use one of {', '.join(KINDS)}")
    command = data["command"]
    if not command:
        raise TargetError(f"{path}: 'command' must be a non-empty list of strings")
    for part in command:
        for _, field_name, _, _ in string.Formatter().parse(part):
            if field_name is not None and field_name not in PLACEHOLDERS:
                raise TargetError(f"{path}: command {part!r}: unknown placeholder {{{field_name}}}: "
                                  f"use {', '.join('{' + p + '}' for p in PLACEHOLDERS)}")
    if kind == "command" and not any("{file}" in part for part in command):
        raise TargetError(f"{path}: a command target needs {{file}} in 'command'")
    version = data.get("python_version")
    if version == "harness":  # the interpreter running tinyfuzz
        version = ".".join(map(str, sys.version_info[:2]))
    if version is not None:
        try:
            version = tuple(int(x) for x in str(version).split("."))[:2]
        except ValueError:
            raise TargetError(f"{path}: python_version = {version!r}: write it like \"3.9\"") from None
    limits = data.get("limits", {})
    unknown = set(limits) - set(_LIMITS)
    if unknown:
        raise TargetError(f"{path}: unknown [limits] keys {sorted(unknown)}: use {', '.join(_LIMITS)}")
    for key, value in limits.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0 \
                or (value == 0 and key not in _ZERO_ALLOWED):
            least = "0 or more" if key in _ZERO_ALLOWED else "more than 0"
            raise TargetError(f"{path}: [limits] {key} = {value!r}: must be a number, {least}")
    known = []
    for entry in data.get("known", []):
        _check_table(entry, _KNOWN_KEYS, f"{path}: [[known]] {entry.get('id', '(no id)')!r}")
        if "id" not in entry:
            raise TargetError(f"{path}: a [[known]] entry has no id: give each one id = \"...\"")
        if entry.get("kind") not in DIFFERENCE_KINDS:
            raise TargetError(f"{path}: [[known]] {entry.get('id')!r}: kind must be one of "
                              f"{', '.join(DIFFERENCE_KINDS)}")
        for name in entry.get("normalize", []):
            _check_normalizer(name, path)
        known.append(KnownDifference(entry["id"], entry.get("description", ""), entry["kind"],
                                     tuple(entry.get("exc_types", ())),
                                     tuple(entry.get("normalize", ()))))
    for name in data.get("normalize", []):
        _check_normalizer(name, path)
    return Target(name=data.get("name", path.stem), kind=kind, command=tuple(command),
                  python_version=version,
                  limits=Limits(**limits), description=data.get("description", ""),
                  install=data.get("install", ""), normalize=tuple(data.get("normalize", ())),
                  known=tuple(known), env=dict(data.get("env", {})), path=str(path))


def _check_normalizer(name: str, path: Path) -> None:
    from tinyfuzz.execution.oracle import NORMALIZERS

    if name not in NORMALIZERS:
        raise TargetError(f"{path}: unknown normalizer {name!r}: use one of "
                          f"{', '.join(sorted(NORMALIZERS))}")


class CommandPool:
    """Runs each program as its own process (``command`` targets): no warm worker to reuse."""

    _FILE = "\0file\0"  # stands for the program's path in the command, resolved once

    def __init__(self, target: Target):
        self.target = target
        self.size = 1
        self.argv = target.argv(self._FILE)  # fails now if the command is missing

    def run_one(self, source: str) -> Outcome:
        limits = self.target.limits
        # Output goes to files whose size is capped (RLIMIT_FSIZE): a flood of output stops the
        # process at the cap instead of filling the harness's memory.
        cap = 4 * limits.output_limit + 4096  # bytes: a character is at most 4
        limit_memory = memory_limiter(limits.memory_mb)

        def limit_process() -> None:
            import resource

            if limit_memory is not None:
                limit_memory()
            resource.setrlimit(resource.RLIMIT_FSIZE, (cap, cap))

        with tempfile.TemporaryDirectory(prefix="tinyfuzz-") as folder:
            file = os.path.join(folder, "program.py")
            with open(file, "w", encoding="utf-8") as handle:
                handle.write(source)
            start = time.perf_counter()
            with open(os.path.join(folder, "stdout"), "w+b") as out, \
                    open(os.path.join(folder, "stderr"), "w+b") as err:
                # The end of the process tree is the end of a pipe every process of it holds:
                # select() wakes at once (Popen.wait with a timeout polls, 30 ms a program).
                ended, held = os.pipe()
                try:
                    proc = subprocess.Popen([part.replace(self._FILE, file) for part in self.argv],
                                            stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                                            start_new_session=True, cwd=folder, pass_fds=(held,),
                                            preexec_fn=limit_process,
                                            env={**os.environ, **self.target.env})
                finally:
                    os.close(held)
                try:
                    finished, _, _ = select.select([ended], [], [], limits.timeout + limits.batch_slack)
                finally:
                    os.close(ended)
                if not finished:
                    reap(proc.pid)
                    return Outcome("timeout", seconds=time.perf_counter() - start)
                proc.wait()
                seconds = time.perf_counter() - start
                out.seek(0)
                err.seek(0)
                raw = out.read(cap)
                stdout = raw.decode("utf-8", "replace")
                stderr = err.read(cap).decode("utf-8", "replace")
        if len(raw) >= cap or len(stdout) > limits.output_limit:
            return Outcome("output-limit", stdout[:limits.output_limit], seconds=seconds)
        return outcome_from_process(proc.returncode, stdout, stderr, seconds)

    def map(self, batches):
        for batch in batches:
            yield self.run(batch)

    def run(self, programs: Sequence[str]) -> list[Outcome]:
        return [self.run_one(source) for source in programs]

    def close(self) -> None:
        pass

    def __enter__(self) -> "CommandPool":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def outcome_from_process(returncode: int, stdout: str, stderr: str, seconds: float) -> Outcome:
    """Read an outcome from a finished process: a traceback's last line names the exception."""
    if returncode == 0:
        return Outcome("ok", stdout, seconds=seconds)
    lines = [line for line in stderr.splitlines() if line.strip()]
    if returncode > 0 and lines and any(line.startswith("Traceback") for line in lines):
        exc_type, _, message = lines[-1].partition(":")
        if exc_type.replace(".", "").replace("_", "").isalnum():
            return Outcome("exception", stdout, exc_type.rsplit(".", 1)[-1], message.strip(),
                           seconds)
    signal = f"signal {-returncode}" if returncode < 0 else f"exit code {returncode}"
    return Outcome("crash", stdout, exc_message=signal, seconds=seconds)
