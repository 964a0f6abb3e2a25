"""The checkpoint repository's ref layout: every session on refs of its own.

    >>> commit = commit_session(repo, session, "csa: checkpoint 01JH4Q")
    >>> add_note(repo, session.id, commit, note_text)
    >>> remove_sessions(repo, ["01JH4Q..."])     # its refs go, then its objects are pruned

A session's checkpoint commits form a history of their own on `refs/csa/sessions/<ULID>`
(a root commit, then one commit per checkpoint, each tree holding only `<ULID>/...`),
and its notes live on `refs/notes/csa/<ULID>`. Nothing else points at those objects, so
deleting the two refs and pruning leaves none of the session in the repository. `main`
holds only the `.gitignore` commit. Reflogs are off (they would keep deleted commits).

Repositories written by older csa (one shared `main` history with every session and
notes on `refs/notes/csa-checkpoints`) are migrated on first use: each existing
session's checkpoints are re-committed onto its own refs with their dates, messages and
notes, `main` is cut back to the `.gitignore` commit and the rest is pruned.
"""

from __future__ import annotations

import os
from contextlib import contextmanager

SESSION_REFS = "refs/csa/sessions/"
NOTES_REFS = "refs/notes/csa/"
OLD_NOTES_REF = "refs/notes/csa-checkpoints"
LAYOUT = "2"  # repo config `csa.layout`
LOG_FORMAT = "--format=%H%x00%cI%x00%s%x00%N%x1e"


def branch(sid: str) -> str:
    return f"{SESSION_REFS}{sid}"


def notes_ref(sid: str) -> str:
    return f"{NOTES_REFS}{sid}"


def configure(repo) -> None:
    """Settings of the current layout (no reflogs: they would keep deleted commits)."""
    with repo.config_writer() as cw:
        cw.set_value("core", "logAllRefUpdates", "false")
        # Never packed: a prune of loose objects is then all a removal costs (a repack of
        # every session's objects took seconds); packs of older repos are unpacked once.
        cw.set_value("gc", "auto", "0")
        cw.set_value("csa", "layout", LAYOUT)


def tip(repo, ref: str) -> str | None:
    import git

    try:
        return repo.git.rev_parse("--verify", "-q", f"{ref}^{{commit}}")
    except git.GitCommandError:
        return None


def _tree_of(repo, paths: list[str]) -> str:
    """A tree holding exactly `paths` (relative to the work tree), via a private index."""
    idx = os.path.join(repo.git_dir, f"csa-index-{os.getpid()}")
    env = {"GIT_INDEX_FILE": idx}
    try:
        repo.git.add("-f", "--", *paths, env=env)
        return repo.git.write_tree(env=env)
    finally:
        try:
            os.unlink(idx)
        except FileNotFoundError:
            pass


def _commit(repo, tree: str, message: str, parent: str | None, env: dict | None = None) -> str:
    args = [tree, "-m", message] + (["-p", parent] if parent else [])
    return repo.git.commit_tree(*args, env=env or {})


def commit_session(repo, sid: str, paths: list[str], message: str) -> str:
    """Commit `paths` (the session's metadata) onto the session's own ref; the new commit."""
    ref = branch(sid)
    parent = tip(repo, ref)
    commit = _commit(repo, _tree_of(repo, paths), message, parent)
    repo.git.update_ref(ref, commit, *([parent] if parent else []))
    return commit


def add_note(repo, sid: str, commit: str, text: str) -> None:
    repo.git.notes("--ref", notes_ref(sid), "add", "-f", "-m", text, commit)


def session_refs(repo) -> dict[str, list[str]]:
    """Session id -> its refs (branch and notes) present in the repository."""
    out: dict[str, list[str]] = {}
    raw = repo.git.for_each_ref("--format=%(refname)", SESSION_REFS, NOTES_REFS)
    for ref in raw.split():
        sid = ref.rsplit("/", 1)[-1]
        out.setdefault(sid, []).append(ref)
    return out


def may_hold(git_dir, sids: list[str]) -> bool:
    """Whether the repository at `git_dir` may hold any of the sessions (read from its
    files: no git process). An older layout may hold every session (it needs migrating)."""
    from pathlib import Path

    from csa.safeio import UnsafeFile, read_text

    git_dir = Path(git_dir)
    try:
        config = read_text(git_dir / "config", "git")
    except UnsafeFile:
        return True  # a FIFO or device: opening the repository reports it as damaged
    except OSError:
        return False
    if f"layout = {LAYOUT}" not in config:
        return True
    try:
        packed = read_text(git_dir / "packed-refs", "git")
    except UnsafeFile:
        return True
    except OSError:
        packed = ""
    return any(sid in packed or (git_dir / branch(sid)).exists()
               or (git_dir / notes_ref(sid)).exists() for sid in sids)


