"""The ``tinyfuzz`` command line. Errors a user can act on print one message and exit with code 2."""

from __future__ import annotations

import signal
import sys
import time
from functools import wraps

import click

from tinyfuzz import __version__
from tinyfuzz.errors import TinyfuzzError


def _user_errors(command):
    """Turn tinyfuzz's own errors into a message and exit code 2, never a traceback."""

    @wraps(command)
    def run(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except TinyfuzzError as error:
            click.echo(f"tinyfuzz: error: {error}", err=True)
            sys.exit(2)
        except KeyboardInterrupt:
            click.echo("tinyfuzz: interrupted; nothing was left half-written", err=True)
            sys.exit(130)
    return run


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="tinyfuzz")
def main() -> None:
    """Grammar-driven differential fuzzing and dataset generation for Python implementations."""


@main.command()
@click.option("-n", "count", type=click.IntRange(min=0), default=1000, show_default=True,
              help="Number of unique programs to write.")
@click.option("--grammar", default=None,
              help="A bundled grammar name or a path to a .bnf file [default: tinypy; with "
                   "--describe, tinypy if it can make everything asked for, else python].")
@click.option("--level", default="all", show_default=True,
              help="Complexity level: a @level of the grammar (tinypy: 1.1 1.2 2.1 2.2 3.1 3.2) or all.")
@click.option("--describe", "description", default=None, metavar="TEXT",
              help="Programs that do what TEXT says, e.g. \"a loop that prints the even numbers "
                   "below 20\": constructs, constants and names read from it are imposed and "
                   "checked (pip install 'tinyfuzz[describe]').")
@click.option("--seed", type=int, default=0, show_default=True, help="The same seed gives the same file.")
@click.option("-o", "--output", required=True, type=click.Path(allow_dash=True),
              help="File to write; it appears only once complete. '-': standard output (the "
                   "summary goes to standard error).")
@click.option("--format", "fmt", type=click.Choice(["text", "jsonl"]), default="text", show_default=True,
              help="text: the paper's format (program, '# output', '# <line>'); jsonl: one object a line.")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="Worker processes that run the programs [default: one per core].")
