"""The grammar wing: the model, its readers (BNF, Lark), ``load_grammar``, the semantic layer
and grammars as Earley parsers. Imports nothing of tinyfuzz but ``errors`` and ``_internal``.
"""
