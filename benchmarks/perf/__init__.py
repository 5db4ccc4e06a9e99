"""Benchmark scripts: speed and memory measured as ratios within one run (never in unit tests)."""
