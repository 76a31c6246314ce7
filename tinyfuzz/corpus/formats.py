"""The program files tinyfuzz writes and reads, in one place.

* ``text``, the TinyPy Generator paper's: the program, a ``# output`` line, one ``# <line>`` per line
  it printed, a blank line;
* ``jsonl``: one JSON object a line, the program as ``code`` and what it printed as ``output``,
  then fields of the writer's (``tinyfuzz generate``: ``level``, ``constructs``, ``hash``;
  ``corpus export``: the label and the reference's outcome);
* read only: a ``.py`` file, or a directory of them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

from tinyfuzz.errors import InvalidArgument

if TYPE_CHECKING:
    from tinyfuzz.engine.derivation import Program
    from tinyfuzz.execution.worker import Outcome

FORMATS = ("text", "jsonl")


def jsonl_record(code: str, output: str, **fields) -> str:
    """One line of the ``jsonl`` format: ``code``, ``output``, then ``fields`` in their order."""
    return json.dumps({"code": code, "output": output, **fields}) + "\n"


def format_record(program: Program, outcome: Outcome, fmt: str, digest: int) -> str:
    """One program and its output, in ``fmt``; ``digest`` is its ``content_hash``."""
    source = program.source.rstrip("\n") + "\n"
    if fmt == "jsonl":
        return jsonl_record(source, outcome.stdout, level=program.level,
                            constructs=sorted(program.features), hash=f"{digest:016x}")
    lines = "".join(f"# {line}\n" for line in outcome.stdout.splitlines())
    return f"{source}# output\n{lines}\n"


def read_programs(path: str | Path) -> Iterator[str]:
    """Programs from a ``.py`` file, a directory (its ``.py`` files, recursively), a ``.jsonl``
    dataset (``code`` or ``source`` field) or the paper's text format (program, ``# output``,
    ``# <line>``s, blank line)."""
    path = Path(path)
    if path.is_dir():
        for file in sorted(path.rglob("*.py")):
            yield file.read_text()
        return
    if not path.is_file():
        raise InvalidArgument(f"{path}: no such file or directory")
    if path.suffix == ".py":
        yield path.read_text()
    elif path.suffix == ".jsonl":
        with path.open() as lines:
            for number, line in enumerate(lines, 1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                    yield record["code"] if "code" in record else record["source"]
                except (ValueError, KeyError, TypeError):
                    raise InvalidArgument(f"{path}:{number}: not a JSON object with a \"code\" "
                                          f"field (the format of tinyfuzz generate --format jsonl)") \
                        from None
    else:
        yield from _paper_format(path)


def _paper_format(path: Path) -> Iterator[str]:
    program: list[str] = []
    in_output = False
    with path.open() as lines:
        for number, line in enumerate(lines, 1):
            if in_output:
                if line.strip():
                    if not line.startswith("#"):
                        raise InvalidArgument(f"{path}:{number}: expected '# <output line>' or a "
                                              f"blank line after '# output'")
                    continue
                in_output = False
            elif line.rstrip("\n") == "# output":
                yield "".join(program)
                program, in_output = [], True
            else:
                program.append(line)
    if any(line.strip() for line in program):
        raise InvalidArgument(f"{path}: the last program has no '# output' line (is this the text "
                              f"format of tinyfuzz generate? a single program should end in .py)")
