"""One exception root, as Hypothesis does: callers catch ``TinyfuzzError``."""

from __future__ import annotations


class TinyfuzzError(Exception):
    """Base class of every error tinyfuzz raises on purpose."""


class InvalidArgument(TinyfuzzError, ValueError):
    """An argument has a value tinyfuzz cannot use; the message names it and the fix."""


class TargetError(TinyfuzzError):
    """A target (interpreter under test) is unknown, missing or misbehaving."""


class GrammarError(TinyfuzzError):
    """A grammar file is malformed. Carries the position, rendered Lark-style with a caret."""

    def __init__(self, message: str, *, path: str = "<grammar>", line: int = 0,
                 column: int = 0, source_line: str | None = None):
        self.message = message
        self.path = path
        self.line = line
        self.column = column
        self.source_line = source_line
        super().__init__(self._render())

    def _render(self) -> str:
        where = f"{self.path}:{self.line}:{self.column}" if self.line else self.path
        text = f"{where}: {self.message}"
        if self.source_line is not None:
            caret = " " * max(self.column - 1, 0) + "^"
            text += f"\n    {self.source_line.rstrip()}\n    {caret}"
        return text
