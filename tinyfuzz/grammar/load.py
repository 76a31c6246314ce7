"""``load_grammar``: a grammar by bundled name, by path (``.bnf`` or ``.lark``) or ``lark:NAME``.

Memoized by what the argument resolves to (the file's path and its modification stamp), so every
cache keyed by grammar identity downstream (compiled grammars, parsers) hits whether a caller passes
a name, a path or the loaded grammar, and an edited grammar file is read again.
"""

from __future__ import annotations

from pathlib import Path

from tinyfuzz._internal.files import FileMemo, read_text
from tinyfuzz.grammar.bnf import parse_bnf
from tinyfuzz.grammar.model import Grammar

_LOADED = FileMemo()


def load_grammar(name_or_path: str | Path | Grammar) -> Grammar:
    """Load a grammar by bundled name (``tinypy``, ``python``), by path to a ``.bnf`` file, or a
    Lark grammar: a ``.lark`` path or ``lark:python`` (``tinyfuzz.grammar.lark_loader``). A name
    is the bundled grammar unless it is a path to a file (a folder ``tinypy`` here is not)."""
    if isinstance(name_or_path, Grammar):
        return name_or_path
    if str(name_or_path).startswith("lark:") or str(name_or_path).endswith(".lark"):
        from tinyfuzz.grammar.lark_loader import load_lark_grammar

        return load_lark_grammar(name_or_path)
    from tinyfuzz._internal.data import bundled_grammar_path

    path = Path(name_or_path)
    if not path.suffix and not path.is_file():
        path = bundled_grammar_path(str(name_or_path))
    if not path.is_file():
        from tinyfuzz._internal.data import bundled_grammar_names
        from tinyfuzz.errors import InvalidArgument

        raise InvalidArgument(
            f"grammar {str(name_or_path)!r} not found: give a path to a .bnf file or one of the "
            f"bundled grammars: {', '.join(bundled_grammar_names())}")
    return _LOADED.get(path, lambda: parse_bnf(read_text(path), str(path)))
