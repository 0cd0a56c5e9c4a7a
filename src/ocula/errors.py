"""Errors that teach: each names what went wrong and, where there is one, the fix."""

from __future__ import annotations


class OculaError(Exception):
    """Base of every error ocula raises on purpose. The CLI prints it as one line."""


class InvalidImage(OculaError):
    """An input could not be used as an image: missing, empty, corrupt, too big, wrong type."""

    def __init__(self, source: str, reason: str):
        self.source = source
        self.reason = " ".join(str(reason).split())  # one line, whatever a decoder said
        super().__init__(f"{source}: {self.reason}")


class UnknownModel(OculaError):
    def __init__(self, name: str, valid: list[str], task: str | None = None):
        self.name = name
        self.valid = valid
        what = f"{task} model" if task else "model"
        super().__init__(f"unknown {what} {name!r}; choose one of: {', '.join(valid)}")


class ModelUnavailable(OculaError):
    """A known model that cannot run right now; the message says how to make it usable."""

    def __init__(self, name: str, reason: str, fix: str | None = None):
        self.name = name
        self.reason = reason
        self.fix = fix
        msg = f"model {name!r} is not usable: {reason}"
        if fix:
            msg += f" — {fix}"
        super().__init__(msg)


class OfflineError(OculaError):
    """Something needed the network while OCULA_OFFLINE=1."""


class MissingDependency(OculaError):
    def __init__(self, what: str, fix: str):
        super().__init__(f"{what} is not installed — {fix}")


class InvalidArgument(OculaError):
    """A parameter value outside what the task accepts."""
