"""The differential oracle: normalise two outcomes, classify how they differ, explain or bucket it.

``compare(expected, observed, target)`` returns None when the outcomes agree, else a ``Difference``:
its ``kind`` (hang > crash > exception-type > output > exception-message, the first that applies),
the documented difference of the target that explains it (``known``), or else a bug, and a
``signature`` for bucketing: the same kind of failure on the same target gets the same signature
whatever the program's names, numbers and strings. ``where`` (the kind of statement the difference
first shows after, see ``pair.DifferentialPair.localize``) tells apart causes whose outputs change
alike: one loop too many and one ``if`` taken wrongly both print an extra line.
"""

from __future__ import annotations

import difflib
import hashlib
import re
from dataclasses import dataclass
from itertools import zip_longest
from typing import Callable

from tinyfuzz.execution.worker import Outcome

_SET_LITERAL = re.compile(r"\{([^{}:]*)\}")  # braces with no colon: a set, not a dict
_DICT_LITERAL = re.compile(r"\{([^{}]*:[^{}]*)\}")  # flat braces with colons: a dict
_DICT_VIEW = re.compile(r"(dict_(?:keys|values)\(\[)([^\[\]]*)(\]\))")  # dict_keys(['a', 'b'])


def _sort_items(pattern: re.Pattern, text: str) -> str:
    return pattern.sub(lambda m: "{" + ", ".join(sorted(m.group(1).split(", "))) + "}", text)


def _sort_dicts(text: str) -> str:
    text = _sort_items(_DICT_LITERAL, text)
    return _DICT_VIEW.sub(lambda m: m.group(1) + ", ".join(sorted(m.group(2).split(", ")))
                          + m.group(3), text)


NORMALIZERS: dict[str, Callable[[str], str]] = {
    # name: applied to stdout and exception messages
    "sort-sets": lambda text: _sort_items(_SET_LITERAL, text),
    "sort-dicts": _sort_dicts,  # flat dict literals and the printed keys and values views
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


def _settle(kind: str, expected: Outcome, observed: Outcome) -> Outcome:
    """``observed`` with the part that differs in ``kind`` made equal to ``expected``'s."""
    if kind == "output":
        return observed._replace(stdout=expected.stdout)
    if kind == "exception-message":
        return observed._replace(exc_message=expected.exc_message)
    if kind == "exception-type":
        return observed._replace(status=expected.status, exc_type=expected.exc_type,
                                 exc_message=expected.exc_message)
    return expected._replace(stdout=observed.stdout)  # crash, hang: the status and exception


# The reference did not finish the program (a time, memory or output limit, or its worker died):
# there is nothing to hold a target to, whatever it did (both timing out is not a bug, nor is a
# target's timeout where the reference flooded its output).
NO_VERDICT = frozenset({"timeout", "oom", "output-limit", "crash"})


def compare(expected: Outcome, observed: Outcome, target, where: str = "") -> Difference | None:
    """Compare the reference's outcome with a target's (``target``: a ``targets.Target``;
    ``where``: the kind of the program's last statement, part of the signature). None when they
    agree, or when the reference did not finish (``NO_VERDICT``).

    Each way the outcomes differ, most serious first, must be explained by a documented
    difference for the whole to count as known; the first one no rule explains is the bug.
    """
    if expected.status in NO_VERDICT:
        return None
    exp, obs = normalized(expected, target.normalize), normalized(observed, target.normalize)
    first = kind = classify(exp, obs)
    explained: list[str] = []
    while kind is not None:
        rule = next((r for r in target.known if r.kind == kind and
                     (not r.exc_types or expected.exc_type in r.exc_types) and
                     (not r.normalize or classify(normalized(exp, r.normalize),
                                                  normalized(obs, r.normalize)) != kind)), None)
        if rule is None:
            return Difference(kind, target.name, expected, observed, None,
                              signature(target.name, kind, exp, obs, where))
        explained.append(rule.id)
        obs = _settle(kind, exp, obs)
        kind = classify(exp, obs)
    if first is None:
        return None
    return Difference(first, target.name, expected, observed, ", ".join(explained),
                      signature(target.name, first, normalized(expected, target.normalize),
                                normalized(observed, target.normalize), where))


_ENDED = "(end of output)"
_TOKEN = re.compile(r"'[^']*'|\"[^\"]*\"|\d+(?:\.\d+)?|\w+|\S")
_CAUGHT = re.compile(r"\b([A-Z]\w*(?:Error|Exception))\b\W*('[^']*'|\"[^\"]*\")?")  # name, message
# Words that say what happened rather than what the program printed: kept in a shape.
_MEANINGFUL = re.compile(r"True|False|None|nan|inf|class|object|function|method|generator|at|of|"
                         r"[A-Z]\w*(?:Error|Exception|Warning)")


def _token_shape(token: str, words: bool) -> str:
    if token[0] in "'\"":
        return "'S'"
    if token[0].isdigit():
        return "N.N" if "." in token else "N"
    if words and (token[0].isalpha() or token[0] == "_") and not _MEANINGFUL.fullmatch(token):
        return "W"  # a word the program printed: a name, a string's contents
    return token


def _shape(text: str, words: bool = True) -> str:
    """Text with its numbers, quoted strings and (with ``words``) words abstracted, repeats
    collapsed: the same change whatever the values (``'blue'`` and ``cyan``, one word or three).
    An exception's message keeps its words: they are the implementation's, not the program's."""
    shapes = [_token_shape(token, words) for token in _TOKEN.findall(text)]
    return " ".join(shape for i, shape in enumerate(shapes) if i == 0 or shape != shapes[i - 1])[:80]


def _changes(expected_line: str, observed_line: str) -> list[str]:
    """How the first differing output lines differ, in shape: the changed token runs only (the
    unchanged context varies from program to program), or 'reordered' for the same tokens, or the
    exception a program caught and printed where the reference printed something else (whatever
    the reference printed, that exception is the failure)."""
    a, b = _TOKEN.findall(expected_line), _TOKEN.findall(observed_line)
    if a and sorted(a) == sorted(b):
        return ["reordered"]
    runs = [(tag, a[i1:i2], b[j1:j2]) for tag, i1, i2, j1, j2 in
            difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes() if tag != "equal"]
    caught = _CAUGHT.search(" ".join(token for _, _, new in runs for token in new))
    if caught and caught.group(1) not in expected_line:
        return ["caught", caught.group(1), _shape(caught.group(2) or "")]
    changes = [f"{tag}:{_shape(' '.join(old))}>{_shape(' '.join(new))}" for tag, old, new in runs]
    return sorted(set(changes))[:4]


def signature(target: str, kind: str, expected: Outcome, observed: Outcome, where: str = "") -> str:
    """Same target, kind, exceptions, shape of change and kind of statement it shows after: same
    signature, whatever the program. A hang has no ``where`` (finding it costs a timeout a try)."""
    parts = [target, kind, _raised(expected), _raised(observed)]
    if where and kind != "hang":
        parts.append(f"after {where}")
    if kind == "output":
        # Outputs that differ only in how many lines they have (a trailing newline) differ where
        # one of them has ended.
        lines = zip_longest(expected.stdout.split("\n"), observed.stdout.split("\n"), fillvalue=_ENDED)
        first = next((a, b) for a, b in lines if a != b)
        parts += _changes(*first)
    elif kind == "exception-message":
        parts += [_shape(observed.exc_message, words=False)]
    elif kind == "crash":
        parts += [observed.exc_message]
    return hashlib.sha1("\x1f".join(parts).encode()).hexdigest()[:12]
