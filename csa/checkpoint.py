"""Checkpoints: the sessions directory is a git repository; a checkpoint is a commit of
a session's metadata on the session's own ref, with a TOML git note on the session's own
notes ref (csa.checkpoint_refs: removing a session removes its history).

    >>> cp = checkpoint(store.resolve("01JH4Q"), note="before the refactor")
    >>> cp["commit"], cp["transcript_last_seq"], cp["transcript_sha256"]
    >>> verify(store.resolve("01JH4Q"))["altered"]
    False

What is committed: `state.toml`, `journal.md` and the result files under `output/`
(never the transcript, which can be large and is protected by its hash instead).
The note records the session id, tools, phase, turn count, tokens, the transcript's
last `seq` and the sha256 of the transcript bytes up to and including that line, and
the user's note. `verify` recomputes that hash, so an edited or truncated transcript
is detected.

The repository has its own identity and ignores the user's global and system git
config. Commits are serialized by a flock on `<project>/checkpoint.lock`.
"""

from __future__ import annotations

import hashlib
import os
import tomllib
from contextlib import contextmanager
from pathlib import Path

from csa.errors import CsaError, disk_full, is_disk_full
from csa.fsutil import atomic_write
from csa.session import UNVERSIONED, Session
from csa.state import iso_ms, utcnow
from csa.store import NEW_PREFIX, TRASH_PREFIX, Store
from csa.timeutil import stamp

REPO_WAIT_S = 300.0
IDENTITY = {"GIT_AUTHOR_NAME": "csa", "GIT_AUTHOR_EMAIL": "csa@localhost",
            "GIT_COMMITTER_NAME": "csa", "GIT_COMMITTER_EMAIL": "csa@localhost"}
GITIGNORE = "\n".join((
    "# Managed by csa: only session metadata is versioned (see docs/sessions.md).",
    *UNVERSIONED, f"{NEW_PREFIX}*/", f"{TRASH_PREFIX}*/", ""))


def _git_env() -> dict[str, str]:
    env = {"GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1",
           "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"}
    env.update(IDENTITY)
    return env


def open_repo(store: Store, *, create: bool = True):
    """The sessions repository (GitPython `Repo`), created on first use."""
    try:
        import git
    except ImportError as e:  # pragma: no cover - GitPython is a dependency
        raise CsaError("checkpoints need GitPython: pip install GitPython") from e
    sdir = store.sessions_dir
    if not (sdir / ".git").exists():
        if not create:
            return None
        store.ensure()
        # --shared=0600: git itself keeps objects, refs, index and logs 0600 (dirs 0700)
        # whatever the umask of whoever runs it.
        try:
            repo = git.Repo.init(sdir, initial_branch="main", shared="0600")
        except TypeError:  # older GitPython without initial_branch
            repo = git.Repo.init(sdir, shared="0600")
        repo.git.update_environment(**_git_env())
        with repo.config_writer() as cw:
            cw.set_value("user", "name", "csa")
            cw.set_value("user", "email", "csa@localhost")
            cw.set_value("commit", "gpgsign", "false")
            cw.set_value("core", "hooksPath", os.devnull)
        from csa.checkpoint_refs import configure

        configure(repo)
        atomic_write(sdir / ".gitignore", GITIGNORE.encode(), durable=False)
        repo.git.add("--", ".gitignore")
        repo.git.commit("-m", "csa: sessions repository", "--no-verify")
        return repo
    from csa.safeio import read_bytes

    try:
        for name in ("HEAD", "config"):  # git would read a FIFO or a huge file without end
            read_bytes(sdir / ".git" / name, "state")
        _only_regular_files(sdir / ".git")
        repo = git.Repo(sdir)
    except (CsaError, git.InvalidGitRepositoryError, git.NoSuchPathError, ValueError, OSError) as e:
        raise damaged_repo(sdir) from e
    repo.git.update_environment(**_git_env())
    if os.stat(sdir / ".git").st_mode & 0o077:
        _make_repo_private(repo, sdir / ".git")
    return repo


def _make_repo_private(repo, gitdir: Path) -> None:
    """A repository an older csa made under a lax umask (before --shared=0600): set the
    mode git keeps from now on, then drop the group/other bits it already has."""
    from csa.perms import make_private

    with repo.config_writer() as cw:
        cw.set_value("core", "sharedRepository", "0600")
    make_private(gitdir)
    os.chmod(gitdir, 0o700)


