"""The derivation engine: grammars compiled to code, derivation state, the seeded sampler, guides,
syntax trees, mutation and crossover. Builds on ``grammar``; runs nothing.
"""