@click.option("--quiet", is_flag=True, help="No progress bar or summary.")
@_user_errors
def generate(count, grammar, level, description, seed, output, fmt, workers, quiet) -> None:
    """Generate a dataset of programs with their outputs (the TinyPy generator, arXiv 2403.06503)."""
    from tinyfuzz.corpus.dataset import generate_dataset
    from tinyfuzz.grammar.load import load_grammar

    if description is not None:
        _generate_described(description, count, grammar, level, seed, output, fmt, workers, quiet)
        return
    loaded = load_grammar(grammar or "tinypy")  # fail on a bad grammar or level before any worker starts
    loaded.start_for(level)
    if quiet:
        generate_dataset(count, output, grammar=loaded, level=level, seed=seed, fmt=fmt,
                         workers=workers)
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    console = Console(stderr=True)
    with Progress(TextColumn("generating"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  TimeRemainingColumn(), console=console, transient=True,
                  disable=not console.is_terminal) as bar:
        task = bar.add_task("generate", total=count)
        summary = generate_dataset(count, output, grammar=loaded, level=level, seed=seed, fmt=fmt,
                                   workers=workers,
                                   progress=lambda written: bar.update(task, completed=written))
    _print_summary(console, summary)


def _generate_described(description, count, grammar, level, seed, output, fmt, workers,
                        quiet) -> None:
    from tinyfuzz.describe.task import parse, write_programs

    constraints = parse(description)
    if constraints.unknown:  # a warning even with --quiet: what was asked may not be what is made
        click.echo("tinyfuzz: warning: words not understood, ignored: "
                   + ", ".join(constraints.unknown), err=True)
    if not quiet:
        click.echo(f"asked for: {constraints}", err=True)
    summary = write_programs(constraints, count, output, grammar=grammar,
                             level=None if level == "all" else level, seed=seed, fmt=fmt,
                             workers=workers)
    if not quiet:
        rejected = ", ".join(f"{why} ({n:,})" for why, n in summary.rejected.most_common())
        click.echo(f"wrote {summary.written:,} programs ({summary.grammar} grammar) to "
                   f"{summary.path} in {summary.seconds:.1f} s: {summary.draws:,} draws"
                   + (f"; not kept: {rejected}" if rejected else ""), err=True)


@main.command()
@click.option("--target", "targets", multiple=True, required=True,
              help="A target to compare with the reference: a bundled name (pypy, micropython, "
                   "pyodide, cpython) or a path to a target .toml file. Repeatable.")
@click.option("--reference", default="cpython", show_default=True, help="The target taken as right.")
@click.argument("programs", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@_user_errors
def run(targets, reference, programs) -> None:
    """Run programs on the reference and on each target; show the outcomes side by side.

    Exits with 1 when some target differs in a way its documented differences do not explain.
    """
    from rich.console import Console
    from rich.table import Table

    from tinyfuzz._internal.files import read_text
    from tinyfuzz.execution.pair import DifferentialPair, Pools
    from tinyfuzz.execution.targets import load_target

    right = load_target(reference)
    loaded = [right] + [load_target(t) for t in targets]
    sources = [read_text(p) for p in programs]
    with Pools() as pools:  # each side: one warm worker, all programs
        pairs = [DifferentialPair(right, target, pools) for target in loaded[1:]]
        expected = pairs[0].expected(sources)
        observed = [pair.observe(sources, expected) for pair in pairs]
        # where each bug first shows, and the signature a campaign would bucket it by
        located = [pair.localize(sources, found) for pair, (_, found) in zip(pairs, observed)]
    console = Console()
    bugs = 0
    for index, path in enumerate(programs):
        table = Table(title=path, show_lines=True)
        table.add_column("")
        for target in loaded:
            table.add_column(target.name + (" (reference)" if target is right else ""))
        row = [expected[index]] + [outcomes[index] for outcomes, _ in observed]
        differences = [found[index] for _, found in observed]
        styles = [""] + ["" if d is None else "yellow" if d.known else "bold red" for d in differences]
        table.add_row("status", *(f"[{s}]{o.status}[/]" if s else o.status for s, o in zip(styles, row)))
        table.add_row("stdout", *(_clip(o.stdout) for o in row))
        table.add_row("exception", *(f"{o.exc_type}: {o.exc_message}" if o.exc_type else "" for o in row))
        console.print(table)
        for difference, (cut, there) in zip(differences, (found[index] for found in located)):
            if difference is None:
                continue
            if difference.known:
                console.print(f"[yellow]{difference.target}: {difference.kind} differs, a documented "
                              f"difference ({difference.known})[/]")
            elif there is None:
                console.print(f"[yellow]{difference.target}: {difference.kind} differed once, then "
                              "agreed (flaky)[/]")
            else:
                bugs += 1
                console.print(f"[bold red]{difference.target}: {there.kind} differs (signature "
                              f"{there.signature}; it shows by line {len(cut.splitlines())})[/]")
    sys.exit(1 if bugs else 0)


@main.command()
@click.option("--target", required=True, help="The target that differs: a bundled name or a .toml path.")
@click.option("--reference", default="cpython", show_default=True, help="The target taken as right.")
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None,
              help="Write the reduced program here instead of printing it.")
@click.argument("program", type=click.Path(exists=True, dir_okay=False))
@_user_errors
def shrink(target, reference, output, program) -> None:
    """Reduce PROGRAM while TARGET keeps differing from the reference with the same signature."""
    from tinyfuzz._internal.files import atomic_file, check_writable, read_text
    from tinyfuzz.errors import InvalidArgument
    from tinyfuzz.execution.pair import DifferentialPair
    from tinyfuzz.execution.targets import load_target

    if output:
        check_writable(output)  # before the work, not after it
    source = read_text(program)
    with DifferentialPair(load_target(reference), load_target(target)) as pair:
        located, first = pair.localize([source], [pair.difference(source)])[0]
        if first is None or not first.is_bug:
            raise InvalidArgument(f"{program}: {pair.target.name} does not differ from "
                                  f"{pair.reference.name} on it in an undocumented way: nothing "
                                  "to shrink")
        result = pair.shrink(located, first.signature)
    click.echo(f"{first.kind} (signature {first.signature}): {len(source)} -> "
               f"{len(result.source)} characters in {result.tests} test runs", err=True)
    if output:
        with atomic_file(output) as out:
            out.write(result.source)
    else:
        click.echo(result.source, nl=not result.source.endswith("\n"))


@main.command()
@click.option("--target", "targets", multiple=True, required=True,
              help="A target to fuzz: a bundled name (pypy, micropython, pyodide) or a path to a "
                   "target .toml file. Repeatable.")
@click.option("--reference", default="cpython", show_default=True, help="The target taken as right.")
@click.option("--grammar", default="python", show_default=True,
              help="A bundled grammar name or a path to a .bnf file.")
@click.option("--level", default=None, help="A @level of the grammar [default: all].")
@click.option("--budget", default="10m", show_default=True,
              help="Active time (30s, 90m, 8h, 2d; summed over resumed sessions) or a number of "
                   "programs (50000, 50k).")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="Local worker processes, each running whole batches [default: one per core].")
