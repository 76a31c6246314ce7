"""Grammar science: coverage listings and k-paths, grammar-diff by cross-parsing, grammar flaws.
A leaf wing: only the CLI imports it.
"""
