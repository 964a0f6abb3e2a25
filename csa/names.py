"""Session names: the rules, uniqueness in a project, renaming, and `-s` resolution.

    >>> check_name("auth-refactor")
    'auth-refactor'
    >>> check_name("deadbeef")            # all Crockford base32: could be an id prefix
    Traceback (most recent call last):
    csa.errors.UsageError: Name 'deadbeef' ...
    >>> rename(store.resolve("01JH4Q"), "auth-v2")         # unique in the project
    >>> find(store, "auth-v2").id                          # name, id prefix or provider id

A name is 1-64 characters of `[a-z0-9._-]` with at least one character outside
Crockford base32 (`-`, `.`, `_`, `i`, `l`, `o`, `u`), so no name can be read as an id
prefix. state.toml (`name = "..."`) is the truth; the summary index has a `name`
column (and a provider-id table) so resolution stays one indexed lookup at 100,000
sessions. Names are assigned under the project's `names.lock`, so two runs cannot take
the same name at once.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from csa import ids
from csa.errors import AmbiguousPrefix, CsaError, SessionNotFound, UsageError

if TYPE_CHECKING:
    from csa.session import Session
    from csa.store import Store

MAX_LEN = 64
NAME_RE = re.compile(r"[a-z0-9._-]{1,64}")
# What a provider's conversation id may look like to be looked up (UUIDs, ses_..., ...).
PROVIDER_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,199}")
SHOWN = 50
NAMES_LOCK = "names.lock"


class NameTaken(CsaError):
    """Another session of the project already has this name."""


def is_name(text: str) -> bool:
    """True when `text` follows the name rules (see the module docstring)."""
    return NAME_RE.fullmatch(text) is not None and \
        any(c not in ids.CROCKFORD for c in text.upper())


def check_name(name: str) -> str:
    """`name` if it follows the rules, else UsageError saying which rule it breaks."""
    if not isinstance(name, str) or not NAME_RE.fullmatch(name):
        raise UsageError(f"Name {name!r} is not valid: use 1-{MAX_LEN} characters of "
                         "a-z, 0-9, '.', '_' and '-' (lower case)")
    if not is_name(name):
        raise UsageError(f"Name {name!r} could be read as a session id prefix: include a "
                         "character such as '-', '.', '_', 'i', 'l', 'o' or 'u' "
                         f"(e.g. {name}-1)")
    return name


@contextmanager
def names_locked(store: Store) -> Iterator[None]:
    """Hold the project's names lock (checking and taking a name is one step)."""
    from csa.mutex import hold

    store.ensure()
    with hold(store.dir / NAMES_LOCK, busy="another csa is naming a session; retry"):
        yield


def refuse_taken(store: Store, name: str, sid: str | None = None) -> None:
    """NameTaken when a session other than `sid` has `name`."""
    for other in store.index.named(name):
        if other != sid and store.session(other).exists():
            raise NameTaken(f"Name '{name}' is already used by session {other}; choose "
                            f"another, or rename that one: csa session rename -s {other} NEW")


def rename(session: Session, name: str | None) -> str | None:
    """Give `session` the name `name` (None: remove its name); returns the old name.
    Takes the session's lock (a running turn would write its state back over it)."""
    if name is not None:
        check_name(name)
    store = session.store
    with names_locked(store):
        if name is not None:
            refuse_taken(store, name, session.id)
        with session.lock(reason="rename", grace=0):
            state = session.load()
            old, state.name = state.name, name
            session.save(state)
    return old


# -- resolution (`-s NAME_OR_PREFIX`) -----------------------------------------------------

def find(store: Store, text: str) -> Session:
    """The one session `text` names: an exact name first, else the sessions whose id
    starts with it, whose name starts with it, or which hold it as a provider id.
    Raises SessionNotFound (also for text that cannot be any of these, before any file
    access) or AmbiguousPrefix listing the candidates."""
    raw = (text or "").strip()
    key = raw.lower()
    base32 = bool(raw) and len(raw) <= ids.ULID_LEN and \
        all(c in ids.CROCKFORD for c in raw.upper())
    name_like = NAME_RE.fullmatch(key) is not None
    # The four tools' conversation ids hold '-' or '_': never all base32 (one lookup less).
    provider_like = not base32 and PROVIDER_ID_RE.fullmatch(raw) is not None
    if not (base32 or name_like or provider_like):
        raise SessionNotFound(f"No session matches '{text}'")
    if base32 and len(raw) == ids.ULID_LEN:
        if store.session(raw.upper()).exists():
            return store.session(raw.upper())
    with store.index.once():
        return _find(store, text, raw, key, base32, name_like, provider_like)


def _find(store: Store, text: str, raw: str, key: str, base32: bool, name_like: bool,
          provider_like: bool) -> Session:
    if name_like and is_name(key):
        exact = [s for s in store.index.named(key) if store.session(s).exists()]
        if len(exact) == 1:
            return store.session(exact[0])
    found, total = _candidates(store, raw, key, base32, name_like, provider_like)
    if not found:
        raise SessionNotFound(f"No session matches '{text}'")
    if len(found) == 1:
        return store.session(found[0])
    raise _ambiguous(store, text, found, total)


def _candidates(store: Store, raw: str, key: str, base32: bool, name_like: bool,
                provider_like: bool) -> tuple[list[str], int]:
    """(matching ids, how many there are in all) by id prefix, name prefix, provider id."""
    found: list[str] = []
    total = 0
    if base32:
        by_id, total = store.index.prefix(raw.upper(), SHOWN + 1)
        found += by_id
    if name_like:
        found += [r["id"] for r in store.index.name_prefix(key, SHOWN + 1)]
    if provider_like:
        found += store.index.holding(raw)
    unique = [s for s in dict.fromkeys(found) if store.session(s).exists()]
    return unique, max(total, len(unique))


def _ambiguous(store: Store, text: str, found: list[str], total: int) -> AmbiguousPrefix:
    described = []
    for sid in found[:SHOWN]:
        session = store.session(sid)
        try:
            name = session.read_state().name
        except CsaError:
            name = None
        label = f"[{name}] " if name else ""
        described.append((sid, label + session.description()))
    lines = [f"Session '{text}' is ambiguous: {total} sessions match; use a longer prefix "
             "or the full name"]
    lines += [f"  {sid}  {d}" for sid, d in described]
    if total > SHOWN:
        lines.append(f"  ... and {total - SHOWN} more")
    return AmbiguousPrefix("\n".join(lines), described)


def completions(cd: str | None, incomplete: str, limit: int = 100) -> list[tuple[str, str]]:
    """(value, help) pairs for shell completion of `-s`: names, then ids, that start
    with `incomplete` (newest first). Never raises: a shell must not see a traceback."""
    from csa.store import Store

    try:
        store = Store.open(cd)
        key = incomplete.strip()
        if key and NAME_RE.fullmatch(key.lower()):
            rows = store.index.name_prefix(key.lower(), limit)
        elif key:
            rows = []
        else:
            rows = store.index.query("name IS NOT NULL", limit=limit)
        out = [(r["name"], r.get("description") or "") for r in rows if r.get("name")]
        where, params = "1", ()
        if key:
            where, params = "id >= ? AND id < ?", (key.upper(), key.upper() + "\x7f")
        for r in store.index.query(where, params, limit=limit):
            out.append((r["id"], f"{r.get('name') or ''} {r.get('description') or ''}".strip()))
        return out
    except Exception:  # noqa: BLE001 - completion is best effort
        return []