@click.option("--executor", default="local", show_default=True,
              help="local, or dask://HOST:PORT to run the batches on a Dask cluster.")
@click.option("--db", default="tinyfuzz.sqlite", show_default=True,
              help="The campaign store: a SQLite file or a SQLAlchemy URL "
                   "(postgresql+psycopg://user:password@host/db). The same command on the same "
                   "store resumes the campaign.")
@click.option("--crashes", default="crashes", show_default=True,
              help="Folder of findings: crashes/<target>/<signature>.py, replayed by pytest.")
@click.option("--seed", type=int, default=0, show_default=True,
              help="Campaign seed: batch i of a seed is the same programs everywhere.")
@click.option("--batch-size", type=click.IntRange(min=1), default=200, show_default=True,
              help="Programs per batch (the unit of work, of recording and of resuming).")
@click.option("--no-swarm", is_flag=True,
              help="Every batch uses every grammar feature (default: each batch leaves out a "
                   "random half of them, swarm testing).")
@click.option("--coverage-guided", is_flag=True,
              help="Prefer grammar alternatives the campaign has not used yet (half of the "
                   "choices where one is allowed); grammar coverage is shown either way.")
@click.option("--corpus", default=None,
              help="A corpus store (tinyfuzz corpus) whose correct programs and findings are "
                   "mutated and crossed over to make part of each batch; the campaign's findings "
                   "are added to it.")
@click.option("--mutate", type=click.FloatRange(0, 1), default=None,
              help="The share of each batch made from the corpus  [default: 0.5 with --corpus]")
@click.option("--quiet", is_flag=True, help="No live display; the summary only.")
@_user_errors
def fuzz(targets, reference, grammar, level, budget, workers, executor, db, crashes, seed,
         batch_size, no_swarm, coverage_guided, corpus, mutate, quiet) -> None:
    """Run a differential fuzz campaign until BUDGET is spent; resumable, parallel, on Dask.

    Findings are confirmed by a second run, shrunk, bucketed by signature and written to CRASHES
    and DB as soon as they are confirmed; documented differences are counted apart. Ctrl-C stops
    cleanly with a summary; running the same command again continues the campaign. Exits with 1
    when the campaign has undocumented findings.
    """
    import os

    from rich.console import Console
    from rich.live import Live

    from tinyfuzz._internal import live
    from tinyfuzz.campaign.config import CampaignConfig, parse_budget
    from tinyfuzz.campaign.driver import Campaign
    from tinyfuzz.campaign.executor import make_executor
    from tinyfuzz.campaign.runner import close_runners

    config = CampaignConfig(targets=tuple(targets), reference=reference, grammar=grammar,
                            level=level, seed=seed, batch_size=batch_size, swarm=not no_swarm,
                            coverage_guided=coverage_guided, corpus=corpus,
                            mutate=(0.5 if corpus else 0.0) if mutate is None else mutate)
    spent = parse_budget(budget)
    workers = workers or os.cpu_count() or 1
    console = Console(stderr=True)
    if corpus:  # before any worker starts: a typo must not end the campaign in its first batch
        from tinyfuzz.corpus.corpus import Corpus

        Corpus(corpus, existing=True).close()
    campaign = Campaign(config, db=db, budget=spent, workers=workers, crashes=crashes)
    pool = make_executor(executor, workers, on_leave=close_runners)
    campaign.executor = pool
    interrupted = False
    signal.signal(signal.SIGTERM, _interrupt)  # a scheduler's stop: like Ctrl-C, with the summary
    try:
        if quiet or not console.is_terminal:
            campaign.on_update = (lambda status: None) if quiet else live.PlainProgress(console)
            status = campaign.run()
        else:
            with Live(console=console, refresh_per_second=4, transient=True) as display:
                campaign.on_update = lambda status: display.update(live.view(status))
                status = campaign.run()
        interrupted = status.stopped == "interrupted"
    finally:
        pool.close(interrupt=interrupted or campaign.status.shrinking > 0)  # stop shrinks left
    out = Console()
    out.print(live.view(status))
    if status.shrinking:
        out.print(f"{status.shrinking} findings are saved as found, not shrunk yet: the same "
                  "command shrinks them (and goes on if the budget allows)")
    out.print(f"{status.stopped}: {status.session_programs:,} programs this session in "
              f"{time.monotonic() - status.session_started:.1f} s ({status.session_rate:,.0f} "
              f"programs/s); {len(status.buckets)} buckets"
              + (f" ({len(status.merged)} more joined one of them once shrunk to the same program)"
                 if status.merged else "") + f"; store {db}; report: tinyfuzz report "
              f"{db} -o report.html")
    if interrupted:
        sys.exit(130)
    sys.exit(1 if status.buckets else 0)


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def _clip(text: str, lines: int = 12) -> str:
    parts = text.splitlines()
    return "\n".join(parts[:lines] + ([f"... {len(parts) - lines} more lines"] if len(parts) > lines else []))


