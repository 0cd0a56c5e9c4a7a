"""The writer interface: a writer turns an ``Analysis`` (facts) into a ``Draft`` for a purpose.

Writers: builtin (offline, from facts), llm / vlm (OpenAI-compatible chat server),
captioner (transformers BLIP / Florence-2).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

from ..errors import OculaError
from ..results import Analysis
from ..vocabulary import Language, Length, Purpose, Tone

if TYPE_CHECKING:
    from ..image import LoadedImage



class DescribeRequest(BaseModel):
    """What to write: purpose, language, length, tone and optional context from the user."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    purpose: Purpose = "alt"
    language: Language = "en"
    length: Length = "medium"
    tone: Tone = "neutral"
    context: str | None = None


class Draft(BaseModel):
    """What a writer returns; describe() wraps it into a ``Description`` result."""

    model_config = ConfigDict(extra="forbid")

    text: str
    title: str | None = None                                 # product
    bullets: list[str] = Field(default_factory=list)         # product
    hashtags: list[str] = Field(default_factory=list)        # social
    tags: list[str] = Field(default_factory=list)            # tags purpose (also others when cheap)
    confidence: float = Field(ge=0, le=1)
    warnings: list[str] = Field(default_factory=list)


@runtime_checkable
class Writer(Protocol):
    name: str

    def write(self, facts: Analysis, request: DescribeRequest, image: "LoadedImage | None") -> Draft: ...


class WriterError(OculaError):
    """An llm/vlm/captioner writer could not produce a valid draft; describe() falls back to
    the builtin writer with a warning, except when the server is unreachable and the user
    asked for that writer explicitly in a single-image call (then this is the one error)."""


class WriterUnavailable(WriterError):
    """The writer cannot work at all in this configuration: its server is down (connection
    refused), the model is not on the server, the API key is refused. describe() raises this
    one as is for an explicit single-image request instead of falling back (addition to
    so that describe() can tell this case apart from a bad answer)."""
