"""tinyfuzz: grammar-driven differential fuzzing and dataset generation for Python implementations.

The public API: ``from_grammar`` and ``from_corpus`` (Hypothesis strategies), ``generate_dataset`` (the dataset job),
``load_grammar``/``parse_bnf`` (grammars), ``Sampler`` (fast seeded programs), and the error types.
Imports are lazy so that ``import tinyfuzz`` stays cheap (a pytest plugin will import it at load).
"""

from tinyfuzz.errors import GrammarError, InvalidArgument, TargetError, TinyfuzzError

__version__ = "0.1.0"

__all__ = ["from_grammar", "from_corpus", "generate_dataset", "load_grammar", "parse_bnf", "Sampler", "Program",
           "GrammarError", "InvalidArgument", "TargetError", "TinyfuzzError"]

_LAZY = {
    "from_grammar": "tinyfuzz.strategy",
    "from_corpus": "tinyfuzz.strategy",
    "generate_dataset": "tinyfuzz.dataset",
    "load_grammar": "tinyfuzz.grammar",
    "parse_bnf": "tinyfuzz.grammar",
    "Sampler": "tinyfuzz.sampler",
    "Program": "tinyfuzz.derivation",
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'tinyfuzz' has no attribute {name!r}")