def _print_summary(console, summary) -> None:
    from rich.table import Table

    rate = summary.written / summary.seconds if summary.seconds else 0.0
    console.print(f"wrote {summary.written:,} programs to {summary.path} in {summary.seconds:.1f} s "
                  f"({rate:,.0f} programs/s)")
    redrawn = sum(summary.redrawn.values())
    detail = ", ".join(f"{name} {count:,}" for name, count in summary.redrawn.most_common())
    console.print(f"redrawn because they raised: {redrawn:,}" + (f" ({detail})" if detail else ""))
    console.print(f"derivations restarted by the semantic layer: {summary.infeasible:,}")
    console.print(f"duplicates skipped: {summary.duplicates:,}")
    if not summary.written:
        return
    levels = sorted(summary.levels)
    table = Table(title="share of programs using each construct, by level (the paper's Table 2)")
    table.add_column("construct")
    for level in levels:
        table.add_column(level, justify="right")
    table.add_column("all", justify="right")
    table.add_row("programs", *(f"{summary.levels[level]:,}" for level in levels), f"{summary.written:,}")
    shares = summary.construct_shares()
    for construct in sorted({c for _, c in summary.constructs}):
        table.add_row(construct,
                      *(f"{summary.constructs[level, construct] / summary.levels[level]:.3f}"
                        for level in levels), f"{shares[construct]:.3f}")
    console.print(table)


@main.command()
@click.argument("db")
@click.option("-o", "--output", type=click.Path(), default="report.html", show_default=True,
              help="HTML file to write; it appears only once complete.")
@click.option("--campaign", "campaign_id", type=int, default=None,
              help="Id of the campaign to report on [default: the latest in DB].")
@_user_errors
def report(db, output, campaign_id) -> None:
    """Write a self-contained HTML report of a fuzzing campaign.

    DB: the campaign database (a SQLite file or a SQLAlchemy URL). The page shows the findings, the
    documented differences met, outcomes per target and plots; it needs no network to be read.
    """
    from tinyfuzz.campaign.report import write_report

    path = write_report(db, output, campaign_id)
    click.echo(f"wrote {path}", err=True)


@main.command()
@click.argument("grammar")
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None,
              help="Write the listing here instead of printing it.")
@click.option("--start", default=None, help="Cover from this rule or @level [default: the start rule].")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--max-size", type=click.IntRange(min=1), default=400, show_default=True,
              help="Size budget of each program of the listing.")
@click.option("--k", "k", type=click.IntRange(min=1), default=1, show_default=True,
              help="Also cover every k-path: chains of k rules, each expanded inside the one "
                   "before (k-path coverage; 2 follows from covering every alternative).")
@_user_errors
def cover(grammar, output, start, seed, max_size, k) -> None:
    """A coverage listing of GRAMMAR: valid programs that together use every alternative of every
    rule, checked by parsing the listing's text with an Earley parser of the grammar.

    Prints per-rule coverage (rules not fully covered first) to stderr; exits with 1 when some
    alternative is not covered.
    """
    from rich.console import Console
    from rich.table import Table

    from tinyfuzz._internal.files import atomic_file, check_writable
    from tinyfuzz.science.coverage import coverage_listing

    if output:
        check_writable(output)  # before the work, not after it
    listing = coverage_listing(grammar, start=start, seed=seed, max_size=max_size, k=k)
    text = "".join(f"# program {i + 1} of {len(listing.programs)}\n{p.rstrip()}\n"
                   for i, p in enumerate(listing.programs))
    if output:
        with atomic_file(output) as out:
            out.write(text)
    else:
        click.echo(text, nl=False)
    console = Console(stderr=True)
    table = Table(title="alternatives covered per rule (from a parse of the listing)")
    for column in ("rule", "covered", "of", "missing"):
        table.add_column(column, justify="right" if column in ("covered", "of") else "left")
    missing = listing.missing
    per_rule = listing.per_rule()
    for name, (seen, total) in sorted(per_rule.items(), key=lambda r: (r[1][0] == r[1][1], r[0])):
        if seen < total or len(per_rule) <= 40:
            gaps = ", ".join(str(index) for rule, index in sorted(missing) if rule == name)
            table.add_row(name, str(seen), str(total), gaps)
    if table.rows:
        console.print(table)
    covered = len(listing.observable) - len(missing)
    console.print(f"{len(listing.programs)} programs, {len(text.splitlines())} lines: {covered} of "
                  f"{len(listing.observable)} alternatives covered ({covered / len(listing.observable):.1%})"
                  + ("" if len(per_rule) <= 40 else "; fully covered rules not listed"))
    uncovered = listing.k_paths - listing.k_covered
    if k > 1:
        console.print(f"{k}-paths: {len(listing.k_covered)} of {len(listing.k_paths)} covered"
                      + "".join(f"\n  not covered: {' > '.join(p)}" for p in sorted(uncovered)[:20])
                      + (f"\n  ... {len(uncovered) - 20} more" if len(uncovered) > 20 else ""))
        console.print(f"no {k}-path starts at (fewer than {k} rules deep): "
                      + (", ".join(listing.empty_k_paths()) or "none"))
    sys.exit(1 if missing or uncovered else 0)