def remove_sessions(repo, sids: list[str]) -> list[str]:
    """Delete the sessions' refs and prune what only they reached; the ids that had refs."""
    present = session_refs(repo)
    gone = [sid for sid in sids if sid in present]
    if not gone:
        return []
    lines = "".join(f"delete {ref}\n" for sid in gone for ref in present[sid])
    repo.git.update_ref("--stdin", istream=_stdin(lines))
    prune(repo)
    return gone


def _stdin(data: str | bytes):
    """A file for GitPython's `istream` (it reads a real file descriptor)."""
    import tempfile

    f = tempfile.TemporaryFile()
    f.write(data.encode() if isinstance(data, str) else data)
    f.seek(0)
    return f


@contextmanager
def _private_umask():
    old = os.umask(0o077)
    try:
        yield
    finally:
        os.umask(old)


def prune(repo) -> None:
    """Drop every object no ref reaches: reflogs expired (older repos had them), packs
    unpacked (they would keep unreachable objects), then unreachable loose objects removed."""
    with _private_umask():
        if os.path.isdir(os.path.join(repo.git_dir, "logs")):
            repo.git.reflog("expire", "--expire=now", "--expire-unreachable=now", "--all")
        _unpack(repo)
        repo.git.prune("--expire=now")


def _unpack(repo) -> None:
    """Turn every pack into loose objects (unpack-objects skips objects the repository
    already has, so each pack is moved out of the object store first)."""
    import shutil
    import tempfile

    pack_dir = os.path.join(repo.git_dir, "objects", "pack")
    try:
        packs = [n for n in os.listdir(pack_dir) if n.endswith(".pack")]
    except FileNotFoundError:
        return
    for name in packs:
        stem = name[:-len(".pack")]
        aside = tempfile.mkdtemp(prefix="csa-unpack-", dir=repo.git_dir)
        moved = [n for n in os.listdir(pack_dir) if n.startswith(stem + ".")]
        for n in moved:
            os.rename(os.path.join(pack_dir, n), os.path.join(aside, n))
        try:
            with open(os.path.join(aside, name), "rb") as f:
                repo.git.unpack_objects("-q", istream=f)
        except BaseException:
            for n in moved:  # keep the objects: put the pack back
                os.rename(os.path.join(aside, n), os.path.join(pack_dir, n))
            raise
        finally:
            shutil.rmtree(aside, ignore_errors=True)


def rewrite_session(repo, sid: str, fix_blob, fix_note, fix_message, *,
                    dry_run: bool = False) -> int:
    """Rewrite the session's history: blobs through `fix_blob(path, bytes) -> bytes`, notes
    through `fix_note(text)`, commit messages through `fix_message(text)`; returns how many
    objects changed (with `dry_run`, only counts). The notes get a history of one commit,
    so the old notes and commits become unreachable (prune() removes them)."""
    ref = branch(sid)
    if tip(repo, ref) is None:
        return 0
    notes = _notes_of(repo, sid)
    changed, parent, new_notes = 0, None, {}
    for old in repo.git.rev_list("--reverse", ref).split():
        tree, n = _fixed_tree(repo, old, fix_blob, dry_run)
        message = repo.git.log("-1", "--format=%B", old)
        new_message = fix_message(message)
        changed += n + (new_message != message)
        if old in notes:
            text = fix_note(notes[old])
            changed += text != notes[old]
        if dry_run:
            continue
        parent = _commit(repo, tree, new_message, parent, _dates(repo, old))
        if old in notes:
            new_notes[parent] = text
    if not changed or dry_run:
        return changed
    repo.git.update_ref(ref, parent)
    repo.git.update_ref("-d", notes_ref(sid))
    for commit, text in new_notes.items():
        add_note(repo, sid, commit, text)
    _squash(repo, notes_ref(sid))
    return changed


def _notes_of(repo, sid: str) -> dict[str, str]:
    import git

    out = {}
    try:
        raw = repo.git.notes("--ref", notes_ref(sid), "list")
    except git.GitCommandError:
        return out
    for line in raw.splitlines():
        blob, commit = line.split()
        out[commit] = repo.git.cat_file("blob", blob, strip_newline_in_stdout=False)
    return out


