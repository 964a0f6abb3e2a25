"""Compiled regular expressions kept across processes, for the rule sets csa needs at start.

    >>> [rx] = compile_all(("doc", 1), lambda: [rb"ab+c"])
    >>> bool(rx.search(b"xabbcx"))
    True

Compiling the redaction gate's patterns costs ~10 ms of pure-Python parsing in `re`, and
a new session pays it before its tool starts (the description is redacted). The parsed
and compiled form (the sre code the C engine runs) loads from a marshal file in a
fraction of a millisecond. A cache file holds one list of patterns, made by the caller
from `inputs` (building the patterns is itself milliseconds of Python): it is named by a
CRC of the inputs and keyed by the interpreter's version, the sre engine's magic number
and the inputs themselves, which must equal the ones asked for; a caller puts into
`inputs` whatever its patterns depend on (the data, and the version of the code that
turns the data into patterns). Anything
unexpected (another Python, a damaged or foreign file, a changed private API) falls
back to `re.compile`, so the cache can only make compiling faster, never different.
"""

from __future__ import annotations

import marshal
import os
import re
import sys
import zlib
from collections.abc import Callable, Sequence

Pattern = str | bytes


def _key() -> tuple:
    from re import _constants

    return ("csa-recache-1", tuple(sys.version_info), _constants.MAGIC)


def _cache_file(inputs: object) -> str:
    from csa.paths import cache_home

    crc = zlib.crc32(repr(inputs).encode())  # marshal output varies with refcounts
    return str(cache_home() / "re" / f"{crc:08x}.marshal")


def _parts(pattern: Pattern) -> tuple:
    """What `_sre.compile` needs for one pattern (as `re._compiler.compile` computes it)."""
    from re import _compiler, _parser

    parsed = _parser.parse(pattern, 0)
    code = _compiler._code(parsed, 0)
    groupindex = dict(parsed.state.groupdict)
    indexgroup = [None] * parsed.state.groups
    for name, i in groupindex.items():
        indexgroup[i] = name
    # plain ints: the opcodes are int subclasses, which marshal refuses
    return (int(parsed.state.flags), [int(c) for c in code], parsed.state.groups - 1,
            {str(k): int(v) for k, v in groupindex.items()}, tuple(indexgroup))


def _build(patterns: Sequence[Pattern], parts: list) -> list[re.Pattern]:
    import _sre

    out = []
    for pattern, (flags, code, groups, groupindex, indexgroup) in zip(patterns, parts,
                                                                      strict=True):
        out.append(_sre.compile(pattern, flags, code, groups, groupindex, indexgroup))
    return out


def _load(path: str, inputs: object) -> list[re.Pattern] | None:
    try:
        with open(path, "rb") as f:
            key, stored, patterns, parts = marshal.loads(f.read())  # load(f): 100x slower
        if key != _key() or stored != inputs:
            return None
        return _build(patterns, parts)
    except Exception:  # noqa: BLE001 - missing, damaged, foreign: compile instead
        return None


# False for an --ephemeral run: it leaves no file anywhere, this cache included.
writable = True


def _store(path: str, inputs: object, patterns: tuple, parts: list) -> None:
    if not writable:
        return
    tmp = f"{path}.{os.getpid()}.tmp"
    try:
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        data = marshal.dumps((_key(), inputs, patterns, parts))
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
        with open(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)  # concurrent writers: each renames a whole file
    except (OSError, ValueError):  # read-only or full cache dir: compile every time
        try:
            os.unlink(tmp)
        except OSError:
            pass


def compile_all(inputs: object, make: Callable[[], Sequence[Pattern]]) -> list[re.Pattern]:
    """`[re.compile(p) for p in make()]` (no flags), from the cache when it holds the
    patterns made from `inputs` (marshallable data: str, bytes, int, tuples, lists...)."""
    try:
        path = _cache_file(inputs)
    except ValueError:  # inputs a repr cannot name (recursion): no cache
        return [re.compile(p) for p in make()]
    found = _load(path, inputs)
    if found is not None:
        return found
    patterns = tuple(make())
    try:
        parts = [_parts(p) for p in patterns]
        compiled = _build(patterns, parts)
    except Exception:  # noqa: BLE001 - re's private API changed: the public one
        return [re.compile(p) for p in patterns]
    _store(path, inputs, patterns, parts)
    return compiled