@main.command("grammar-diff")
@click.argument("first")
@click.argument("second")
@click.option("--samples", type=click.IntRange(min=0), default=200, show_default=True,
              help="Random programs of each grammar, besides its coverage listing.")
@click.option("--seed", type=int, default=0, show_default=True)
@_user_errors
def grammar_diff_command(first, second, samples, seed) -> None:
    """Do FIRST and SECOND describe the same language? Each grammar's coverage listing and random
    programs are parsed with an Earley parser of the other; programs one accepts and the other
    does not are printed, shortest first. Exits with 1 when there is a counterexample.
    """
    from tinyfuzz.science.grammar_diff import grammar_diff

    found = grammar_diff(first, second, samples=samples, seed=seed)
    for example in found:
        click.echo(f"# generated by {example.generated_by}, not accepted by {example.rejected_by}:")
        click.echo(example.text.rstrip("\n"))
    click.echo(f"{len(found)} counterexamples" if found else
               "no difference found (cross-parsed coverage listings and random programs)", err=True)
    sys.exit(1 if found else 0)


@main.command()
@click.argument("grammar")
@click.option("--samples", type=click.IntRange(min=0), default=500, show_default=True,
              help="Random programs, besides the coverage set (one shortest program per alternative).")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--max-size", type=click.IntRange(min=1), default=200, show_default=True,
              help="Size budget of each random program, in rule expansions.")
@_user_errors
def flaws(grammar, samples, seed, max_size) -> None:
    """Strings GRAMMAR derives that CPython's compile() rejects, grouped by message and by the
    production responsible, each with a count and its shortest (reduced) example.

    GRAMMAR: a bundled name (python, tinypy), a .bnf file, a .lark file, or lark:python (Lark's
    own Python grammar). Strings are only compiled, never run, in a worker process. Exits with 1
    when there are flaws.
    """
    from tinyfuzz.science.flaws import find_flaws

    report = find_flaws(grammar, samples=samples, seed=seed, max_size=max_size)
    click.echo(report.format())
    sys.exit(1 if report.flaws else 0)


@main.command("mutants")
@click.argument("grammar", required=False)
@click.option("-n", "count", type=click.IntRange(min=1), default=5000, show_default=True,
              help="Programs to draw from GRAMMAR (duplicates dropped).")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--programs", "programs_path", type=click.Path(exists=True), default=None,
              help="Score these programs too: a .py file, a folder of them, or a dataset in "
                   "tinyfuzz's text or jsonl format.")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="Worker processes [default: one per core].")
@click.option("--json", "json_output", type=click.Path(dir_okay=False), default=None,
              help="Also write the score, mutant by mutant, to this JSON file.")
