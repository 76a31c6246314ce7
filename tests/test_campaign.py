"""Campaigns end to end on the toy interpreter (examples/toyc, three seeded bugs): found, confirmed,
shrunk, stored and saved; documented differences apart; resumed after SIGKILL; stopped by Ctrl-C;
the same findings on a Dask cluster and in PostgreSQL."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from click.testing import CliRunner
from conftest import require_extra

from tinyfuzz.campaign.config import Budget, CampaignConfig, parse_budget
from tinyfuzz.campaign.driver import Campaign
from tinyfuzz.campaign.runner import batch_seed
from tinyfuzz.cli import main
from tinyfuzz.corpus.store import Store
from tinyfuzz.errors import InvalidArgument
from tinyfuzz.execution.findings import read_finding

TOYC = str(Path(__file__).parent.parent / "examples" / "toyc" / "toyc.toml")
TOY_BUGS = 3  # div, not, range: each its own bucket (range may show as two: see test)


def toy_config(**changes) -> CampaignConfig:
    values = dict(targets=(TOYC,), grammar="tinypy", batch_size=25, seed=1)
    values.update(changes)
    return CampaignConfig(**values)


def children() -> list:
    """This process's descendants, but multiprocessing's resource tracker (one per process that
    used the spawn start method, alive until that process ends)."""
    return [p for p in psutil.Process().children(recursive=True)
            if "resource_tracker" not in " ".join(p.cmdline())]


def no_children_left() -> bool:
    deadline = time.monotonic() + 10
    while children() and time.monotonic() < deadline:
        time.sleep(0.1)
    return not children()


@pytest.mark.parametrize("text, budget", [
    ("30s", Budget(seconds=30)), ("90m", Budget(seconds=5400)), ("8h", Budget(seconds=28800)),
    ("1.5h", Budget(seconds=5400)), ("2d", Budget(seconds=172800)),
    ("50000", Budget(programs=50000)), ("50k", Budget(programs=50000)),
])
def test_budgets(text, budget):
    assert parse_budget(text) == budget


@pytest.mark.parametrize("text", ["", "8 hours", "1.5k", "-3", "h", "1.5"])
def test_bad_budgets_name_the_forms(text):
    with pytest.raises(InvalidArgument, match=r"--budget .*30s, 90m, 8h, 2d.*50k"):
        parse_budget(text)


def test_batch_seeds_differ_and_fit_a_signed_64_bit_column():
    seeds = {batch_seed(0, i) for i in range(1000)} | {batch_seed(1, i) for i in range(1000)}
    assert len(seeds) == 2000
    assert all(0 <= s < 2 ** 63 for s in seeds)


@pytest.mark.slow
def test_campaign_finds_confirms_shrinks_and_saves_every_toy_bug(tmp_path):
    db, crashes = tmp_path / "run.sqlite", tmp_path / "crashes"
    # 1,000 programs: the not bug shows in about one in a hundred
    status = Campaign(toy_config(), db=db, budget=Budget(programs=1000), workers=2,
                      crashes=crashes, shrink_tests=150).run()
    assert status.stopped == "budget" and status.programs == 1000
    store = Store(db)
    (campaign,) = store.campaigns()
    assert sum(b.programs for b in store.batches(campaign.id)) == 1000
    assert sorted(b.index for b in store.batches(campaign.id)) == list(range(40))
    findings = store.findings(campaign.id)
    # one bucket per bug: two causes never share one, one cause is never split (buckets of one
    # cause were merged once shrunk, their hits added)
    assert len(findings) == TOY_BUGS and all(f.shrunk and f.hits >= 1 for f in findings)
    merged = store.findings(campaign.id, merged=True)
    assert {f.merged_into for f in merged} <= {f.signature for f in findings}
    assert sorted(path.stem for path in (crashes / "toyc").glob("*.py")) == \
        sorted(f.signature for f in findings)
    assert set(status.buckets) == {("toyc", f.signature) for f in findings}
    for finding in findings:  # the crash file is the shrunk program, under the bucket's name
        saved = read_finding(crashes / "toyc" / f"{finding.signature}.py")
        assert saved.source.strip() == finding.source.strip()
        assert len(finding.source.strip().splitlines()) <= 3
        assert len(finding.source) <= len(finding.original)
    sources = "\n".join(f.source for f in findings)
    assert "/" in sources and "not" in sources and "range(" in sources  # each seeded bug, shrunk
    assert store.known(campaign.id) == []
    assert no_children_left()


@pytest.mark.slow
def test_documented_differences_are_counted_apart_not_saved_as_findings(tmp_path):
    documented = tmp_path / "toyc-documented.toml"
    toyc = Path(TOYC).with_name("toyc.py")
    documented.write_text(f"""name = "toyc-documented"
