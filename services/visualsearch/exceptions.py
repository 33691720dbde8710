"""Errors of visual-search: each carries its HTTP status and a machine-readable code.

Storage adapters turn library errors (psycopg, redis, minio, qdrant, PIL) into these at their
boundary; one FastAPI handler (``handlers.errors``) turns them into JSON answers.
"""

from __future__ import annotations


class VisualSearchError(Exception):
    """Base class: ``status_code`` and ``code`` decide the HTTP answer."""

    status_code = 500
    code = "internal_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InputError(VisualSearchError):
    """The request can never succeed as sent."""

    status_code = 400
    code = "invalid_input"


class InvalidImageError(InputError):
    """The upload is not a decodable image (corrupt, truncated, empty)."""

    code = "invalid_image"


class UnsupportedMediaError(InputError):
    """The upload is a file type we do not accept."""

    status_code = 415
    code = "unsupported_media_type"


class ImageTooLargeError(InputError):
    """The upload exceeds the byte limit, or its pixel count (a decompression bomb)."""

    status_code = 413
    code = "payload_too_large"


class TextSearchUnavailableError(InputError):
    """The index's model has no text tower."""

    code = "text_search_unavailable"


class ValidationError(InputError):
    """A field value is out of range."""

    status_code = 422
    code = "validation_error"


class NotFoundError(VisualSearchError):
    status_code = 404
    code = "not_found"


class AuthenticationError(VisualSearchError):
    status_code = 401
    code = "unauthorized"


class RateLimitedError(VisualSearchError):
    status_code = 429
    code = "rate_limited"

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ModelMismatchError(VisualSearchError):
    """The vector index was built with another model: re-index, never mix vectors."""

    status_code = 409
    code = "model_mismatch"


class ModelLoadError(VisualSearchError):
    """The configured model cannot be loaded."""

    code = "model_load_failed"


class StoreUnavailableError(VisualSearchError):
    """A backing store (PostgreSQL, Qdrant, S3, Redis, the embedder) cannot be reached."""

    status_code = 503
    code = "store_unavailable"

    def __init__(self, store: str, detail: str) -> None:
        super().__init__(f"The {store} is unavailable right now; try again shortly. ({detail})")
        self.store = store
