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


class DiskFull(OculaError):
    """A write failed because its disk (or the user's quota) is full. Names the file and the
    disk; whatever was there before is kept (writes go through temporary files and transactions)."""

    def __init__(self, path: str | None, what: str | None = None, *,
                 kept: str | None = "nothing already there was overwritten"):
        import os

        self.path = path
        target = what or (f"{path}" if path else "a file")
        disk = _mount_point(path) if path else None
        where = f"the disk at {disk}" if disk else "the disk"
        if disk:
            try:
                import shutil

                where += f" ({shutil.disk_usage(disk).free / 2**20:.0f} MiB free)"
            except OSError:
                pass
        kept_note = f"; {kept}" if kept else ""
        super().__init__(f"{where} is full: {target} could not be written{kept_note} — free some space"
                         f"{' on ' + disk if disk and disk != os.sep else ''} and run the command again")


def _mount_point(path: str) -> str | None:
    import os

    p = os.path.abspath(os.path.expanduser(str(path)))
    while not os.path.exists(p) and os.path.dirname(p) != p:
        p = os.path.dirname(p)
    while not os.path.ismount(p) and os.path.dirname(p) != p:
        p = os.path.dirname(p)
    return p


def is_disk_full(e: BaseException) -> bool:
    """An OSError for a full disk or quota, or SQLite's "database or disk is full"."""
    import errno

    if isinstance(e, OSError):
        return e.errno in (errno.ENOSPC, errno.EDQUOT)
    return getattr(e, "sqlite_errorcode", None) == 13 or "database or disk is full" in str(e)  # SQLITE_FULL
