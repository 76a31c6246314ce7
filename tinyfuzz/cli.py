"""The ``tinyfuzz`` command line. Errors a user can act on print one message and exit with code 2."""

from __future__ import annotations

import sys
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
@click.option("--grammar", default="tinypy", show_default=True,
              help="A bundled grammar name or a path to a .bnf file.")
@click.option("--level", default="all", show_default=True,
              help="Complexity level: a @level of the grammar (tinypy: 1.1 1.2 2.1 2.2 3.1 3.2) or all.")
@click.option("--seed", type=int, default=0, show_default=True, help="The same seed gives the same file.")
@click.option("-o", "--output", required=True, type=click.Path(),
              help="File to write; it appears only once complete.")
@click.option("--format", "fmt", type=click.Choice(["text", "jsonl"]), default="text", show_default=True,
              help="text: the paper's format (program, '# output', '# <line>'); jsonl: one object a line.")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="Worker processes that run the programs [default: one per core].")
@click.option("--quiet", is_flag=True, help="No progress bar or summary.")
@_user_errors
def generate(count, grammar, level, seed, output, fmt, workers, quiet) -> None:
    """Generate a dataset of programs with their outputs (the TinyPy generator, arXiv 2403.06503)."""
    from tinyfuzz.dataset import generate_dataset
    from tinyfuzz.grammar import load_grammar

    loaded = load_grammar(grammar)  # fail on a bad grammar or level before any worker starts
    loaded.start_for(level)
    if quiet:
        generate_dataset(count, output, grammar=loaded, level=level, seed=seed, fmt=fmt,
                         workers=workers)
        return
    from rich.console import Console
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                               TimeElapsedColumn, TimeRemainingColumn)

    console = Console(stderr=True)
    with Progress(TextColumn("generating"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  TimeRemainingColumn(), console=console, transient=True,
                  disable=not console.is_terminal) as bar:
        task = bar.add_task("generate", total=count)
        summary = generate_dataset(count, output, grammar=loaded, level=level, seed=seed, fmt=fmt,
                                   workers=workers,
                                   progress=lambda written: bar.update(task, completed=written))
    _print_summary(console, summary)


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


if __name__ == "__main__":
    main()
