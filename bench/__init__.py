"""Benchmarks: `python -m bench.<name>` from the project root (see docs/benchmarks.md)."""