def _fixed_tree(repo, commit: str, fix_blob, dry_run: bool) -> tuple[str | None, int]:
    """The commit's tree with every blob fixed; (tree, blobs changed); no tree (and no
    object written) with `dry_run`."""
    rows = repo.git.ls_tree("-r", "--full-tree", commit).splitlines()
    changed = 0
    idx = os.path.join(repo.git_dir, f"csa-index-{os.getpid()}")
    env = {"GIT_INDEX_FILE": idx}
    entries = []
    for row in rows:
        meta, path = row.split("\t", 1)
        mode, _kind, blob = meta.split()
        data = _blob(repo, blob)
        fixed = fix_blob(path, data)
        if fixed != data:
            changed += 1
            if dry_run:
                continue
            blob = repo.git.hash_object("-w", "--stdin", istream=_stdin(fixed))
        entries.append(f"{mode},{blob},{path}")
    if dry_run:
        return None, changed
    try:
        for e in entries:
            repo.git.update_index("--add", "--cacheinfo", e, env=env)
        return repo.git.write_tree(env=env), changed
    finally:
        try:
            os.unlink(idx)
        except FileNotFoundError:
            pass


def _blob(repo, blob: str) -> bytes:
    return repo.git.cat_file("blob", blob, stdout_as_string=False,
                             strip_newline_in_stdout=False)


def _dates(repo, commit: str) -> dict:
    author, committer = repo.git.log("-1", "--format=%aI%x00%cI", commit).split("\x00")
    return {"GIT_AUTHOR_DATE": author, "GIT_COMMITTER_DATE": committer}


def _squash(repo, ref: str) -> None:
    """Replace a notes ref's history by one commit of its current tree."""
    head = tip(repo, ref)
    if head is None:
        return
    tree = repo.git.rev_parse(f"{head}^{{tree}}")
    repo.git.update_ref(ref, _commit(repo, tree, "Notes", None))


# -- migration from the shared-history layout ---------------------------------------------


def migrate(repo, existing_ids) -> int:
    """Move a repository of the old layout onto per-session refs; sessions migrated.
    `existing_ids()` gives the ids of the sessions that still exist (asked only when a
    migration is due)."""
    import tomllib

    if repo.git.config("--get", "csa.layout", with_exceptions=False) == LAYOUT:
        return 0
    existing = existing_ids()
    moved: set[str] = set()
    if tip(repo, OLD_NOTES_REF) is not None and tip(repo, "refs/heads/main") is not None:
        raw = repo.git.log("--reverse", f"--notes={OLD_NOTES_REF}",
                           "--format=%H%x00%N%x1e", "refs/heads/main")
        for record in raw.split("\x1e"):
            commit, _, note = record.strip("\n").partition("\x00")
            try:
                sid = tomllib.loads(note).get("session_id") if note.strip() else None
            except tomllib.TOMLDecodeError:
                sid = None
            if sid in existing and _move_one(repo, commit, sid, note):
                moved.add(sid)
        repo.git.update_ref("-d", OLD_NOTES_REF)
    _cut_main(repo)
    configure(repo)
    prune(repo)
    return len(moved)


def _move_one(repo, commit: str, sid: str, note: str) -> bool:
    import git

    try:
        sub = repo.git.rev_parse("--verify", "-q", f"{commit}:{sid}")
    except git.GitCommandError:
        return False
    tree = repo.git.mktree(istream=_stdin(f"040000 tree {sub}\t{sid}\n"))
    ref = branch(sid)
    parent = tip(repo, ref)
    message = repo.git.log("-1", "--format=%B", commit)
    new = _commit(repo, tree, message, parent, _dates(repo, commit))
    repo.git.update_ref(ref, new)
    add_note(repo, sid, new, note.strip("\n") + "\n")
    return True


def _cut_main(repo) -> None:
    """`main` back to one commit of `.gitignore`, the index to match."""
    tree = _tree_of(repo, [".gitignore"])
    root = _commit(repo, tree, "csa: sessions repository", None)
    repo.git.update_ref("refs/heads/main", root)
    repo.git.read_tree(root)
    for name in ("COMMIT_EDITMSG", "ORIG_HEAD"):
        try:
            os.unlink(os.path.join(repo.git_dir, name))
        except FileNotFoundError:
            pass
