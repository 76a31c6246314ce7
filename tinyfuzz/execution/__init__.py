"""Execution: warm worker processes and their runners, target files, the oracle, the differential
pair, findings and the crash store, the AST-aware reducer. Builds on ``grammar`` and ``engine``.
"""
