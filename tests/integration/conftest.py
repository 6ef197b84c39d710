"""Integration tests run against the session's local cluster (tests/conftest.py; see
docs/localcluster.md)."""
