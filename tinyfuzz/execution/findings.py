"""Findings and the crash store: ``crashes/<target>/<signature>.py``.

A finding file is the minimal program under a header of ``# key: value`` lines (target, kind,
signature, expected and observed outcomes, tinyfuzz version, the one command that reproduces it, and
``status``: ``open``, or ``expected`` for a difference a user marks as accepted). Files are written
atomically (a temporary file in the same folder, then ``os.replace``), and one signature keeps one
file: a smaller program replaces a larger one, never the reverse.
"""

from __future__ import annotations

import ast
import io
import tokenize
from dataclasses import dataclass, replace
from pathlib import Path

from tinyfuzz._internal.files import atomic_file
from tinyfuzz._internal.version import __version__
from tinyfuzz.execution.oracle import Difference
from tinyfuzz.execution.worker import Outcome

HEADER_END = "# ---"


@dataclass(frozen=True)
class Finding:
    """An undocumented difference: the program that shows it (the smallest of its bucket so far),
    both outcomes, and how many programs fell in its bucket."""

    target: str  # the target's name, as in crashes/<target>/
    target_spec: str  # what --target was given (a bundled name or a .toml path): to reproduce
    kind: str
    signature: str
    source: str
    expected: Outcome
    observed: Outcome
    reference: str = "cpython"
    hits: int = 1

    @classmethod
    def of(cls, difference: Difference, source: str, target_spec: str, reference: str) -> Finding:
        return cls(difference.target, target_spec, difference.kind, difference.signature, source,
                   difference.expected, difference.observed, reference)

    def merged_with(self, other: Finding | None) -> Finding:
        """One bucket's record of both: hits added, the smaller program kept."""
        return _merge(self, other)


@dataclass(frozen=True)
class DocumentedDifference:
    """A difference the target's documented differences explain (its ``[[known]]`` ids): counted
    with its smallest example, never saved as a finding."""

    target: str
    known: str  # the ids of the documented differences that explain it, in order
    kind: str
    source: str
    expected: Outcome
    observed: Outcome
    hits: int = 1

    @classmethod
    def of(cls, difference: Difference, source: str) -> DocumentedDifference:
        return cls(difference.target, difference.known, difference.kind, source,
                   difference.expected, difference.observed)

    def merged_with(self, other: DocumentedDifference | None) -> DocumentedDifference:
        return _merge(self, other)


def _merge(new, old):
    if old is None:
        return new
    smaller = new if len(new.source) < len(old.source) else old
    return replace(smaller, hits=new.hits + old.hits)


def _bound_names(tree: ast.AST) -> set[str]:
    """The names a program binds (variables, functions, classes, parameters...): its own words,
    unlike builtins, attributes and keyword arguments, which are the language's."""
    bound = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            bound.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            bound.add(node.name)
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            bound.update(node.names)
        elif isinstance(node, ast.alias):
            bound.add(node.asname or node.name.split(".")[0])
    return bound


def _literal_shape(token: str) -> str:
    try:
        value = ast.literal_eval(token)
    except (ValueError, SyntaxError):
        return "s"  # an f-string
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    if isinstance(value, str):
        return "''" if not value else "'a'" if value.isascii() else "'é'"
    return {int: "0", float: "0.0", complex: "0j"}.get(type(value), "0")


_BEFORE_A_SIGN = frozenset({"(", "[", "{", ",", "=", ":", "\n"})  # where "-" is a number's sign


def program_shape(source: str) -> str:
    """A (minimal) program with the names it binds numbered in order of appearance and its numbers
    and strings reduced to their kind (int, float; empty, ASCII, non-ASCII), a sign before a number
    dropped. Two buckets whose minimal programs have one shape show one cause: ``print(0/1)`` and
    ``print(6/3)``, ``a['red']`` and ``a['cyan']`` after ``a={}``."""
    try:
        bound = _bound_names(ast.parse(source))
        tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (SyntaxError, ValueError, tokenize.TokenError):
        return source
    names: dict[str, str] = {}
    shape: list[str] = []
    for token in tokens:
        kind, text = token.type, token.string
        if kind in (tokenize.COMMENT, tokenize.NL, tokenize.ENCODING, tokenize.ENDMARKER):
            continue
        if kind == tokenize.NAME and text in bound:
            text = names.setdefault(text, f"v{len(names)}")
        elif kind in (tokenize.NUMBER, tokenize.STRING):
            if shape and shape[-1] == "-" and (len(shape) == 1 or shape[-2] in _BEFORE_A_SIGN):
                shape.pop()  # a negative number: the same literal as its absolute value
            text = _literal_shape(text)
        elif kind == tokenize.NEWLINE:
            text = "\n"
        elif kind in (tokenize.INDENT, tokenize.DEDENT):
            text = ">" if kind == tokenize.INDENT else "<"
        shape.append(text)
    return " ".join(shape)


def _describe(outcome: Outcome) -> str:
    text = outcome.status
    if outcome.exc_type:
        text += f" {outcome.exc_type}: {outcome.exc_message}"[:200]
    return text + f"; stdout {outcome.stdout[:200]!r}"


def render(finding: Finding, status: str = "open") -> str:
    lines = [
        "# tinyfuzz finding",
        f"# target: {finding.target}",
        f"# target-spec: {finding.target_spec}",
        f"# reference: {finding.reference}",
        f"# kind: {finding.kind}",
        f"# signature: {finding.signature}",
        f"# expected ({finding.reference}): {_describe(finding.expected)}",
        f"# observed ({finding.target}): {_describe(finding.observed)}",
        f"# tinyfuzz: {__version__}",
        f"# reproduce: tinyfuzz run --reference {finding.reference} --target {finding.target_spec} "
        f"crashes/{finding.target}/{finding.signature}.py",
        f"# status: {status}  (open: fails while the target differs; expected: a known difference)",
        HEADER_END,
    ]
    return "\n".join(lines) + "\n" + finding.source.rstrip("\n") + "\n"


@dataclass(frozen=True)
class SavedFinding:
    path: Path
    header: dict
    source: str

    @property
    def expected_difference(self) -> bool:
        return self.header.get("status", "open").split()[0] == "expected"


def read_finding(path: Path) -> SavedFinding:
    header: dict = {}
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    for index, line in enumerate(lines):
        if line.rstrip("\n") == HEADER_END:
            return SavedFinding(path, header, "".join(lines[index + 1:]))
        key, _, value = line[2:].partition(": ")
        if value:
            header[key.strip()] = value.strip()
    return SavedFinding(path, header, "".join(lines))  # no header: the whole file is the program


def finding_path(folder: str | Path, finding: Finding) -> Path:
    return Path(folder) / finding.target / f"{finding.signature}.py"


def save_finding(folder: str | Path, finding: Finding) -> Path:
    """Write ``finding`` to ``folder/<target>/<signature>.py`` unless a program no larger is there."""
    path = finding_path(folder, finding)
    directory = path.parent
    directory.mkdir(parents=True, exist_ok=True)
    status = "open"
    if path.exists():
        saved = read_finding(path)
        if len(saved.source.strip()) <= len(finding.source.strip()):
            return path
        status = saved.header.get("status", "open").split()[0]  # keep a user's "expected" mark
    with atomic_file(path, fsync=True) as handle:
        handle.write(render(finding, status))
    return path
