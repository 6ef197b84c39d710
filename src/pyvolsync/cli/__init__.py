"""The ``pyvolsync`` command line: the operator's entry point and the user's tools."""
