"""Benchmarks that measure pyvolsync against the bare tools it wraps, side by side in one run.

Run them from the repository root (``make bench``); they reuse the demo's manifest and volume
helpers (``demo/``) and write JSON next to them under ``bench/results/`` (git-ignored).
"""
