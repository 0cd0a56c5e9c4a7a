"""Errors as RFC 9457 problem details (application/problem+json). Never a stack trace:
unexpected errors are logged on the server with an id the client can quote."""

from __future__ import annotations

import logging
import os
import uuid
from http import HTTPStatus
from typing import Any

from pydantic import BaseModel, Field

log = logging.getLogger("ocula.serve")
MEDIA_TYPE = "application/problem+json"
# The server's file layout is not the client's business: the absolute paths of the folders it
# shares, its index and its OCULA_HOME are replaced by short names in every problem built from
# an exception (the operator sees the original in the server log).
_PRIVATE: dict[str, str] = {}


def hide_paths(paths: dict[str, str]) -> None:
    """Register server paths (absolute path -> what clients see instead)."""
    _PRIVATE.update({os.path.abspath(os.path.expanduser(str(k))): v for k, v in paths.items() if str(k)})


def scrub(text: str) -> str:
    for path in sorted(_PRIVATE, key=len, reverse=True):  # the longest first: a folder inside home
        if path in text:
            text = text.replace(path, _PRIVATE[path])
    return text


class ProblemDetails(BaseModel):
    type: str = Field("about:blank", description="a URI naming the kind of problem")
    title: str = Field(description="short summary of the kind of problem")
    status: int
    detail: str = Field("", description="what went wrong with this request and, where there is one, the fix")
    instance: str | None = Field(None, description="the request path")
    errors: list[dict[str, Any]] | None = Field(None, description="each invalid field, for 422 on options")


class Problem(Exception):
    """Raise anywhere in a request to answer with a problem document."""

    def __init__(self, status: int, detail: str = "", *, title: str | None = None,
                 headers: dict[str, str] | None = None, errors: list[dict[str, Any]] | None = None):
        self.status = status
        self.title = title or HTTPStatus(status).phrase
        self.detail = detail
        self.headers = headers or {}
        self.errors = errors
        super().__init__(f"{status} {self.title}: {detail}")

    def body(self, instance: str | None = None) -> dict[str, Any]:
        doc = ProblemDetails(title=self.title, status=self.status, detail=self.detail, instance=instance,
                             errors=self.errors)
        return doc.model_dump(exclude_none=True)


def _status_of(exc: BaseException) -> tuple[int, str]:
    """HTTP status and title for an ocula error (imported lazily: errors module is tiny anyway)."""
    from ..errors import (InvalidArgument, InvalidImage, MissingDependency, ModelUnavailable, OculaError,
                          OfflineError, UnknownModel)

    status = getattr(exc, "status", None)
    if isinstance(status, int) and 400 <= status < 600:  # UrlRefused carries its own
        return status, HTTPStatus(status).phrase
    if isinstance(exc, InvalidImage):
        return 422, "Invalid image"
    if isinstance(exc, (InvalidArgument, UnknownModel)):
        return 422, "Invalid option"
    if isinstance(exc, (ModelUnavailable, MissingDependency, OfflineError)):
        return 503, "Model unavailable"
    if type(exc).__name__ == "WriterUnavailable":
        return 503, "Writer unavailable"
    if isinstance(exc, OculaError):
        return 422, "Cannot process"
    return 500, "Internal Server Error"


def from_exception(exc: BaseException) -> Problem:
    """The problem to answer for any exception raised by a task."""
    if isinstance(exc, Problem):
        return exc
    status, title = _status_of(exc)
    if status == 500:
        ref = uuid.uuid4().hex[:12]
        log.error("internal error %s", ref, exc_info=exc)
        return Problem(500, f"an unexpected error happened on the server (reference {ref}); "
                            "the server log has the details", title=title)
    detail = str(exc)
    if hasattr(exc, "source") and hasattr(exc, "reason"):  # InvalidImage: the upload's name is noise
        detail = f"{exc.source}: {exc.reason}" if exc.source not in ("", "<bytes>", "image") else exc.reason
    public = scrub(detail)
    if public != detail:
        log.info("answered %s: %s", status, detail)
    # the library names its environment settings; a client can only change what it sends
    detail = public.replace("(OCULA_MAX_PIXELS)", "(the server's --max-megapixels)") \
                   .replace("(OCULA_MAX_BYTES)", "(the server's --max-request-mb)")
    return Problem(status, detail, title=title)


def responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the error codes a route may answer."""
    return {c: {"model": ProblemDetails, "description": HTTPStatus(c).phrase,
                "content": {MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/ProblemDetails"}}}}
            for c in codes}
