"""Benchmarks: ``python benchmarks/bench.py`` (see benchmarks/RESULTS.md)."""
