"""Benchmarks: midigen against its peers, measured in the same run, printed as ratios."""
