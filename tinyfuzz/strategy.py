"""Grammars compiled into Hypothesis strategies: ``from_grammar``, and ``from_corpus`` (mutants and
offspring of a corpus's programs, made by ``engine/mutate.py``).

Every choice of the derivation engine (which alternative, which bound name) is one
``st.integers(0, n - 1)`` draw, and every expansion of a rule is a nested draw (a Hypothesis span,
one strategy object per rule). Hypothesis records, replays and shrinks programs through these
choices: alternatives are ordered cheapest first, so shrinking a choice toward 0 moves toward the
simplest program, and the spans let its shrinker lower a branch choice and re-randomise just that
subtree (``reduce_each_alternative``), replace a subtree by a descendant of the same rule, or by its
simplest form. Only public Hypothesis APIs are used.

Measured on planted properties (``bench/strategy_speed.py``): one ``st.binary`` buffer read byte by
byte draws ~4x faster but shrinks "prints a negative number" to 2 lines in 1 of 8 seeds; integer
choices without spans in 2 of 8; integer choices with spans in 6 of 8, so shrinking wins.
"""

from __future__ import annotations

import math
from functools import lru_cache
from pathlib import Path

from hypothesis import strategies as st

from tinyfuzz.engine.derivation import CompiledGrammar, Infeasible, Program, check_budget, derive, program_from
from tinyfuzz.engine.sampler import DEFAULT_MAX_SIZE
from tinyfuzz.errors import InvalidArgument
from tinyfuzz.grammar.load import load_grammar
from tinyfuzz.grammar.model import Grammar


@lru_cache(maxsize=None)
def _choice(n: int) -> st.SearchStrategy[int]:
    return st.integers(0, n - 1)


@lru_cache(maxsize=512)
def _compiled(grammar: Grammar, excluded: frozenset, python_version):
    compiled = CompiledGrammar(grammar, exclude_features=excluded, python_version=python_version)
    return compiled, compiled.expanders()


def from_grammar(grammar: Grammar | str | Path = "tinypy", *, start: str | None = None,
                 level: str | None = None, max_size: int = DEFAULT_MAX_SIZE,
                 max_depth: int | None = None, swarm: bool = False,
                 exclude_features=(), python_version: tuple | None = None
                 ) -> st.SearchStrategy[Program]:
    """A strategy of ``Program``s (source, grammar, level, features) derived from a grammar.

    ``grammar``: a ``Grammar``, a bundled name (``tinypy``) or a path to a ``.bnf`` file.
    ``start``: a rule to start from instead of the grammar's start rule; ``level``: a ``@level``.
    ``max_size``: the size budget, in rule expansions; every derivation stays within it.
    ``max_depth``: the nesting of rule expansions past which only each rule's cheapest alternatives
    are chosen (so the derivation closes off quickly); None for no limit besides ``max_size``.
    ``swarm``: each example disables a random subset of the grammar's ``@feature``s (swarm testing),
    so rare constructs come densely in some examples; shrinking re-enables them.
    ``exclude_features``: features never used; ``python_version``: skip ``@since`` newer ones.
    """
    loaded = load_grammar(grammar)
    if start is not None and level is not None:
        raise InvalidArgument(f"start={start!r} and level={level!r}: give one or the other")
    if not isinstance(max_size, int) or max_size < 1:
        raise InvalidArgument(f"max_size={max_size!r}: must be a positive int (rule expansions)")
    if max_depth is not None and (not isinstance(max_depth, int) or max_depth < 1):
        raise InvalidArgument(f"max_depth={max_depth!r}: must be a positive int or None")
    if start is not None and start.strip("<>") not in loaded.rules:
        raise InvalidArgument(f"start={start!r} is not a rule of {loaded.path}; its start rule is "
                              f"<{loaded.start}>")
    rule = start.strip("<>") if start is not None else loaded.start_for(level)
    excluded = frozenset(exclude_features)
    version = tuple(python_version)[:2] if python_version is not None else None
    compiled, all_rules = _compiled(loaded, excluded, version)  # validates features and start
    start_index = compiled.rule_index(rule)
    check_budget(compiled, start_index, max_size)
    depth_limit = max_depth if max_depth is not None else math.inf
    optional = sorted(set(compiled.semantics.feature_names()) - excluded) if swarm else []
    default_level = level or ("all" if start is None else rule)

    @st.composite
    def programs(draw) -> Program:
        disabled = excluded
        if optional:
            disabled = excluded | draw(st.frozensets(st.sampled_from(optional)))
        try:
            compiled_now, rules = _compiled(loaded, disabled, version)
            index = compiled_now.rule_index(rule)
        except InvalidArgument:  # this subset leaves nothing to derive: use the full grammar
            compiled_now, rules, index = compiled, all_rules, start_index
        choose = lambda n: draw(_choice(n))  # noqa: E731
        try:
            derivation = derive(compiled_now, rules, index, choose, max_size, draw, depth_limit)
        except Infeasible:
            from hypothesis import reject

            reject()
        return program_from(derivation, loaded.name, default_level)

    return programs()


def from_corpus(corpus, grammar: Grammar | str | Path = "python", *, operator: str | None = None,
                level: str | None = None, python_version: tuple | None = None
                ) -> st.SearchStrategy[Program]:
    """A strategy of programs mutated and crossed over from a corpus's programs (its correct ones
    and the findings that ran cleanly on the reference; ``engine/mutate.py``): a subtree derived afresh,
    a terminal redrawn, or a subtree taken from another program, all through the grammar's
    semantic layer, so they stay valid like generated programs.

    ``corpus``: a store (path or URL of ``tinyfuzz corpus``) or a list of program texts; only
    programs ``grammar`` derives are used (their trees are made when first drawn). ``operator``:
    regenerate, point or crossover (default: each at random). Every choice is a Hypothesis draw,
    so examples replay from the database and shrink toward the first parent and simpler subtrees.
    """
    from tinyfuzz.engine.mutate import MAX_PARENTS, OPERATORS, Mutator, Parents

    if operator is not None and operator not in OPERATORS:
        raise InvalidArgument(f"operator={operator!r}: must be one of {', '.join(OPERATORS)} or None")
    if isinstance(corpus, (str, Path)):
        from tinyfuzz.corpus.corpus import Corpus

        store = Corpus(corpus, existing=True)
        sources, trees = store.parents(load_grammar(grammar).name, limit=MAX_PARENTS)
        store.close()
    else:
        sources, trees = list(corpus), None
    if not sources:
        raise InvalidArgument(f"from_corpus({corpus!r}): no correct programs to mutate")
    version = tuple(python_version)[:2] if python_version is not None else None
    parents = Parents(Mutator(grammar, level=level, python_version=version), sources, trees)

    @st.composite
    def offspring(draw) -> Program:
        parents.mutator.choose = lambda n: draw(_choice(n)) if n > 1 else 0
        mutant = parents.offspring(operator)
        if mutant is None:
            if parents.underivable == len(sources):  # every program tried, none derivable
                raise InvalidArgument(f"from_corpus: {grammar} derives none of the "
                                      f"{len(sources)} programs")
            from hypothesis import reject

            reject()
        return mutant.program

    return offspring()
