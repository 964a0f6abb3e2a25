"""Every byte csa keeps under a state dir, for 'deleting means gone' and scrub tests.

    >>> where(state_dir, b"zq0123456789abcdef")    # ['p/sessions/.git/objects/ab/cd..', ...]
"""

from __future__ import annotations

import os
import subprocess
import zlib
from pathlib import Path


def _views(path: Path, data: bytes) -> list[bytes]:
    """The file's bytes plus, for a loose git object, its inflated content."""
    out = [data]
    if "/objects/" in str(path) and not path.name.endswith((".pack", ".idx")):
        try:
            out.append(zlib.decompress(data))
        except zlib.error:
            pass
    return out


def _git_objects(repo: Path) -> bytes:
    """Every object (loose and packed, reachable or not) with its content, inflated."""
    res = subprocess.run(["git", "-C", str(repo), "cat-file", "--batch-all-objects", "--batch"],
                         capture_output=True, check=True)
    return res.stdout


def where(state_dir: Path, *needles: bytes) -> list[str]:
    """Files (and git repositories' object stores) under `state_dir` holding any needle."""
    hits = []
    for dirpath, _dirs, files in os.walk(state_dir):
        for name in files:
            path = Path(dirpath) / name
            try:
                data = path.read_bytes()
            except OSError:
                continue
            if any(n in v or n in v.lower() for v in _views(path, data) for n in needles):
                hits.append(str(path.relative_to(state_dir)))
        if os.path.basename(dirpath) == ".git":
            blob = _git_objects(Path(dirpath).parent)
            if any(n in blob or n in blob.lower() for n in needles):
                hits.append(f"{Path(dirpath).relative_to(state_dir)} (git objects)")
    return hits
