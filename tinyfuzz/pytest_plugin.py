"""The pytest plugin (entry point ``pytest11``): ``pytest --target NAME``.

Options live in their own group; ``--target`` also has the alias ``--tinyfuzz-target`` for when
another plugin owns ``--target``. The plugin adds fixtures (``tinyfuzz_target``, one test per
``--target``; ``tinyfuzz_reference``; ``tinyfuzz_differential``, which runs, compares and records
findings), the ``tinyfuzz`` marker, Hypothesis profiles (``tinyfuzz-dev``, ``tinyfuzz-ci``
derandomised, ``tinyfuzz-nightly``), a report header line, and collects ``crashes/<target>/*.py`` as
regression tests. Imports of tinyfuzz's heavier modules wait until a test needs them.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import settings

settings.register_profile("tinyfuzz-dev", max_examples=200, deadline=None)
settings.register_profile("tinyfuzz-ci", max_examples=500, deadline=None, derandomize=True,
                          database=None, print_blob=True)
settings.register_profile("tinyfuzz-nightly", max_examples=20_000, deadline=None)
PROFILES = ("dev", "ci", "nightly")


def pytest_addoption(parser) -> None:
    group = parser.getgroup("tinyfuzz", "tinyfuzz differential fuzzing")
    try:  # the short name, unless another plugin has it
        group.addoption("--target", action="append", dest="tinyfuzz_targets", default=[],
                        help=_TARGET_HELP)
    except ValueError:
        pass
    group.addoption("--tinyfuzz-target", action="append", dest="tinyfuzz_targets", default=[],
                    help=_TARGET_HELP)
    group.addoption("--tinyfuzz-reference", default="cpython",
                    help="the target taken as right (default: cpython)")
    group.addoption("--tinyfuzz-grammar", default="tinypy",
                    help="grammar the differential test draws from: a bundled name or a .bnf path")
    group.addoption("--tinyfuzz-corpus", default=None,
                    help="a corpus store (tinyfuzz corpus): half of the programs are mutated and "
                         "crossed over from it, half drawn from the grammar")
    group.addoption("--tinyfuzz-profile", default="dev", choices=PROFILES,
                    help="Hypothesis profile: dev, ci (derandomised) or nightly (many examples)")
    group.addoption("--tinyfuzz-crashes", default="crashes",
                    help="folder of saved findings, replayed as regression tests (default: crashes)")


_TARGET_HELP = ("a target to test against the reference: a bundled name (pypy, micropython, "
                "pyodide) or a path to a target .toml file; repeatable")


def pytest_configure(config) -> None:
    config.addinivalue_line("markers", "tinyfuzz: a differential test run by tinyfuzz")
    config._tinyfuzz_targets = _load_targets(config)  # --target spec -> Target
    config._tinyfuzz_pools = None  # warm workers for the session, made when a test first needs one


def pytest_unconfigure(config) -> None:
    pools = getattr(config, "_tinyfuzz_pools", None)
    if pools is not None:
        pools.close()


def _pair(config, target, reference):
    """The differential pair of ``target`` and ``reference``, on the session's warm workers."""
    from tinyfuzz.execution.pair import DifferentialPair, Pools

    if config._tinyfuzz_pools is None:
        config._tinyfuzz_pools = Pools()
    return DifferentialPair(reference, target, config._tinyfuzz_pools)


def _load_targets(config) -> dict:
    """Every --target, loaded and checked now: an unusable one is a usage error, in one line."""
    specs = config.getoption("tinyfuzz_targets")
    if not specs:
        return {}
    from tinyfuzz.errors import TargetError
    from tinyfuzz.execution.targets import load_target

    loaded = {}
    for spec in specs:
        try:
            target = load_target(spec)
            target.argv()  # usable: the interpreter and its files are there
        except TargetError as error:
            raise pytest.UsageError(f"tinyfuzz: {error}") from None
        loaded[spec] = target
    return loaded


def pytest_report_header(config) -> str | None:
    targets = config.getoption("tinyfuzz_targets")
    if not targets:
        return None
    seed = config.getoption("hypothesis_seed", None)  # None too when Hypothesis's plugin is absent
    return (f"tinyfuzz: targets {', '.join(targets)}; reference "
            f"{config.getoption('tinyfuzz_reference')}; grammar {config.getoption('tinyfuzz_grammar')}; "
            f"profile tinyfuzz-{config.getoption('tinyfuzz_profile')}; seed "
            f"{seed if seed is not None else 'random'}")


def pytest_generate_tests(metafunc) -> None:
    if "tinyfuzz_target" in metafunc.fixturenames:
        targets = metafunc.config._tinyfuzz_targets
        metafunc.parametrize("tinyfuzz_target", list(targets) or [None], indirect=True,
                             ids=[t.name for t in targets.values()] or ["no-target"])


@pytest.fixture
def tinyfuzz_target(request, pytestconfig):
    """The target under test (one test per --target); skips with a reason when none is given."""
    if request.param is None:
        pytest.skip("no --target given: pytest --target pypy (or a path to a target .toml)")
    return pytestconfig._tinyfuzz_targets[request.param]


@pytest.fixture(scope="session")
def tinyfuzz_reference(pytestconfig):
    from tinyfuzz.execution.targets import load_target

    return load_target(pytestconfig.getoption("tinyfuzz_reference"))


