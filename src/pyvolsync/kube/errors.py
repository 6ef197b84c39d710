"""The few API failures the operator tells apart, as a small error tree.

    KubeError
    ├── NotFoundError        the object does not exist (often fine: create it, or it is gone)
    ├── ConflictError        stale resourceVersion or the object exists already
    ├── ApiFailureError      anything else; ``retriable`` says whether trying later may help
    └── ConfigurationError   no usable kubeconfig (file, context) to talk to a cluster with

Messages carry the API server's message, which never holds a Secret's data.
"""

from __future__ import annotations


class KubeError(Exception):
    """A call to the Kubernetes API failed."""

    def __init__(self, message: str, *, code: int = 0) -> None:
        super().__init__(message)
        self.code = code


class NotFoundError(KubeError):
    """The object (or its kind) does not exist."""


class ConflictError(KubeError):
    """The object changed since it was read, or already exists."""


class ApiFailureError(KubeError):
    """Any other failure."""

    @property
    def retriable(self) -> bool:
        """Return True for failures that may go away: throttling, timeouts, server errors."""
        return self.code in (0, 408, 425, 429) or self.code >= 500


class ConfigurationError(KubeError):
    """No cluster to talk to: the kubeconfig or its context is missing or unusable."""


def from_status(code: int, message: str) -> KubeError:
    """Return the error for an HTTP status code and the API server's message."""
    if code == 404:
        return NotFoundError(message, code=code)
    if code == 409:
        return ConflictError(message, code=code)
    return ApiFailureError(message, code=code)
