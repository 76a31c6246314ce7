"""tinyfuzz: grammar-driven differential fuzzing and dataset generation for Python implementations.

The public API: ``from_grammar`` and ``from_corpus`` (Hypothesis strategies), ``generate_dataset`` (the dataset job),
``load_grammar``/``parse_bnf`` (grammars), ``Sampler`` (fast seeded programs), and the error types.
Imports are lazy so that ``import tinyfuzz`` stays cheap (a pytest plugin will import it at load).
"""

from tinyfuzz._internal.version import __version__ as __version__  # re-exported
from tinyfuzz.errors import GrammarError, InvalidArgument, TargetError, TinyfuzzError

__all__ = ["from_grammar", "from_corpus", "generate_dataset", "load_grammar", "parse_bnf", "Sampler", "Program",
           "GrammarError", "InvalidArgument", "TargetError", "TinyfuzzError"]

_LAZY = {
    "from_grammar": "tinyfuzz.strategy",
    "from_corpus": "tinyfuzz.strategy",
    "generate_dataset": "tinyfuzz.corpus.dataset",
    "load_grammar": "tinyfuzz.grammar.load",
    "parse_bnf": "tinyfuzz.grammar.bnf",
    "Sampler": "tinyfuzz.engine.sampler",
    "Program": "tinyfuzz.engine.derivation",
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'tinyfuzz' has no attribute {name!r}")
