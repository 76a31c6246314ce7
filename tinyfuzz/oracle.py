"""The differential oracle: normalise two outcomes, classify how they differ, explain or bucket it.

``compare(expected, observed, target)`` returns None when the outcomes agree, else a ``Difference``:
its ``kind`` (hang > crash > exception-type > output > exception-message, the first that applies),
the documented difference of the target that explains it (``known``), or else a bug, and a
``signature`` for bucketing: the same kind of failure on the same target gets the same signature
whatever the program's names and numbers.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Callable

from tinyfuzz.worker import Outcome

_SET_LITERAL = re.compile(r"\{([^{}:]*)\}")  # braces with no colon: a set, not a dict


def _sort_sets(text: str) -> str:
    return _SET_LITERAL.sub(lambda m: "{" + ", ".join(sorted(m.group(1).split(", "))) + "}", text)


NORMALIZERS: dict[str, Callable[[str], str]] = {
    # name: applied to stdout and exception messages
    "sort-sets": _sort_sets,
    "strip-trailing-space": lambda text: "\n".join(line.rstrip() for line in text.split("\n")),
    "ignore": lambda text: "",
}


@dataclass(frozen=True)
class Difference:
    kind: str  # output, exception-type, exception-message, crash, hang
    target: str
    expected: Outcome
    observed: Outcome
    known: str | None  # id of the documented difference that explains it, if one does
    signature: str

    @property
    def is_bug(self) -> bool:
        return self.known is None


def normalized(outcome: Outcome, names) -> Outcome:
    stdout, message = outcome.stdout, outcome.exc_message
    for name in names:
        stdout, message = NORMALIZERS[name](stdout), NORMALIZERS[name](message)
    return outcome._replace(stdout=stdout, exc_message=message, seconds=0.0)


def _raised(outcome: Outcome) -> str:
    """The exception type an outcome ended with ('' when it ended cleanly)."""
    if outcome.status == "exception":
        return outcome.exc_type
    return "" if outcome.status == "ok" else outcome.status


def classify(expected: Outcome, observed: Outcome) -> str | None:
    """How two (already normalised) outcomes differ, or None when they agree."""
    if observed.status == "timeout" and expected.status != "timeout":
        return "hang"
    if observed.status == "crash" and expected.status != "crash":
        return "crash"
    if _raised(expected) != _raised(observed):
        return "exception-type"
    if expected.stdout != observed.stdout:
        return "output"
    if expected.exc_message != observed.exc_message:
        return "exception-message"
    return None


def compare(expected: Outcome, observed: Outcome, target) -> Difference | None:
    """Compare the reference's outcome with a target's (``target``: a ``targets.Target``)."""
    kind = classify(normalized(expected, target.normalize), normalized(observed, target.normalize))
    if kind is None:
        return None
    known = None
    for rule in target.known:
        if rule.kind != kind or rule.exc_types and expected.exc_type not in rule.exc_types:
            continue
        names = target.normalize + rule.normalize
        if not rule.normalize or classify(normalized(expected, names),
                                          normalized(observed, names)) is None:
            known = rule.id
            break
    return Difference(kind, target.name, expected, observed, known,
                      signature(target.name, kind, expected, observed))


_NUMBER = re.compile(r"\d+(\.\d+)?")
_NAME = re.compile(r"'[^']*'|\"[^\"]*\"")


def _shape(text: str) -> str:
    """A line with its numbers and quoted names abstracted, so similar failures bucket together."""
    return _NAME.sub("'S'", _NUMBER.sub("N", text))[:80]


def signature(target: str, kind: str, expected: Outcome, observed: Outcome) -> str:
    parts = [target, kind, _raised(expected), _raised(observed)]
    if kind == "output":
        first = next((a, b) for a, b in zip(expected.stdout.split("\n") + [""],
                                            observed.stdout.split("\n") + [""]) if a != b)
        parts += [_shape(first[0]), _shape(first[1])]
    elif kind == "exception-message":
        parts += [_shape(observed.exc_message)]
    elif kind == "crash":
        parts += [observed.exc_message]
    return hashlib.sha1("\x1f".join(parts).encode()).hexdigest()[:12]
