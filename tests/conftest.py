"""Shared fixtures. Tests that need a real interpreter (PyPy, MicroPython, Pyodide) carry its marker;
where it is missing they skip with the install line, except under CI (CI=true), where .ci/run has
installed it and a missing one is a failure, never a silent skip."""

import os

import pytest

from tinyfuzz.errors import TargetError
from tinyfuzz.execution.targets import load_target


def require_target(name: str):
    target = load_target(name)
    try:
        target.argv()
    except TargetError as missing:
        if os.environ.get("CI"):
            pytest.fail(f"CI must have {name}: {missing}")
        pytest.skip(str(missing))
    return target


@pytest.fixture
def postgres_url():
    """A PostgreSQL store URL, emptied (marked postgres: .ci/run starts the server)."""
    url = os.environ.get("TINYFUZZ_TEST_POSTGRES")
    if not url:
        if os.environ.get("CI"):
            pytest.fail("CI must set TINYFUZZ_TEST_POSTGRES (.ci/run starts PostgreSQL)")
        pytest.skip("set TINYFUZZ_TEST_POSTGRES=postgresql+psycopg://user:password@host/db")
    from sqlalchemy import create_engine

    from tinyfuzz.corpus.store import Base

    engine = create_engine(url)
    Base.metadata.drop_all(engine)  # a clean store for each test
    engine.dispose()
    return url