@_user_errors
def mutants_command(grammar, count, seed, programs_path, workers, json_output) -> None:
    """How much of Python GRAMMAR's programs reach: the share of the bundled semantic mutants
    (CPython with one deliberate fault each, such as // rounding toward zero) that some program
    tells apart from CPython, per section of the language, and the mutants none did.

    GRAMMAR: a bundled name (python, tinypy) or a .bnf file; it may be left out with --programs.
    """
    import json

    from rich.console import Console
    from rich.markup import escape
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
    from rich.table import Table

    from tinyfuzz._internal.files import atomic_file, check_writable
    from tinyfuzz.corpus.formats import read_programs
    from tinyfuzz.errors import InvalidArgument
    from tinyfuzz.science.mutants import load_suite, sample_programs, score

    if grammar is None and programs_path is None:
        raise InvalidArgument("nothing to score: give a GRAMMAR or --programs FILE")
    if json_output:
        check_writable(json_output)
    programs = sample_programs(grammar, count, seed=seed) if grammar else []
    if programs_path:
        programs += read_programs(programs_path)
    if not programs:
        raise InvalidArgument(f"{programs_path}: no programs in it")
    suite = load_suite()
    console = Console(stderr=True)
    with Progress(TextColumn("mutants decided"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=console, transient=True,
                  disable=not console.is_terminal) as bar:
        task = bar.add_task("mutants", total=len(suite))
        result = score(programs, workers=workers, mutants=suite,
                       on_result=lambda decided: bar.advance(task))
    source = " and ".join(filter(None, [grammar and f"{grammar} (-n {count}, seed {seed})",
                                        programs_path]))
    out = Console()
    table = Table(title=f"mutants killed by the programs of {source}")
    for column in ("section", "killed", "total", "%"):
        table.add_column(column, justify="left" if column == "section" else "right")
    for section, (killed, total) in result.sections().items():
        table.add_row(section, str(killed), str(total), f"{killed / total:.0%}")
    table.add_row("all", str(result.killed), str(len(result.results)), f"{result.kill_ratio:.0%}",
                  style="bold")
    out.print(table)
    survivors = [r for r in result.results if not r.killed]
    if survivors:
        out.print("surviving mutants (no program told them apart from CPython):")
        for r in survivors:
            reached = (f"reached by {r.programs_reached:,} programs" if r.programs_reached
                       else "reached by no program")
            out.print(f"  [bold]{r.mutant.id}[/] ({r.mutant.section}, {reached}): "
                      + escape(r.mutant.fault), highlight=False)
    broken = [r.mutant.id for r in result.results if r.transform_failures]
    if broken:
        console.print(f"[yellow]warning: the transforms of {', '.join(broken)} failed on some "
                      "programs (a fault of the suite, not counted)[/]")
    unfinished = [f"{r.mutant.id} ({r.unfinished})" for r in result.results if r.unfinished]
    if unfinished:
        console.print(f"[yellow]programs that timed out or crashed under a mutant (not counted as "
                      f"kills): {', '.join(unfinished)}[/]")
    excluded = ", ".join(f"{n:,} {why}" for why, n in result.excluded.most_common())
    out.print(f"killed {result.killed} of {len(result.results)} mutants "
              f"({result.kill_ratio:.1%}) with {result.programs_used:,} programs"
              + (f" ({excluded} excluded)" if excluded else "") + f" in {result.seconds:.1f} s",
              highlight=False)
    if json_output:
        with atomic_file(json_output) as file:
            json.dump({"grammar": grammar, "count": count if grammar else None, "seed": seed,
                       "programs": programs_path, **result.to_json()}, file, indent=1)
        console.print(f"wrote {json_output}")


# ---- the corpus ----------------------------------------------------------------------------------

_DB_OPTION = click.option("--db", default="tinyfuzz.sqlite", show_default=True,
                          help="The store: a SQLite file or a SQLAlchemy URL (postgresql+psycopg://, "
                               "mysql+pymysql://); the campaigns' store can hold the corpus too.")


@main.group()
def corpus() -> None:
    """The corpus: programs labelled correct (run cleanly on the reference) or incorrect (raise,
    or made a target disagree), each with the reference's output as its test case."""


def _print_counts(counts, what: str) -> None:
    click.echo(f"{what}: {counts['added']:,} added ({counts['correct']:,} correct, "
               f"{counts['incorrect']:,} incorrect), {counts['duplicates']:,} already there")


@corpus.command("import")
@click.argument("paths", nargs=-1, required=True)
@_DB_OPTION
@click.option("--grammar", default=None, help="Record the programs as this grammar's.")
@click.option("--reference", default="cpython", show_default=True, help="The target that labels.")
@click.option("--workers", type=click.IntRange(min=1), default=None)
@_user_errors
def corpus_import(paths, db, grammar, reference, workers) -> None:
    """Add programs from PATHS: .py files, directories of them, datasets of tinyfuzz generate
    (.jsonl or the text format), or campaign stores (.sqlite, URL: their findings, as incorrect).
    Each program is run on the reference in a worker process to label it."""
    from tinyfuzz.corpus.corpus import Corpus

    store = Corpus(db)
    for path in paths:
        _print_counts(store.import_path(path, grammar=grammar, reference=reference,
                                        workers=workers), path)


@corpus.command("generate")
@_DB_OPTION
@click.option("--grammar", default="python", show_default=True)
@click.option("--level", default=None, help="A @level of the grammar [default: all].")
@click.option("-n", "count", type=click.IntRange(min=1), default=1000, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--reference", default="cpython", show_default=True)
@_user_errors
def corpus_generate(db, grammar, level, count, seed, reference) -> None:
    """Add COUNT programs drawn from a grammar."""
    from tinyfuzz.corpus.corpus import Corpus

    _print_counts(Corpus(db).add_generated(grammar, count, seed=seed, level=level,
                                           reference=reference), grammar)


@corpus.command("mutate")
@_DB_OPTION
@click.option("--grammar", default="python", show_default=True,
              help="The grammar whose trees are mutated (corpus programs it cannot derive are skipped).")
@click.option("-n", "count", type=click.IntRange(min=1), default=1000, show_default=True)
@click.option("--operator", type=click.Choice(["regenerate", "point", "crossover"]), default=None,
              help="One operator only [default: each at random].")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--reference", default="cpython", show_default=True)
@_user_errors
def corpus_mutate(db, grammar, count, operator, seed, reference) -> None:
    """Add COUNT programs mutated and crossed over from the corpus's correct programs and the
    findings that ran cleanly on the reference."""
    from collections import Counter

    from tinyfuzz.corpus.corpus import Corpus
    from tinyfuzz.engine.mutate import MAX_PARENTS, Mutator, Parents
    from tinyfuzz.errors import InvalidArgument

    store = Corpus(db)
    mutator = Mutator(grammar, seed=seed)
    parents = Parents(mutator, *store.parents(mutator.grammar.name, limit=MAX_PARENTS, seed=seed))
    if not parents.sources:
        raise InvalidArgument(f"--db {db}: no correct programs of {grammar} to mutate (tinyfuzz "
                              f"corpus import or tinyfuzz corpus generate first)")
    made: dict[str, list] = {}
    failures = 0
    while sum(map(len, made.values())) < count and failures < 100:
        mutant = parents.offspring(operator)
        if mutant is None:  # parents the grammar does not derive, or nothing changed
            failures += 1
            continue
        # (its tree as JSON text at once: ~6 KB, where the tree in memory takes ~46)
        made.setdefault(mutant.operator, []).append((mutant.source, mutator.dump_tree(mutant.tree)))
    if not made:
        raise InvalidArgument(f"{grammar}: derives none of the {len(parents.sources)} correct "
                              f"programs of {db}; use the grammar they came from (--grammar)")
    totals: Counter = Counter()
    for op, mutants in sorted(made.items()):
        counts = store.add_sources([source for source, _ in mutants], origin=op,
                                   grammar=mutator.grammar.name, reference=reference,
                                   trees=[tree for _, tree in mutants])
        totals.update(counts)
        ran = counts["correct"] + counts["incorrect"]
        click.echo(f"{op}: {len(mutants):,} made, {counts['correct']:,} of {ran:,} new ones "
                   f"run cleanly")
    _print_counts(totals, "all")
    if parents.underivable:
        click.echo(f"{parents.underivable} parents skipped: {grammar} does not derive them")


@corpus.command("export")
@_DB_OPTION
@click.option("-o", "--output", required=True,
              help="A .jsonl file, or a directory (ending in /) of <label>/<digest>.py files.")
@click.option("--label", type=click.Choice(["correct", "incorrect"]), default=None)
@click.option("--grammar", default=None)
@_user_errors
def corpus_export(db, output, label, grammar) -> None:
    """Write the corpus (or one label, one grammar) out."""
    from tinyfuzz.corpus.corpus import Corpus

    click.echo(f"{Corpus(db).export(output, label=label, grammar=grammar):,} programs -> {output}")


@corpus.command("stats")
@_DB_OPTION
@_user_errors
def corpus_stats(db) -> None:
    """Programs by label, origin, grammar and reason."""
    from rich.console import Console
    from rich.table import Table

    from tinyfuzz.corpus.corpus import Corpus

    stats = Corpus(db).stats()
    console = Console()
    console.print(f"{stats['programs']:,} programs, {stats['mean_lines']:.1f} lines on average")
    for key in ("label", "origin", "grammar", "reason"):
        if stats[key]:
            table = Table(key, "programs")
            for name, number in list(stats[key].items())[:15]:
                table.add_row(name, f"{number:,}")
            console.print(table)


_THREADS_OPTION = click.option(
    "--threads", type=click.IntRange(min=1), default=1, show_default=True,
    help="PyTorch threads: a model this small gains little from more, and on a busy machine "
         "more are slower.")


@main.command("learn")
@click.option("--corpus", "db", default=None,
              help="Learn from the correct programs of this corpus (a SQLite file or a SQLAlchemy URL).")
@click.option("--grammar", default=None, help="Only the corpus's programs of this grammar.")
@click.option("--from", "files", multiple=True, type=click.Path(exists=True),
              help="Learn from the programs of a file: tinyfuzz generate output (.jsonl or the "
                   "text format), a .py file or a directory of them. Repeatable.")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="The model file to write; it appears only once complete.")
@click.option("--trials", type=click.IntRange(min=0), default=0, show_default=True,
              help="Optuna TPE trials over units, layers, learning rate and batch size, a few "
                   "epochs each, before the best configuration is trained (0: the defaults).")
@click.option("--epochs", type=click.IntRange(min=1), default=20, show_default=True,
              help="At most this many epochs; training stops sooner when the validation loss "
                   "stops improving.")
@click.option("--seed", type=int, default=0, show_default=True,
              help="The same programs and seed give the same model.")
@_THREADS_OPTION
@_user_errors
def learn_command(db, grammar, files, output, trials, epochs, seed, threads) -> None:
    """Train an LSTM language model of programs for tinyfuzz sample (needs the learn extra:
    pip install 'tinyfuzz[learn]')."""
    from tinyfuzz._internal.files import check_writable
    from tinyfuzz.corpus.corpus import Corpus
    from tinyfuzz.corpus.formats import read_programs
    from tinyfuzz.errors import InvalidArgument
    from tinyfuzz.learn import lstm as learn

    if not db and not files:
        raise InvalidArgument("nothing to learn from: give --corpus DB or --from FILE")
    if grammar and not db:
        raise InvalidArgument(f"--grammar {grammar} selects corpus programs: it needs --corpus DB")
    corpus = Corpus(db, existing=True) if db else None
    check_writable(output)
    learn.use_threads(threads)
    programs = corpus.sources(label="correct", grammar=grammar) if corpus else []
    for file in files:
        programs.extend(read_programs(file))

    def on_trial(row: dict) -> None:
        click.echo(f"trial {row['trial']}: {learn.describe(row)}: validation loss "
                   f"{row['validation_loss']:.3f} ({row['seconds']:.1f} s)", err=True)

    def on_epoch(row: dict) -> None:
        click.echo(f"epoch {row['epoch']}: training loss {row['training_loss']:.3f}, validation "
                   f"loss {row['validation_loss']:.3f} ({row['seconds']:.1f} s)", err=True)

    config = learn.Config(epochs=epochs)
    if trials:
        model = learn.search(programs, trials, config=config, seed=seed, on_trial=on_trial,
                             on_epoch=on_epoch)
        click.echo(f"best of {trials} trials: {learn.describe(model.config)}", err=True)
    else:
        model = learn.train(programs, config, seed=seed, on_epoch=on_epoch)
    model.save(output)
    click.echo(model.summary(), err=True)
    click.echo(f"wrote {output}", err=True)


@main.command("sample")
@click.argument("model_file", metavar="MODEL", type=click.Path(dir_okay=False))
@click.option("-n", "count", type=click.IntRange(min=1), default=100, show_default=True,
              help="Programs to draw.")
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None,
              help="Write the valid programs here as JSON lines (code, output).")
