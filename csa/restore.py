"""`csa session restore ARCHIVE [--as-new]`: a `clean --archive` tarball back into the store.

    >>> restore(store, Path("~/csa-archive/01JH4Q....tar.gz"))          # -> "01JH4Q..."
    >>> restore(store, archive, as_new=True)                            # a fresh id

Safe on every supported Python (tarfile's extraction filters are not relied on):
every member is checked first — regular files and directories only, a relative
path under `<ULID>/` with no `..` — and extracted by csa itself into a hidden
`.new-*` dir with modes 0600/0700; the session appears under its id by one rename,
only after its state.toml parsed. Anything wrong leaves nothing behind.
"""

from __future__ import annotations

import os
import shutil
import tarfile
from pathlib import Path, PurePosixPath

from csa import ids
from csa.errors import CsaError
from csa.fsutil import DIR_MODE, FILE_MODE, ensure_dir
from csa.store import NEW_PREFIX, Store

MAX_MEMBERS = 100_000
MAX_BYTES = 1 << 40


def _bad(archive: Path, why: str) -> CsaError:
    return CsaError(f"{archive}: not restored: {why}; csa restores only the archives "
                    "`csa session clean --archive` writes")


def check_members(archive: Path, members: list[tarfile.TarInfo]) -> str:
    """The archive's session id, after checking every member (CsaError otherwise)."""
    if not members:
        raise _bad(archive, "it is empty")
    if len(members) > MAX_MEMBERS:
        raise _bad(archive, f"more than {MAX_MEMBERS} members")
    top = members[0].name.split("/", 1)[0]
    if not ids.is_ulid(top):
        raise _bad(archive, f"its top directory {top[:40]!r} is not a session id")
    total = 0
    for m in members:
        p = PurePosixPath(m.name)
        if p.is_absolute() or ".." in p.parts or not p.parts or p.parts[0] != top \
                or "\x00" in m.name:
            raise _bad(archive, f"member {m.name[:80]!r} is outside {top}/")
        if not (m.isreg() or m.isdir()):
            raise _bad(archive, f"member {m.name[:80]!r} is a link or device")
        total += m.size
    if total > MAX_BYTES:
        raise _bad(archive, "its content is larger than 1 TiB")
    return top


def _extract(tar: tarfile.TarFile, members: list[tarfile.TarInfo], dest: Path) -> None:
    """Write each checked member under `dest` with csa's own modes (never the tarball's)."""
    for m in members:
        target = dest.joinpath(*PurePosixPath(m.name).parts)
        if m.isdir():
            ensure_dir(target)
            continue
        ensure_dir(target.parent)
        src = tar.extractfile(m)
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                     FILE_MODE)
        with os.fdopen(fd, "wb") as out:
            if src is not None:
                shutil.copyfileobj(src, out, 1 << 20)
    for d, _dirs, _files in os.walk(dest):
        os.chmod(d, DIR_MODE)


def restore(store: Store, archive: Path, *, as_new: bool = False) -> str:
    """Restore one archived session; returns its id (a new one with `as_new`)."""
    from csa.safeio import open_stream

    try:
        stream = open_stream(archive, "import")
    except FileNotFoundError as e:
        raise CsaError(f"{archive}: no such archive") from e
    store.ensure()
    hidden = store.sessions_dir / f"{NEW_PREFIX}restore-{os.getpid()}-{os.urandom(4).hex()}"
    try:
        with stream, tarfile.open(fileobj=stream, mode="r:gz") as tar:
            members = tar.getmembers()
            old = check_members(archive, members)
            sid = ids.new_ulid() if as_new else old
            if store.session(sid).exists():
                raise CsaError(f"Session {sid} already exists; pass --as-new to restore a copy "
                               "under a new id")
            ensure_dir(hidden)
            _extract(tar, members, hidden)
        _adopt(store, hidden / old, sid, archive)
        os.rename(hidden / old, store.sessions_dir / sid)
    except (tarfile.TarError, EOFError, OSError) as e:
        raise _bad(archive, f"unreadable ({getattr(e, 'strerror', None) or e})") from e
    finally:
        shutil.rmtree(hidden, ignore_errors=True)
    return sid


def _adopt(store: Store, sdir: Path, sid: str, archive: Path) -> None:
    """Parse the extracted state (it must be a session) and give it `sid`."""
    from csa.session import Session

    old = Session(store, sdir.name, dir=sdir)
    try:
        state = old.read_state()
    except CsaError as e:
        raise _bad(archive, f"its state does not parse ({e})") from e
    if sid != state.meta_session_id:
        state.meta_session_id = sid
        Session(store, sid, dir=sdir).save(state)