class Differential:
    """Runs a program on the reference and the target, compares, and keeps what it finds.

    ``check(source)`` raises AssertionError on a difference that is not documented, after saving
    the program to the crash store (the smallest program per signature wins). When the test ends,
    the failure Hypothesis reported is reduced further by the AST-aware reducer and saved again.
    """

    def __init__(self, config, spec, target, reference):
        self.config, self.spec, self.target, self.reference = config, spec, target, reference
        self.pair = _pair(config, target, reference)
        self.crashes = Path(config.getoption("tinyfuzz_crashes"))
        self.last = None  # the last failing Finding: Hypothesis replays its minimal example last
        self.created: set = set()  # crash files this test created (intermediate ones get removed)

    @property
    def strategy(self):
        from tinyfuzz.strategy import from_corpus, from_grammar

        grammar = self.config.getoption("tinyfuzz_grammar")
        drawn = from_grammar(grammar, python_version=self.target.python_version)
        corpus = self.config.getoption("tinyfuzz_corpus")
        if corpus is None:
            return drawn
        return drawn | from_corpus(corpus, grammar, python_version=self.target.python_version)

    @property
    def settings(self):
        return settings(settings.get_profile("tinyfuzz-" + self.config.getoption("tinyfuzz_profile")))

    def check(self, source: str) -> None:
        from tinyfuzz.execution.findings import Finding, finding_path, save_finding

        difference = self.pair.difference(source)
        if difference is None or not difference.is_bug:
            return
        source, difference = self.pair.localize([source], [difference])[0]  # cut where it differs
        if difference is None:  # it differed only once: Hypothesis reports the flaky test
            raise AssertionError(f"{self.target.name} differed from {self.reference.name} once, "
                                 "then agreed: flaky")
        finding = Finding.of(difference, source, self.spec, self.reference.name)
        self.last = finding
        existed = finding_path(self.crashes, finding).exists()
        path = save_finding(self.crashes, finding)  # confirmed: on disk at once, whatever happens
        if not existed:
            self.created.add(path)
        raise AssertionError(
            f"{self.target.name} differs from {self.reference.name}: {difference.kind} "
            f"(signature {difference.signature}, saved to {path})\n"
            f"expected: {difference.expected}\nobserved: {difference.observed}")

    def reduce_findings(self) -> None:
        """Finish the shrinking of the failure Hypothesis reported with the AST-aware reducer
        (keeping its signature), save it, and drop the files of the larger variants Hypothesis
        went through on the way, which this test wrote."""
        if self.last is None:
            return
        from dataclasses import replace

        from tinyfuzz.execution.findings import save_finding

        shrunk = self.pair.shrink(self.last.source, self.last.signature)
        kept = save_finding(self.crashes, replace(self.last, source=shrunk.source,
                                                  expected=shrunk.expected,
                                                  observed=shrunk.observed))
        for path in self.created - {kept}:
            path.unlink(missing_ok=True)


@pytest.fixture
def tinyfuzz_differential(request, pytestconfig, tinyfuzz_target, tinyfuzz_reference):
    spec = request.node.callspec.params["tinyfuzz_target"]
    differential = Differential(pytestconfig, spec, tinyfuzz_target, tinyfuzz_reference)
    yield differential
    differential.reduce_findings()


# ---- crashes/<target>/*.py as regression tests ------------------------------------------------


def pytest_collection_modifyitems(session, config, items) -> None:
    crashes = Path(config.getoption("tinyfuzz_crashes"))
    for spec, target in config._tinyfuzz_targets.items():
        folder = crashes / target.name  # where findings for it are saved
        for path in sorted(folder.glob("*.py")):
            items.append(CrashItem.from_parent(session, name=f"crashes/{folder.name}/{path.name}",
                                               path=path, spec=spec))


class CrashStillFails(AssertionError):
    """A replayed finding whose target still differs: reported in a few lines."""


class CrashItem(pytest.Item):
    """A saved finding, replayed: fails while the target still differs; passes once it is fixed."""

    def __init__(self, *, spec: str, **kwargs):
        super().__init__(**kwargs)
        self.spec = spec

    def runtest(self) -> None:
        from tinyfuzz.execution.findings import read_finding
        from tinyfuzz.execution.targets import load_target

        saved = read_finding(self.path)
        target = self.config._tinyfuzz_targets[self.spec]
        reference = load_target(saved.header.get("reference", "cpython"))
        difference = _pair(self.config, target, reference).difference(saved.source)
        if difference is None or not difference.is_bug:
            return
        if saved.expected_difference:
            pytest.xfail(f"documented as expected: {difference.kind}")
        raise CrashStillFails(f"{target.name} still differs: {difference.kind} (signature "
                              f"{difference.signature})\nexpected: {difference.expected}\n"
                              f"observed: {difference.observed}\nprogram ({self.path}):\n"
                              + saved.source.rstrip())

    def repr_failure(self, excinfo):
        """The difference and the program, not pytest's and pluggy's internals."""
        if isinstance(excinfo.value, CrashStillFails):
            return str(excinfo.value)
        return super().repr_failure(excinfo)

    def reportinfo(self):
        return self.path, None, self.name
