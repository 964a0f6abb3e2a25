"""gemini-cli's own store: `~/.gemini/tmp/<project>/chats/session-*.json*`; files of one
`sessionId` (resumes, stub files) are merged.

    >>> GeminiReader().discover([])
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from csa.importers.base import (
    MAX_CONTEXT_TEXT,
    MAX_TOOL_TEXT,
    Parsed,
    Reader,
    Source,
    as_list,
    cut_text,
    file_mtime,
    flatten,
    head_objects,
    int_fields,
    is_context,
    json_text,
    jsonl_objects,
    source_files,
)
from csa.safeio import read_bytes


class GeminiReader(Reader):
    """gemini-cli 0.61: a header line (`sessionId`, `projectHash`, `startTime`), message
    lines, and `{"$set": {...}}` updates (a resume replays the history through one). A
    resume in a later minute writes a stub file with the same sessionId: files are merged
    by sessionId and messages deduplicated by id. Older versions: one `.json` object."""

    name, tool = "gemini", "gemini-cli"
    dedupe_by_id = True

    def default_paths(self) -> list[Path]:
        return [Path.home() / ".gemini" / "tmp"]

    def discover(self, paths: list[Path], here: Path | None) -> Iterator[Source]:
        groups: dict[str, list[tuple[Path, dict]]] = {}
        for f in source_files(paths, ("session-*.json", "session-*.jsonl")):
            head = self._header(f)
            sid = head.get("sessionId")
            if not isinstance(sid, str):
                sid = f"file:{f}"  # no header: read it on its own
            groups.setdefault(sid, []).append((f, head))
        for sid, items in groups.items():
            items.sort(key=lambda fh: fh[0].name)
            first, head = items[0]
            src = Source(key=str(first), path=str(first), files=[f for f, _ in items],
                         provider_id=None if sid.startswith("file:") else sid)
            src.mtime = max((m for m in (file_mtime(f) for f, _ in items) if m), default=None)
            src.cwd = self._cwd(first, head, here)
            src.meta["kind"] = head.get("kind")
            yield src

    @staticmethod
    def _header(f: Path) -> dict:
        if f.suffix == ".json":
            try:
                d = orjson.loads(read_bytes(f, "import-file"))
            except (OSError, orjson.JSONDecodeError):
                return {}
            return d if isinstance(d, dict) else {}
        return next(head_objects(f, 64 * 1024), {})

    @staticmethod
    def _cwd(f: Path, head: dict, here: Path | None) -> str | None:
        """The project dir: `<slug>/.project_root`, `projects.json`, or the projectHash."""
        slug_dir = f.parent.parent if f.parent.name == "chats" else f.parent
        try:
            text = read_bytes(slug_dir / ".project_root", "import-file").decode("utf-8", "replace").strip()
            if text:
                return text
        except OSError:
            pass
        try:
            mapping = orjson.loads(read_bytes((slug_dir.parent.parent / "projects.json"), "import-file"))
            for path, slug in (mapping.get("projects") or {}).items():
                if slug == slug_dir.name:
                    return path
        except (OSError, orjson.JSONDecodeError, AttributeError):
            pass
        # projectHash is sha256 of the project path: recognizes this project at least.
        h = head.get("projectHash")
        for cand in filter(None, (here, Path(os.getcwd()) if os.path.isdir(".") else None)):
            if h and hashlib.sha256(str(cand).encode()).hexdigest() == h:
                return str(cand)
        return None

    def read(self, src: Source, entry: dict) -> Parsed:
        p = Parsed(provider_id=src.provider_id, cwd=src.cwd)
        seen = set(entry.get("seen") or [])
        files_cur = dict(entry.get("files") or {})
        out_files = {}
        for f in src.files:
            cur = files_cur.get(str(f)) or {}
            if f.suffix == ".json":
                self._json_file(p, f, seen)
                out_files[str(f)] = {"offset": 0, "lines": 0}
                continue
            sub = Parsed()
            for _n, d in jsonl_objects(f, int(cur.get("offset") or 0), int(cur.get("lines") or 0),
                                sub):
                self._record(p, d, seen)
            p.bad.extend(sub.bad)
            p.pending_tail = p.pending_tail or sub.pending_tail
            out_files[str(f)] = {"offset": sub.cursor.get("offset", int(cur.get("offset") or 0)),
                                 "lines": sub.cursor.get("lines", int(cur.get("lines") or 0))}
        p.cursor["files"] = out_files
        p.cursor["seen"] = sorted(seen)
        if not p.cwd:
            p.cwd = self._cwd_from_context(p)
        return p

    def _json_file(self, p: Parsed, f: Path, seen: set) -> None:
        try:
            d = orjson.loads(read_bytes(f, "import-file"))
        except (OSError, orjson.JSONDecodeError):
            p.bad.append((str(f), 1, "invalid JSON"))
            return
        if not isinstance(d, dict):
            p.bad.append((str(f), 1, "not a JSON object"))
            return
        self._record(p, d, seen)

    def _record(self, p: Parsed, d: dict, seen: set) -> None:
        if "$set" in d and isinstance(d["$set"], dict):
            d = d["$set"]
        elif "type" in d and ("id" in d or "content" in d):
            self._message(p, d, seen)
            return
        if isinstance(d.get("sessionId"), str):
            p.provider_id = p.provider_id or d["sessionId"]
        for k in ("startTime", "lastUpdated"):
            p.touch(d.get(k))
        msgs = d.get("messages")
        if isinstance(msgs, list):
            for m in msgs:
                if isinstance(m, dict):
                    self._message(p, m, seen)
        known = {"sessionId", "projectHash", "startTime", "lastUpdated", "kind", "messages",
                 "summary", "directories"}
        if not (set(d) - known) or "messages" in d or "sessionId" in d:
            p.ignored += 1
        else:
            p.note_unknown(f"keys {sorted(d)[:5]}", d.get("lastUpdated"), self.name)

    def _message(self, p: Parsed, m: dict, seen: set) -> None:
        mid = m.get("id")
        if not isinstance(mid, str):
            mid = hashlib.sha256(orjson.dumps(m, option=orjson.OPT_SORT_KEYS)).hexdigest()[:32]
        if mid in seen:
            return  # replayed history on a resume, or a stub file's copy
        seen.add(mid)
        ts, mt = m.get("timestamp"), m.get("type")
        text = flatten(m.get("content"))
        if mt == "user":
            if is_context(text):
                p.add("system", cut_text(text, MAX_CONTEXT_TEXT), ts=ts, source=self.name, id=mid)
            else:
                p.add("user", text, ts=ts, source=self.name, id=mid)
        elif mt in ("gemini", "model", "assistant"):
            model = m.get("model") if isinstance(m.get("model"), str) else None
            p.model = model or p.model
            usage = int_fields(m.get("tokens"), {"input_tokens": "input", "output_tokens": "output",
                                            "cached_input_tokens": "cached",
                                            "reasoning_tokens": "thoughts"})
            first = None
            if text:
                first = p.add("assistant", text, ts=ts, source=self.name, id=mid, model=model)
            for call in as_list(m.get("toolCalls")):
                if not isinstance(call, dict):
                    continue
                ev = p.add("tool_call", json_text(call.get("args"), MAX_TOOL_TEXT), ts=ts,
                           source=self.name, name=str(call.get("name") or "tool"),
                           id=call.get("id"))
                first = first or ev
                if call.get("result") is not None or call.get("status") in ("error", "cancelled"):
                    res = call.get("resultDisplay") if isinstance(call.get("resultDisplay"), str) \
                        else self._result_text(call.get("result"))
                    p.add("tool_result", res or str(call.get("status") or ""), ts=ts,
                          source=self.name, id=call.get("id"),
                          is_error=call.get("status") in ("error", "cancelled"))
            if first is None:
                first = p.add("assistant", "", ts=ts, source=self.name, id=mid, model=model)
            if usage:
                first["usage"] = usage
        elif mt in ("info", "warning", "error"):
            p.add("system", cut_text(text, MAX_CONTEXT_TEXT), ts=ts, source=self.name, id=mid,
                  is_error=mt == "error")
        else:
            p.note_unknown(f"message type={mt!r}", ts, self.name)

    @staticmethod
    def _result_text(result: Any) -> str:
        # functionResponse parts: [{"functionResponse": {"response": {"output": ...}}}]
        if isinstance(result, list):
            out = []
            for r in result:
                resp = r.get("functionResponse", {}).get("response") if isinstance(r, dict) \
                    else None
                out.append(json_text(resp if resp is not None else r, MAX_TOOL_TEXT))
            return "\n".join(out)
        return flatten(result)

    @staticmethod
    def _cwd_from_context(p: Parsed) -> str | None:
        # The session-context preamble lists the workspace directories.
        for ev in p.events:
            m = re.search(r"Workspace Directories:\*\*\s*\n\s*-\s*(/[^\n]+)", ev["text"])
            if m:
                return m.group(1).strip()
        return None


# ---------------------------------------------------------------------------------------
# opencode: SQLite $XDG_DATA_HOME/opencode/opencode.db, or `opencode export <id>` JSON
# ---------------------------------------------------------------------------------------