def _only_regular_files(gitdir: Path) -> None:
    """Refuse a repository whose top-level files, refs or logs include a FIFO, a device,
    a socket or a symlink: git opens them blocking and would wait (or read) without end."""
    import stat

    from csa.safeio import UnsafeFile

    todo = [gitdir]
    while todo:
        d = todo.pop()
        with os.scandir(d) as it:
            for entry in it:
                mode = entry.stat(follow_symlinks=False).st_mode
                if stat.S_ISDIR(mode):
                    if d != gitdir or entry.name in ("refs", "logs"):
                        todo.append(Path(entry.path))
                elif not stat.S_ISREG(mode):
                    raise UnsafeFile(f"{entry.path} is not a regular file")


def damaged_repo(sdir: Path) -> CsaError:
    """The one line for a checkpoint repository git cannot open, with the command that
    re-creates it (earlier checkpoints are lost; the sessions themselves are not)."""
    return CsaError(f"The checkpoint repository {sdir / '.git'} is damaged; move it away and "
                    f"checkpoint again to re-create it: mv {sdir / '.git'} "
                    f"{sdir / '.git.damaged'} && csa session checkpoint -s ID")


def _ready_repo(store: Store, *, create: bool = True):
    """The repository in the current ref layout (migrated if older csa wrote it); the
    caller holds the repository lock."""
    from csa.checkpoint_refs import migrate

    repo = open_repo(store, create=create)
    if repo is not None:
        migrate(repo, lambda: set(store.ids()))
    return repo


@contextmanager
def repo_locked(store: Store):
    """The repository (current layout) under the repository lock; None when there is none.

        >>> with repo_locked(store) as repo: ...
    """
    if not (store.sessions_dir / ".git").exists():
        yield None
        return
    with _repo_lock(store):
        yield _ready_repo(store, create=False)


def prune_repo(store: Store) -> None:
    """Drop objects no ref reaches any more (after a history rewrite)."""
    from csa.checkpoint_refs import prune

    with repo_locked(store) as repo:
        if repo is not None:
            prune(repo)


def _repo_lock(store: Store):
    """One commit into the sessions repository at a time (csa.mutex)."""
    from csa.mutex import hold

    store.ensure()
    return hold(store.dir / "checkpoint.lock", timeout=REPO_WAIT_S,
                busy=f"another csa checkpoint in {store.root} has held the sessions repository "
                     f"for {REPO_WAIT_S:g} s; retry when it has finished")


def transcript_digest(path: Path, upto_seq: int | None = None) -> tuple[int | None, str]:
    """(last seq, sha256 hex of the bytes up to and including that seq's line).

    With `upto_seq`, hash exactly the prefix ending at that seq (for verification);
    a transcript that no longer reaches it hashes what is there (and will differ).
    A torn tail is not part of the transcript yet.
    """
    from csa.jsonl import JsonlReader

    h = hashlib.sha256()
    last, end = None, 0
    reader = JsonlReader(path)
    try:
        for ev in reader:
            seq = ev.get("seq")
            if isinstance(seq, int):
                last, end = seq, reader.offset
                if upto_seq is not None and seq >= upto_seq:
                    break
        else:
            if upto_seq is not None:
                end = reader.offset
    except FileNotFoundError:
        return None, h.hexdigest()
    from csa.safeio import open_stream

    with open_stream(path) as f:
        while end > 0:
            block = f.read(min(end, 1 << 20))
            if not block:
                break
            h.update(block)
            end -= len(block)
    return last, h.hexdigest()


def checkpoint(session: Session, *, note: str = "") -> dict:
    """Commit the session's metadata and attach the checkpoint note; returns the note's data.

    Checkpoints never need the session lock (they run at turn end while it is held), only
    the repository lock.
    """
    store, sid = session.store, session.id
    state = session.load()
    last_seq, digest = transcript_digest(session.transcript_path)
    data = {
        "session_id": sid,
        "tools": state.tool_names,
        "phase": state.phase,
        "turn_count": state.turn_count,
        "tokens": state.total_tokens(),
        "transcript_last_seq": last_seq if last_seq is not None else -1,
        "transcript_sha256": digest,
        "note": store.redactor.text(note),
        "created_at": iso_ms(utcnow()),
    }
    from csa.tomldoc import dumps

    note_text = dumps({**data, "tokens": dict(sorted(data["tokens"].items()))})
    import git

    from csa.checkpoint_refs import add_note, commit_session

    with _repo_lock(store):
        repo = _ready_repo(store)
        files = [os.path.relpath(p, store.sessions_dir) for p in session.metadata_files()]
        try:
            subject = f"csa: checkpoint {sid}" + (f": {data['note'][:60]}" if note else "")
            commit = commit_session(repo, sid, files, subject)
            add_note(repo, sid, commit, note_text)
        except git.GitCommandError as e:
            if is_disk_full(e):
                raise disk_full("the checkpoint repository", store.sessions_dir / ".git",
                                sum(os.path.getsize(p) for p in session.metadata_files()
                                    if os.path.isfile(p))) from e
            why = " ".join(str(e.stderr or e).split())
            raise CsaError(f"Session {sid}: checkpoint failed: {why}") from e
    data["commit"] = commit
    from csa import events

    # The events log outlives sessions: it keeps the id and the fact, never the note.
    events.emit(store, "checkpoint", session_id=sid, commit=commit)
    return data


