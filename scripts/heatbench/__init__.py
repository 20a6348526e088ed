"""The benchmark of the heat role (scripts/benchmark.py is its entry point and documentation)."""
