"""The one exception family csa raises for expected failures.

Every error carries a user-facing, one-line message and an exit code; the CLI
catches ``CsaError`` once, prints the message on stderr and exits with the code.
"""


class CsaError(Exception):
    """An expected failure: message for the user, exit code for the shell."""

    exit_code = 1

    def __init__(self, message: str, exit_code: int | None = None):
        super().__init__(message)
        self.message = message
        if exit_code is not None:
            self.exit_code = exit_code

    def __str__(self) -> str:
        return self.message


class UsageError(CsaError):
    """Bad arguments (exit 2)."""

    exit_code = 2


class SessionNotFound(CsaError):
    """No session matches a prefix."""


class AmbiguousPrefix(CsaError):
    """A prefix matches more than one session."""

    def __init__(self, message: str, matches: list[tuple[str, str]]):
        super().__init__(message)
        self.matches = matches


class SessionLocked(CsaError):
    """Another process holds the session's lock."""

    def __init__(self, message: str, pid: int | None = None):
        super().__init__(message)
        self.pid = pid


class DepthExceeded(CsaError):
    """A nested run would exceed max_recursion_depth."""


class ToolMissing(CsaError):
    """The AI CLI's binary could not be found."""


class CorruptState(CsaError):
    """A state.toml could not be parsed or has wrong types."""


class ConfigError(CsaError):
    """A config file is unreadable or has wrong types."""


class InvalidTransition(CsaError):
    """A phase change the state machine does not allow."""


class DiskFull(CsaError):
    """A write failed for lack of space (or quota): which file, and how much it needed."""


def is_disk_full(e: BaseException) -> bool:
    """ENOSPC/EDQUOT as an OSError, a git command's stderr or sqlite's message."""
    import errno

    if isinstance(e, OSError):
        return e.errno in (errno.ENOSPC, errno.EDQUOT)
    text = f"{e} {getattr(e, 'stderr', '') or ''}"
    return any(s in text for s in ("No space left on device", "Disk quota exceeded",
                                   "database or disk is full"))


def disk_full(what: str, path: object, needed: int | None = None) -> DiskFull:
    """`disk full writing the search index /s/index.sqlite (needs about 2.1 MB); ...`"""
    need = ""
    if needed and needed >= 100_000:
        need = f" (needs about {needed / 1e6:.1f} MB)"
    elif needed:
        need = f" (needs about {max(1, round(needed / 1e3))} KB)"
    return DiskFull(f"csa: disk full writing {what} {path}{need}; free some space and retry")
