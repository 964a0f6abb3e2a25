"""Session ids: python-ulid makes and parses them; this module checks what users type.

    >>> sid = new_ulid()
    >>> len(sid), is_ulid(sid)
    (26, True)
    >>> normalize_prefix("01jh4q")
    '01JH4Q'

Ids come from one process-wide `ulid.ULIDGenerator` with the strict monotonic policy:
two ids made in the same millisecond differ by one in their random part, so they
sort in creation order, and exhausting a millisecond's 2^80 ids raises instead of
repeating one. `new_ulid(now_ms=...)` dates an id (imports date a session by its
transcript). python-ulid is imported on the first id made or parsed, not at start-up:
listing and prefix resolution only need the cheap syntax check below.
"""

from __future__ import annotations

import os
import re
import sys

from csa.errors import CsaError, SessionNotFound

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_CROCKFORD_SET = frozenset(CROCKFORD)
ULID_LEN = 26

_generator = None


def _dist_version(name: str) -> str:
    """The installed version of distribution `name`, from its dist-info directory's name.

    >>> _dist_version("python-ulid")  # doctest: +SKIP
    '4.1.0'
    """
    from importlib.machinery import PathFinder

    spec = PathFinder.find_spec("ulid")
    prefix = name.replace("-", "_") + "-"
    if spec is not None and spec.origin:
        site = os.path.dirname(os.path.dirname(spec.origin))
        for entry in os.listdir(site):
            if entry.startswith(prefix) and entry.endswith((".dist-info", ".egg-info")):
                return entry[len(prefix):].rsplit(".", 1)[0]
    return "unknown"


def python_ulid():
    """The `ulid` module (python-ulid), imported without importlib.metadata or
    typing_extensions.

    python-ulid's __init__ asks importlib.metadata for its own version, and every
    submodule of it runs that __init__ first; importlib.metadata (email, zipfile, csv...)
    costs ~20 ms, paid before a new session's tool can start. On Python 3.11 it also
    imports typing_extensions (~4 ms) for one decorator, `override`, which only marks
    a method. So for that one import, stand-in modules answer version() from the
    dist-info directory's name and `override` as typing_extensions does. Only when
    nothing else has loaded the real modules and no other thread could import them
    meanwhile; otherwise a plain import.
    """
    import threading

    mods = sys.modules
    if "ulid" in mods or threading.active_count() > 1:
        import ulid

        return ulid
    import types

    stand_ins = {}
    if "importlib.metadata" not in mods:
        stand_ins["importlib.metadata"] = types.ModuleType("importlib.metadata")
        stand_ins["importlib.metadata"].version = _dist_version  # type: ignore[attr-defined]
    if sys.version_info < (3, 12) and "typing_extensions" not in mods:
        stand_ins["typing_extensions"] = types.ModuleType("typing_extensions")
        stand_ins["typing_extensions"].override = _override  # type: ignore[attr-defined]
    mods.update(stand_ins)
    try:
        import ulid
    finally:
        for name, stand_in in stand_ins.items():
            if mods.get(name) is stand_in:
                del mods[name]
    return ulid


def _override(method):
    """typing_extensions.override: marks `method` as overriding, changes nothing else."""
    try:
        method.__override__ = True
    except (AttributeError, TypeError):
        pass
    return method


def _ulid_generator():
    global _generator
    if _generator is None:
        lib = python_ulid()
        _generator = lib.ULIDGenerator(policy=lib.StrictMonotonicPolicy())
    return _generator


def new_ulid(now_ms: int | None = None) -> str:
    """A fresh ULID, dated now or at `now_ms`; monotonic within this process."""
    try:
        return str(_ulid_generator().generate(None if now_ms is None else int(now_ms)))
    except ValueError as e:  # the millisecond's ids are exhausted, or a date past 10889
        raise CsaError(f"cannot make a session id: {e}; retry") from e


_ULID_RE = re.compile(r"[0-7][0-9A-HJKMNP-TV-Z]{25}")


def is_ulid(text: str) -> bool:
    """True for a canonical (upper-case) 26-char ULID whose timestamp fits 48 bits.

    A regex, not python-ulid: it runs on every directory name of a listing.
    """
    return len(text) == ULID_LEN and _ULID_RE.fullmatch(text) is not None


def ulid_timestamp_ms(sid: str) -> int:
    """Milliseconds since the epoch encoded in a ULID."""
    return python_ulid().ULID.from_str(sid).milliseconds


def normalize_prefix(prefix: str) -> str:
    """Upper-case a user-typed prefix and reject anything that is not Crockford base32.

    Rejection happens before any filesystem access, so input such as ``../x`` or
    ``/`` can never name a path.
    """
    p = (prefix or "").strip().upper()
    if not p or len(p) > ULID_LEN or any(c not in _CROCKFORD_SET for c in p):
        raise SessionNotFound(f"No session matches '{prefix}'")
    return p
