"""The operator's one exception hierarchy.

Each class says both what went wrong and whether kopf retries: a spec that can never work is a
``kopf.PermanentError`` (reported in status, not retried); an API server hiccup or a dependency
that is not there yet is a ``kopf.TemporaryError`` (retried after ``delay`` seconds).
"""

from __future__ import annotations

import kopf


class OperatorError(Exception):
    """Base class of every error the operator raises on purpose."""

    reason: str = "Error"
    """A CamelCase machine reason, used for conditions and Kubernetes events."""


class InvalidSpecError(OperatorError, kopf.PermanentError):
    """The resource's spec cannot work, whatever the cluster does; fix the spec."""

    reason = "InvalidSpec"


class DependencyNotReadyError(OperatorError, kopf.TemporaryError):
    """Something this resource needs (an index, a Secret) is not there or not ready yet."""

    reason = "DependencyNotReady"

    def __init__(self, message: str, delay: float = 15.0) -> None:
        super().__init__(message, delay=delay)


class KubernetesError(OperatorError, kopf.TemporaryError):
    """The Kubernetes API answered with an error worth retrying (conflict, 5xx, timeout)."""

    reason = "KubernetesError"

    def __init__(self, message: str, status: int | None = None, delay: float = 10.0) -> None:
        super().__init__(message, delay=delay)
        self.status = status


class KubernetesRejectedError(OperatorError, kopf.PermanentError):
    """The API server refused an object the operator built (422): retrying cannot help."""

    reason = "Rejected"

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class ChartRenderError(OperatorError, kopf.TemporaryError):
    """``helm template`` failed or could not run (no binary, no chart): retried, as a fix to
    the operator's installation needs no change to the index."""

    reason = "ChartRenderFailed"

    def __init__(self, message: str, delay: float = 30.0) -> None:
        super().__init__(message, delay=delay)