@click.option("--corpus", "db", default=None,
              help="Add the valid programs to this corpus, with origin 'learned'.")
@click.option("--temperature", type=click.FloatRange(min=0, min_open=True), default=1.0,
              show_default=True, help="Below 1: safer, more alike programs; above 1: more varied, "
                                      "fewer valid.")
@click.option("--seed", type=int, default=0, show_default=True,
              help="The same model and seed draw the same programs.")
@click.option("--reference", default="cpython", show_default=True,
              help="The target the programs must run cleanly on.")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="Worker processes that run the programs [default: one per core].")
@_THREADS_OPTION
@_user_errors
def sample_command(model_file, count, output, db, temperature, seed, reference, workers,
                   threads) -> None:
    """Draw programs from MODEL (written by tinyfuzz learn), keep the distinct ones that compile
    and run cleanly on the reference, and write them to --output, add them to --corpus, or print
    them. Prints the validity rate and the novelty (share not in the training corpus)."""
    from tinyfuzz._internal.files import atomic_file, check_writable
    from tinyfuzz.corpus.corpus import Corpus
    from tinyfuzz.corpus.formats import jsonl_record
    from tinyfuzz.learn import lstm as learn

    if output:
        check_writable(output)
    learn.use_threads(threads)
    model = learn.Model.load(model_file)
    report = learn.sample(model, count, temperature=temperature, seed=seed, reference=reference,
                          workers=workers)
    click.echo(report.summary(), err=True)
    if output:
        with atomic_file(output) as out:
            out.writelines(jsonl_record(code, stdout) for code, stdout in report.programs)
        click.echo(f"wrote {len(report.programs):,} programs to {output}", err=True)
    if db:
        counts = Corpus(db).add_sources([code for code, _ in report.programs], origin="learned",
                                        reference=reference, workers=workers)
        _print_counts(counts, f"corpus {db}")
    if not output and not db:
        click.echo("\n".join(code for code, _ in report.programs), nl=False)


if __name__ == "__main__":
    main()
