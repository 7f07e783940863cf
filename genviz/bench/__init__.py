"""Benchmarks that print figures (JSON lines); not timed tests."""
