"""Shared fixtures. Tests that need a real interpreter (PyPy, MicroPython, Pyodide) carry its marker;
where it is missing they skip with the install line, except under CI (CI=true), where .ci/run has
installed it and a missing one is a failure, never a silent skip."""

import os

import pytest

from tinyfuzz.errors import TargetError
from tinyfuzz.targets import load_target


def require_target(name: str):
    target = load_target(name)
    try:
        target.argv()
    except TargetError as missing:
        if os.environ.get("CI"):
            pytest.fail(f"CI must have {name}: {missing}")
        pytest.skip(str(missing))
    return target
