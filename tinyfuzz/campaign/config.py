"""What makes a campaign: its configuration and its budget.

A campaign is its configuration (targets, reference, grammar, level, seed, batch size, swarm): the
same command on the same database is the same campaign, and running it again resumes it. Batch
``i`` is fully determined by the configuration and ``i`` (its seed, its swarm subset of grammar
features), so a campaign is the set of batch indices already recorded and nothing else needs saving.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tinyfuzz.engine.sampler import DEFAULT_MAX_SIZE
from tinyfuzz.errors import InvalidArgument


@dataclass(frozen=True)
class CampaignConfig:
    """What makes a campaign: the same values, the same campaign (and the same programs)."""

    targets: tuple  # target specs: bundled names or .toml paths
    reference: str = "cpython"
    grammar: str = "python"
    level: str | None = None
    seed: int = 0
    batch_size: int = 200
    swarm: bool = True
    max_size: int = DEFAULT_MAX_SIZE
    coverage_guided: bool = False  # prefer alternatives the campaign has not used yet
    corpus: str | None = None  # a corpus store: its programs are mutated, the findings added
    mutate: float = 0.0  # the share of each batch made that way (mutate.py), the rest generated

    def __post_init__(self):
        if not 0.0 <= self.mutate <= 1.0:
            raise InvalidArgument(f"--mutate {self.mutate}: a share of each batch, from 0 to 1")
        if self.mutate and not self.corpus:
            raise InvalidArgument(f"--mutate {self.mutate}: needs --corpus DB, the programs to mutate")

    def as_dict(self) -> dict:
        config = {"targets": list(self.targets), "reference": self.reference,
                  "grammar": self.grammar, "level": self.level, "seed": self.seed,
                  "batch_size": self.batch_size, "swarm": self.swarm, "max_size": self.max_size,
                  "coverage_guided": self.coverage_guided}
        if self.mutate:  # only then: campaigns recorded before these keys keep their identity
            config.update(corpus=self.corpus, mutate=self.mutate)
        return config


@dataclass(frozen=True)
class Budget:
    seconds: float | None = None
    programs: int | None = None

    def __str__(self) -> str:
        return f"{self.programs} programs" if self.programs is not None else f"{self.seconds:g} s"


_TIME_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_budget(text: str) -> Budget:
    """``8h``, ``90m``, ``30s``, ``2d``: active time; ``50000`` or ``50k``: programs."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhdk]?)\s*", text)
    if not match or (match.group(2) in ("", "k") and "." in match.group(1)):
        raise InvalidArgument(f"--budget {text!r}: use a time (30s, 90m, 8h, 2d) or a number of "
                              "programs (50000, 50k)")
    number, unit = match.groups()
    if unit in _TIME_UNITS:
        return Budget(seconds=float(number) * _TIME_UNITS[unit])
    return Budget(programs=int(number) * (1000 if unit == "k" else 1))
