"""Helpers shared by test suites that run the real operator on the local cluster."""
