"""Shared fixtures. Tests that need a real interpreter (PyPy, MicroPython, Pyodide) carry its marker;
where it is missing they skip with the install line, except under CI (CI=true), where .ci/run has
installed it and a missing one is a failure, never a silent skip. Tests that need an optional extra
(matplotlib, Dask, PyTorch/Optuna, spaCy, psycopg, Playwright) call ``require_extra``: the same
policy for Python packages."""

import importlib
import os

import pytest

from tinyfuzz.errors import TargetError
from tinyfuzz.execution.targets import load_target


def require_extra(module: str, install: str):
    """``module``, imported: a package of an optional extra. Where it is missing the test skips
    with ``install``, the line that installs it (called at module level: the whole file skips),
    except under CI, which installs every extra (the ``test`` extra includes them all) and where a
    missing one fails the test instead of skipping it."""
    if os.environ.get("CI"):
        try:
            return importlib.import_module(module)
        except ImportError as missing:
            pytest.fail(f"CI must have {module} ({install}): {missing}", pytrace=False)
    return pytest.importorskip(module, reason=f"needs {module}: {install}")


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
    require_extra("psycopg", "pip install 'tinyfuzz[postgres]'")  # postgresql+psycopg's driver
    from sqlalchemy import create_engine

    from tinyfuzz.corpus.store import Base

    engine = create_engine(url)
    Base.metadata.drop_all(engine)  # a clean store for each test
    engine.dispose()
    return url
