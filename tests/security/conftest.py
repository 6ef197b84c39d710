"""The security checks run on the session's local cluster (tests/conftest.py), where the secret
scan, marked ``@pytest.mark.last``, runs after every other test of the session."""
