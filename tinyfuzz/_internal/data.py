"""Where the bundled grammars and targets live: inside the wheel, or beside the package in a checkout."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent.parent


def data_dir(kind: str) -> Path:
    """``kind`` is ``strategies`` or ``targets``."""
    installed = _PACKAGE / "_data" / kind  # wheel: force-included by pyproject.toml
    if installed.is_dir():
        return installed
    return _PACKAGE.parent / kind  # source checkout or editable install


def bundled_grammar_names() -> list[str]:
    return sorted(p.stem for p in data_dir("strategies").glob("*.bnf"))


def bundled_grammar_path(name: str) -> Path:
    return data_dir("strategies") / f"{name}.bnf"
