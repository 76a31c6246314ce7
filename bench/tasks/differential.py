"""The interestingness test of the reduction tasks: the buggy target still disagrees with CPython,
with the same finding signature (``tinyfuzz.execution.oracle``: same kind of difference, same exceptions, the
first differing output line of the same shape) as the original program.

Both implementations run in warm workers (``tinyfuzz.execution.worker.Worker``), never in this process:
CPython is tinyfuzz's own ``_runner.py``, the buggy one is ``truncdiv_runner.py`` beside this file.
Usable in-process (``DifferentialTest``) or as a command for external reducers::

    python bench/tasks/differential.py ORIGINAL.py < CANDIDATE.py   # exit 0 when interesting
"""

from __future__ import annotations

import sys
from pathlib import Path
from types import SimpleNamespace

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))  # the repository root, for ``tinyfuzz``

from tinyfuzz.execution.oracle import compare  # noqa: E402
from tinyfuzz.execution.worker import Limits, Worker  # noqa: E402

BUGGY_RUNNER = HERE / "truncdiv_runner.py"
TASKS = {"floordiv59": HERE / "floordiv59.py"}
_TARGET = SimpleNamespace(name="truncdiv", normalize=(), known=())  # what compare() reads


class DifferentialTest:
    """``test(source)``: does the buggy target differ from CPython with ``original``'s signature?"""

    def __init__(self, original: str, limits: Limits = Limits(timeout=1.0)):
        self.reference = Worker(limits=limits)
        self.buggy = Worker(argv=[sys.executable, "-s", str(BUGGY_RUNNER)], limits=limits)
        self.calls = 0
        self.signature = None
        self.signature = self.finding(original)
        if self.signature is None:
            self.close()
            raise ValueError("the original program shows no difference")

    def finding(self, source: str) -> str | None:
        expected, = self.reference.run([source])
        observed, = self.buggy.run([source])
        difference = compare(expected, observed, _TARGET)
        return None if difference is None else difference.signature

    def __call__(self, source: str) -> bool:
        self.calls += 1
        return self.finding(source) == self.signature

    def close(self) -> None:
        self.reference.close()
        self.buggy.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


if __name__ == "__main__":
    original = Path(sys.argv[1]).read_text()
    candidate = sys.stdin.read()
    with DifferentialTest(original) as test:
        sys.exit(0 if test(candidate) else 1)
