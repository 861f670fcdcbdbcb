"""Benchmarks and data generators (``make bench``); never part of ``make test``."""