def _log(store: Store, sid: str | None = None) -> list[dict]:
    """Checkpoint commits of one session (or all), newest first: commit, committed_at,
    subject, and the parsed checkpoint note (`checkpoint`, absent without one)."""
    import git

    from csa.checkpoint_refs import LOG_FORMAT, NOTES_REFS, SESSION_REFS, branch, notes_ref

    with repo_locked(store) as repo:
        pass  # migrated (if it had to be) under the lock; reading needs no lock
    if repo is None:
        return []
    if sid is None:
        revs, notes = [f"--glob={SESSION_REFS}*"], f"{NOTES_REFS}*"
    else:
        revs, notes = [branch(sid), "--"], notes_ref(sid)
    try:
        raw = repo.git.log(f"--notes={notes}", LOG_FORMAT, *revs)
    except git.GitCommandError:
        return []
    out = []
    for record in raw.split("\x1e"):
        record = record.strip("\n")
        if not record:
            continue
        commit, committed, subject, note = (record.split("\x00") + ["", "", ""])[:4]
        entry: dict = {"commit": commit.strip(), "committed_at": stamp(committed),
                       "subject": subject}
        if note.strip():
            try:
                entry["checkpoint"] = tomllib.loads(note)
            except tomllib.TOMLDecodeError:
                entry["checkpoint"] = {"note": note.strip(), "corrupt_note": True}
        out.append(entry)
    return out


def list_checkpoints(store: Store, sid: str | None = None) -> list[dict]:
    """Checkpoints newest first (each: the note's fields plus `commit`, `committed_at`)."""
    out = []
    for entry in _log(store, sid):
        cp = entry.get("checkpoint")
        if cp is None or (sid is not None and cp.get("session_id") != sid):
            continue
        out.append({**cp, "commit": entry["commit"], "committed_at": entry["committed_at"]})
    return out


def session_log(session: Session) -> list[dict]:
    """The session's commits (checkpoints and turn-end commits), newest first, with notes."""
    return _log(session.store, session.id)


def forget_sessions(store: Store, sids: list[str]) -> list[str]:
    """Remove the sessions' checkpoint refs and prune their objects, once for all of them;
    the ids that had checkpoints.

        >>> forget_sessions(store, ["01JH4Q..."])
    """
    from csa.checkpoint_refs import may_hold, remove_sessions

    if not sids or not may_hold(store.sessions_dir / ".git", sids):
        return []  # no git process (and no GitPython import) for sessions never checkpointed
    with repo_locked(store) as repo:
        return [] if repo is None else remove_sessions(repo, sids)


def verify(session: Session) -> dict:
    """Recompute the transcript hash against the last checkpoint of the session."""
    store, sid = session.store, session.id
    cps = list_checkpoints(store, sid)
    if not cps:
        raise CsaError(f"Session {sid} has no checkpoint to verify against; create one with: "
                       f"csa session checkpoint -s {sid[:8]}")
    cp = cps[0]
    upto = int(cp.get("transcript_last_seq", -1))
    path = session.transcript_path
    if upto < 0:
        last, digest = None, hashlib.sha256().hexdigest()
    else:
        last, digest = transcript_digest(path, upto_seq=upto)
    altered = digest != cp.get("transcript_sha256") or (upto >= 0 and last != upto)
    now_last, _ = transcript_digest(path)
    return {"session_id": sid, "commit": cp["commit"], "checkpoint_seq": upto,
            "transcript_last_seq": now_last, "expected_sha256": cp.get("transcript_sha256"),
            "actual_sha256": digest, "altered": altered}