kind = "command"
command = ["{{python}}", "-S", "{toyc}", "{{file}}"]
[[known]]
id = "toy-output"
description = "every output difference, documented"
kind = "output"
normalize = ["ignore"]
""")
    db, crashes = tmp_path / "run.sqlite", tmp_path / "crashes"
    status = Campaign(toy_config(targets=(str(documented),)), db=db, budget=Budget(programs=100),
                      workers=1, crashes=crashes).run()
    assert not status.buckets and not crashes.exists()
    store = Store(db)
    (known,) = store.known(store.campaigns()[0].id)
    assert (known.target, known.known, known.kind) == ("toyc-documented", "toy-output", "output")
    assert known.hits == sum(b.known for b in store.batches(1)) > 0
    assert known.expected["stdout"] != known.observed["stdout"]


def fuzz_command(tmp_path, budget="600") -> list[str]:
    return [sys.executable, "-m", "tinyfuzz", "fuzz", "--target", TOYC, "--grammar", "tinypy",
            "--budget", budget, "--batch-size", "25", "--workers", "2", "--seed", "1",
            "--db", str(tmp_path / "run.sqlite"), "--crashes", str(tmp_path / "crashes")]


def wait_for_findings(tmp_path, proc, batches: int = 3):
    """Poll the store (as another reader) until it holds a finding and some batches."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the campaign ended before it could be interrupted"
        if (tmp_path / "run.sqlite").exists():
            store = Store(tmp_path / "run.sqlite")
            campaigns = store.campaigns()
            if campaigns and store.findings(campaigns[0].id) and \
                    len(store.batches(campaigns[0].id)) >= batches:
                found = {(f.target, f.signature): f.source for f in store.findings(campaigns[0].id)}
                done = [b.index for b in store.batches(campaigns[0].id)]
                store.close()
                return found, done
            store.close()
        time.sleep(0.2)
    raise AssertionError("no finding within 120 s")


def session_processes(sid: int, wait: float = 20) -> list:
    """Processes left in the session of a campaign started with start_new_session, once they
    have had ``wait`` seconds to go."""
    deadline = time.monotonic() + wait
    while True:
        left = [p for p in psutil.process_iter() if _sid(p) == sid]
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.2)


def _sid(proc) -> int | None:
    try:
        return os.getsid(proc.pid)
    except (ProcessLookupError, PermissionError):
        return None


@pytest.mark.slow
def test_a_campaign_killed_with_sigkill_resumes_losing_no_confirmed_finding(tmp_path):
    command = fuzz_command(tmp_path)
    proc = subprocess.Popen(command + ["--quiet"], start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    found, done = wait_for_findings(tmp_path, proc)
    os.kill(proc.pid, signal.SIGKILL)  # the driver only, mid-run, like an OOM killer or kill -9
    proc.wait()
    # its workers notice and go, with their target processes
    assert not session_processes(proc.pid), "processes of the killed campaign were left behind"

    again = subprocess.run(command + ["--quiet"], capture_output=True, text=True, timeout=300)
    assert again.returncode == 1, again.stderr  # findings: exit 1
    store = Store(tmp_path / "run.sqlite")
    (campaign,) = store.campaigns()  # the same command continued the same campaign
    batches = store.batches(campaign.id)
    assert sorted(b.index for b in batches) == list(range(24))  # every batch once, none twice
    assert sum(b.programs for b in batches) == 600
    after = {(f.target, f.signature): f for f in store.findings(campaign.id)}
    joined = {(f.target, f.signature): (f.target, f.merged_into)
              for f in store.findings(campaign.id, merged=True)}
    assert set(found) <= set(after) | set(joined)  # nothing confirmed before the kill is lost...
    for key in found:  # ...and every one is shrunk and on disk, or joined a bucket of its cause
        kept = joined.get(key, key)
        assert after[kept].shrunk
        assert (tmp_path / "crashes" / kept[0] / f"{kept[1]}.py").exists()
    # the second session ran only what the first had not recorded: at most 600 - 25 * len(done)
    ran = int(again.stdout.split("budget: ")[1].split(" programs this session")[0].replace(",", ""))
    assert 0 < ran <= 600 - 25 * len(done)


@pytest.mark.slow
@pytest.mark.parametrize("stop", ["ctrl-c", "sigterm"])
def test_ctrl_c_or_sigterm_stops_cleanly_with_a_summary(tmp_path, stop):
    # SIGINT as a terminal leaves it: a shell's background job (nohup bash .ci/run &) ignores it,
    # and Python started with SIGINT ignored never turns it into KeyboardInterrupt
    proc = subprocess.Popen(fuzz_command(tmp_path, budget="1h") + ["--quiet"],
                            start_new_session=True, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    wait_for_findings(tmp_path, proc, batches=1)
    if stop == "ctrl-c":
        os.killpg(proc.pid, signal.SIGINT)  # what a terminal's Ctrl-C does: the whole group
    else:
        os.kill(proc.pid, signal.SIGTERM)  # what a scheduler or a CI timeout does: the driver
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "interrupted:" in out and "buckets" in out and "findings by bucket" in out
    assert "Traceback" not in err
    assert not session_processes(proc.pid)
    store = Store(tmp_path / "run.sqlite")
    assert store.findings(store.campaigns()[0].id)  # what was found is kept


@pytest.mark.parametrize("args, message", [
    (["--budget", "soon"], "--budget 'soon'"),
    (["--executor", "ray://x"], "--executor 'ray://x': use local or dask://HOST:PORT"),
    (["--grammar", "nope"], "nope"),
])
def test_fuzz_usage_errors_are_one_line(tmp_path, args, message):
    assert message in fuzz_usage_error(tmp_path, args)


def fuzz_usage_error(tmp_path, args: list) -> str:
    """The output of ``tinyfuzz fuzz`` on the toy target with ``args``, checked to be a usage
    error (exit code 2) without a traceback."""
    result = CliRunner().invoke(main, ["fuzz", "--target", TOYC, "--db",
                                       str(tmp_path / "run.sqlite")] + args)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    return result.output


@pytest.mark.slow  # Dask tries for its 10 s connect timeout
def test_an_unreachable_dask_scheduler_is_a_one_line_usage_error(tmp_path):
    require_extra("distributed", "pip install 'tinyfuzz[dask]'")
    output = fuzz_usage_error(tmp_path, ["--executor", "dask://127.0.0.1:9"])
    assert "cannot reach the Dask scheduler at tcp://127.0.0.1:9" in output


def test_a_dask_executor_without_dask_names_the_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # import fails
    output = fuzz_usage_error(tmp_path, ["--executor", "dask://127.0.0.1:9"])
    assert "Dask is not installed: pip install 'tinyfuzz[dask]'" in output


def test_unknown_target_is_a_usage_error(tmp_path):
    result = CliRunner().invoke(main, ["fuzz", "--target", "nosuch", "--db", str(tmp_path / "x")])
    assert result.exit_code == 2 and "unknown target 'nosuch'" in result.output


@pytest.mark.slow
def test_dask_cluster_runs_the_same_campaign(tmp_path):
    distributed = require_extra("distributed", "pip install 'tinyfuzz[dask]'")
    from tinyfuzz.campaign.executor import DaskExecutor

    config, budget = toy_config(batch_size=20), Budget(programs=160)
    local = Campaign(config, db=tmp_path / "local.sqlite", budget=budget, workers=2,
                     crashes=tmp_path / "local").run()
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        address = "dask://" + cluster.scheduler_address.removeprefix("tcp://")
        executor = DaskExecutor(address)
        try:
            assert executor.slots == 2
            on_dask = Campaign(config, db=tmp_path / "dask.sqlite", budget=budget,
                               executor=executor, crashes=tmp_path / "dask").run()
        finally:
            executor.close()
    assert on_dask.programs == local.programs == 160
    assert set(on_dask.buckets) == set(local.buckets) and local.buckets  # same batches, same bugs
    assert sorted(p.name for p in (tmp_path / "dask" / "toyc").glob("*.py")) == \
        sorted(p.name for p in (tmp_path / "local" / "toyc").glob("*.py"))


@pytest.mark.postgres
def test_postgres_store_records_and_resumes_a_campaign(tmp_path, postgres_url):
    config = toy_config()
    first = Campaign(config, db=postgres_url, budget=Budget(programs=100), workers=2,
                     crashes=tmp_path / "crashes").run()
    assert first.buckets
    second = Campaign(config, db=postgres_url, budget=Budget(programs=150), workers=2,
                      crashes=tmp_path / "crashes").run()
    assert second.resumed_batches == 4 and second.session_programs == 50
    store = Store(postgres_url)
    (campaign,) = store.campaigns()
    assert sorted(b.index for b in store.batches(campaign.id)) == list(range(6))
    assert {(f.target, f.signature) for f in store.findings(campaign.id)} == set(second.buckets)
    assert all(f.shrunk for f in store.findings(campaign.id))
    store.close()


def test_live_view_shows_rate_targets_buckets_and_documented_differences_apart():
    from collections import Counter

    from rich.console import Console

    from tinyfuzz._internal.live import view
    from tinyfuzz.campaign.driver import Bucket, CampaignStatus

    status = CampaignStatus(7, toy_config(), Budget(seconds=3600), workers=2, programs=1200,
                            session_programs=1200, batches=48, resumed_batches=8)
    status.outcomes = {"cpython": Counter(ok=1200), "toyc": Counter(ok=1190, timeout=10)}
    status.buckets[("toyc", "abc123")] = Bucket("toyc", "output", "abc123", 17, 2, True,
                                                Path("crashes/toyc/abc123.py"))
    status.known[("toyc", "toy-output")] = 5
    console = Console(record=True, width=160)
    console.print(view(status))
    text = console.export_text()
    assert "campaign 7" in text and "1,200 programs" in text and "(8 resumed)" in text
    assert "of 1:00:00" in text and "1 buckets" in text
    toyc_row = next(line for line in text.splitlines() if line.strip().startswith("toyc ") and
                    "1,190" in line)
    assert "10" in toyc_row and "17" in toyc_row  # the timeouts and the bucket's hits
    findings, documented = text.index("findings by bucket"), text.index("documented differences")
    assert text.index("abc123") < documented < text.index("toy-output")
    assert findings < text.index("abc123")


class ThreadExecutor:
    """Batches on a thread of this process (their programs still run in worker processes): lets a
    test patch what the batch runner calls."""

    slots = 1

    def __init__(self):
        import concurrent.futures

        self.pool = concurrent.futures.ThreadPoolExecutor(1)

    def submit(self, fn, *args):
        return self.pool.submit(fn, *args)

    def close(self, interrupt=False):
        self.pool.shutdown(cancel_futures=True)


@pytest.mark.slow
def test_a_failing_shrink_keeps_the_finding_as_found_and_the_campaign_going(tmp_path, monkeypatch):
    import tinyfuzz.campaign.driver
    import tinyfuzz.campaign.runner
    import tinyfuzz.execution.shrink

    def broken(source, interesting, max_tests=None):
        raise TypeError("reducer bug")
    monkeypatch.setattr(tinyfuzz.execution.shrink, "reduce", broken)
    executor = ThreadExecutor()
    try:
        status = Campaign(toy_config(seed=2), db=tmp_path / "run.sqlite", budget=Budget(programs=100),
                          executor=executor, crashes=tmp_path / "crashes").run()
    finally:
        executor.close()
        tinyfuzz.campaign.runner.close_runners()
    assert status.stopped == "budget" and status.programs == 100 and status.buckets
    assert len(status.shrink_errors) == len(status.buckets)
    assert all("TypeError: reducer bug" in error for error in status.shrink_errors)
    store = Store(tmp_path / "run.sqlite")
    for finding in store.findings(1):  # kept, as found, on disk too
        assert finding.source == finding.original
        assert (tmp_path / "crashes" / "toyc" / f"{finding.signature}.py").exists()


@pytest.mark.slow
def test_shrinks_left_when_the_grace_after_the_budget_ends_are_finished_on_resume(
        tmp_path, monkeypatch):
    import tinyfuzz.campaign.driver
    import tinyfuzz.campaign.runner

    monkeypatch.setattr(tinyfuzz.campaign.driver, "SHRINK_GRACE", (0.0, 0.0))  # no time after the budget
    executor = ThreadExecutor()
    try:
        first = Campaign(toy_config(seed=2), db=tmp_path / "run.sqlite",
                         budget=Budget(programs=100), executor=executor,
                         crashes=tmp_path / "crashes").run()
    finally:
        executor.close()
    assert first.stopped == "budget" and first.shrinking > 0  # left as found...
    store = Store(tmp_path / "run.sqlite")
    unshrunk = [f for f in store.findings(1) if not f.shrunk]
    assert len(unshrunk) == first.shrinking
    for finding in unshrunk:  # ...but saved
        saved = read_finding(tmp_path / "crashes" / "toyc" / f"{finding.signature}.py")
        assert saved.source.strip() == finding.original.strip()
    monkeypatch.undo()
    again = Campaign(toy_config(seed=2), db=tmp_path / "run.sqlite", budget=Budget(programs=100),
                     workers=1, crashes=tmp_path / "crashes").run()
    assert again.session_programs == 0 and again.shrinking == 0
    assert all(f.shrunk for f in store.findings(1))
    assert any(len(f.source) < len(f.original) for f in store.findings(1))
    tinyfuzz.campaign.runner.close_runners()


@pytest.mark.slow
@pytest.mark.parametrize("guided", [False, True])
def test_campaigns_count_grammar_coverage_and_can_prefer_what_is_unused(tmp_path, guided):
    config = toy_config(batch_size=10, coverage_guided=guided, swarm=False)
    status = Campaign(config, db=tmp_path / "run.sqlite", budget=Budget(programs=40), workers=1,
                      crashes=tmp_path / "crashes", shrink_tests=20).run()
    assert len(status.alternatives) >= 90  # tinypy: 93 choices (rules with several alternatives)
    assert status.covered and status.covered <= status.alternatives
    store = Store(tmp_path / "run.sqlite")
    recorded = [tuple(pair) for batch in store.batches(1) for pair in batch.covered]
    # batches in flight together may both report a pair first: the union is what counts
    assert set(recorded) == status.covered
    resumed = Campaign(config, db=tmp_path / "run.sqlite", budget=Budget(programs=40), workers=1,
                       crashes=tmp_path / "crashes")
    resumed.run()
    assert resumed.status.covered == status.covered  # rebuilt from the store


def test_coverage_guided_batches_use_more_of_the_grammar():
    from tinyfuzz.campaign.runner import BatchRunner

    def used(guided: bool) -> int:
        config = toy_config(coverage_guided=guided, swarm=False, grammar="python").as_dict()
        runner = BatchRunner(config)
        sampler = runner.sampler(())
        from tinyfuzz.engine.guides import choice_alternatives

        unused = set(choice_alternatives(sampler.compiled))
        start = len(unused)
        for index in range(5):  # as the driver does: each batch told what is still unused
            sampler.reseed(index)
            if guided:
                from tinyfuzz.engine.guides import prefer_unused
                sampler.guide = prefer_unused(sampler.compiled, frozenset(unused), sampler.random)
            for _ in range(20):
                unused -= sampler.draw().coverage
        return start - len(unused)
    plain, guided = used(False), used(True)
    assert guided > plain * 1.05, (plain, guided)


def test_a_second_campaign_on_a_store_in_use_is_refused_in_one_line(tmp_path):
    """Two tinyfuzz fuzz on one SQLite store: the second is told so (it used to die with a 107-line
    IntegrityError); the lock goes with the process that holds it."""
    import fcntl

    db = tmp_path / "run.sqlite"
    with open(f"{db}.lock", "w") as held:  # as a running campaign holds it
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        result = CliRunner().invoke(main, ["fuzz", "--target", TOYC, "--grammar", "tinypy", "--db", str(db),
                                           "--budget", "50", "--crashes", str(tmp_path / "c"), "--quiet"])
        assert result.exit_code == 2, result.output
        assert "is in use by another tinyfuzz fuzz" in result.output and result.output.count("\n") == 1
    again = CliRunner().invoke(main, ["fuzz", "--target", TOYC, "--grammar", "tinypy", "--db", str(db),
                                      "--budget", "50", "--crashes", str(tmp_path / "c"), "--quiet",
                                      "--workers", "1"])
    assert again.exit_code in (0, 1), again.output  # free again: it runs
