"""opencode's own store: its SQLite database (read-only), else `opencode export`.

    >>> OpenCodeReader().discover([])
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from csa.errors import CsaError
from csa.importers.base import (
    BAD_LINE,
    MAX_CONTEXT_TEXT,
    MAX_TOOL_TEXT,
    Parsed,
    Reader,
    Source,
    as_list,
    cut_text,
    file_mtime,
    flatten,
    int_fields,
    json_text,
    loads_lenient,
    parse_ts,
    source_files,
)
from csa.safeio import read_bytes

# Part types the digest marks (csa.digest): a compaction boundary, a retried request.
_SUBTYPES = {"compaction": "compact_boundary", "retry": "retry"}


class OpenCodeReader(Reader):
    """opencode 1.18 keeps sessions in SQLite. Sessions are listed from the database
    (read-only; child sessions name their parent) or `opencode session list --format json`;
    each changed session is read as `opencode export <id>` JSON, built from the same rows
    (`session`, `message`, `part`) when the database is readable, else by running the
    binary. With --path, export JSON files (or a database) are read."""

    name, tool = "opencode", "opencode"

    def __init__(self) -> None:
        self._binary: str | None | bool = False  # False: not looked up yet

    def default_paths(self) -> list[Path]:
        data = os.environ.get("XDG_DATA_HOME") or os.path.join(Path.home(), ".local", "share")
        return [Path(data) / "opencode" / "opencode.db"]

    def binary(self) -> str | None:
        if self._binary is False:
            from csa.config import load_config

            try:
                configured = load_config().tool("opencode").binary
            except CsaError:
                configured = None
            wanted = os.path.expanduser(configured) if configured else "opencode"
            self._binary = shutil.which(wanted)
        return self._binary  # type: ignore[return-value]

    def discover(self, paths: list[Path], here: Path | None) -> Iterator[Source]:
        explicit = bool(paths) and paths != self.default_paths()
        dbs, exports = [], []
        for f in source_files(paths, ("*.json", "opencode.db")):
            (dbs if f.suffix == ".db" else exports).append(f)
        for f in exports:
            src = self._export_source(f)
            if src is not None:
                yield src
        rows: list[dict] = []
        for db in dbs:
            rows.extend(self._db_rows(db))
        if not dbs and not explicit and self.binary():
            rows = self._cli_rows()
        # Parents first, so a child session can be attached to its parent's csa session.
        rows.sort(key=lambda r: (r.get("parent_id") is not None, r.get("created") or 0))
        by_id = {r["id"]: r for r in rows}
        for r in rows:
            key = f"{r['db']}#{r['id']}" if r.get("db") else f"opencode:{r['id']}"
            parent = by_id.get(r.get("parent_id") or "")
            src = Source(key=key, path=key, provider_id=r["id"], cwd=r.get("directory"),
                         updated_ms=r.get("updated"), meta={"row": r},
                         mtime=parse_ts(r.get("updated")))
            if parent is not None:
                src.parent_key = (f"{parent['db']}#{parent['id']}" if parent.get("db")
                                  else f"opencode:{parent['id']}")
            yield src

    def _export_source(self, f: Path) -> Source | None:
        try:
            d = orjson.loads(read_bytes(f, "import-file"))
        except (OSError, orjson.JSONDecodeError):
            return Source(key=str(f), path=str(f), files=[f], mtime=file_mtime(f),
                          meta={"broken": "invalid JSON"})
        info = d.get("info") if isinstance(d, dict) else None
        if not isinstance(info, dict) or not isinstance(info.get("id"), str):
            return None  # some other JSON file in the directory
        t = info.get("time") if isinstance(info.get("time"), dict) else {}
        return Source(key=str(f), path=str(f), files=[f], provider_id=info["id"],
                      cwd=info.get("directory"), mtime=file_mtime(f),
                      meta={"export": d, "updated": t.get("updated")})

    @staticmethod
    def _connect(db: Path):
        import sqlite3
        from urllib.parse import quote

        return sqlite3.connect(f"file:{quote(str(db))}?mode=ro", uri=True, timeout=5)

    def _db_rows(self, db: Path) -> list[dict]:
        import sqlite3

        try:
            con = self._connect(db)
            try:
                cur = con.execute("SELECT id, parent_id, directory, title, time_created, "
                                  "time_updated FROM session")
                return [{"id": i, "parent_id": pid, "directory": d, "title": t, "created": c,
                         "updated": u, "db": str(db)} for i, pid, d, t, c, u in cur]
            finally:
                con.close()
        except sqlite3.Error:
            if self.binary():
                return self._cli_rows()
            return []

    def _cli_rows(self) -> list[dict]:
        out = self._run(["session", "list", "--format", "json"])
        rows = []
        for r in out if isinstance(out, list) else []:
            if isinstance(r, dict) and isinstance(r.get("id"), str):
                rows.append({"id": r["id"], "parent_id": r.get("parentID"),
                             "directory": r.get("directory"), "title": r.get("title"),
                             "created": r.get("created"), "updated": r.get("updated")})
        return rows

    def _run(self, args: list[str]) -> Any:
        import subprocess

        binary = self.binary()
        if not binary:
            return None
        from csa.config import load_config

        env = dict(os.environ)
        try:
            env.update(load_config().tool("opencode").env)
        except CsaError:
            pass
        try:
            proc = subprocess.run([binary, *args], capture_output=True, stdin=subprocess.DEVNULL,
                                  timeout=120, env=env)
        except (OSError, subprocess.TimeoutExpired):
            return None
        if proc.returncode != 0:
            return None
        obj = loads_lenient(proc.stdout)
        return None if obj is BAD_LINE else obj

    def _db_export(self, db: str, sid: str) -> dict | None:
        """The `opencode export` object, from the rows it is made of."""
        import sqlite3

        try:
            con = self._connect(Path(db))
            try:
                row = con.execute("SELECT id, parent_id, directory, title, time_created, "
                                  "time_updated, cost, tokens_input, tokens_output, model "
                                  "FROM session WHERE id = ?", (sid,)).fetchone()
                if row is None:
                    return None
                msgs = con.execute("SELECT id, data FROM message WHERE session_id = ? "
                                   "ORDER BY time_created, id", (sid,)).fetchall()
                parts = con.execute("SELECT id, message_id, data FROM part WHERE session_id = ? "
                                    "ORDER BY time_created, id", (sid,)).fetchall()
            finally:
                con.close()
        except sqlite3.Error:
            return None
        by_msg: dict[str, list] = {}
        for pid, mid, data in parts:
            obj = loads_lenient(data.encode() if isinstance(data, str) else data)
            if isinstance(obj, dict):
                by_msg.setdefault(mid, []).append({**obj, "id": pid, "sessionID": sid,
                                               "messageID": mid})
        messages = []
        for mid, data in msgs:
            obj = loads_lenient(data.encode() if isinstance(data, str) else data)
            if isinstance(obj, dict):
                messages.append({"info": {**obj, "id": mid, "sessionID": sid},
                                 "parts": by_msg.get(mid, [])})
        model = loads_lenient(row[9].encode()) if isinstance(row[9], str) else None
        info = {"id": row[0], "parentID": row[1], "directory": row[2], "title": row[3],
                "time": {"created": row[4], "updated": row[5]}, "cost": row[6],
                "tokens": {"input": row[7], "output": row[8]},
                "model": model if isinstance(model, dict) else None}
        return {"info": info, "messages": messages}

    def read(self, src: Source, entry: dict) -> Parsed:
        p = Parsed(provider_id=src.provider_id, cwd=src.cwd)
        if src.meta.get("broken"):
            p.bad.append((src.path, 1, src.meta["broken"]))
            p.problem = f"{src.path}: {src.meta['broken']}"
            return p
        data = src.meta.get("export")
        row = src.meta.get("row") or {}
        if data is None and row.get("db"):
            data = self._db_export(row["db"], row["id"])
        if data is None:
            data = self._run(["export", str(src.provider_id)])
        if not isinstance(data, dict):
            p.problem = f"opencode session {src.provider_id}: could not be read"
            return p
        self._session(p, data, entry)
        updated = src.updated_ms if src.updated_ms is not None else src.meta.get("updated")
        if updated is not None:
            p.cursor["updated"] = updated
        return p

    def _session(self, p: Parsed, data: dict, entry: dict) -> None:
        info = data.get("info") if isinstance(data.get("info"), dict) else {}
        p.provider_id = p.provider_id or info.get("id")
        p.cwd = p.cwd or info.get("directory")
        p.title = info.get("title") if isinstance(info.get("title"), str) else None
        t = info.get("time") if isinstance(info.get("time"), dict) else {}
        p.touch(t.get("created"))
        cost = info.get("cost")
        if isinstance(cost, int | float) and not isinstance(cost, bool):
            p.cost_usd = float(cost)
        model = info.get("model") if isinstance(info.get("model"), dict) else {}
        if model.get("id"):
            p.model = "/".join(str(x) for x in (model.get("providerID"), model.get("id")) if x)
        msgs = [m for m in as_list(data.get("messages")) if isinstance(m, dict)
                and isinstance(m.get("info"), dict)]
        # Messages come in id order (opencode ids ascend with time): resume after the
        # last one imported; a message still being written waits for the next run.
        last_id = entry.get("last_id")
        start = 0
        if last_id:
            ids_ = [m["info"].get("id") for m in msgs]
            if last_id in ids_:
                start = ids_.index(last_id) + 1
            else:  # history rewritten (revert): everything newer than the last one seen
                start = next((i for i, x in enumerate(ids_) if str(x) > last_id), len(msgs))
        p.cursor["last_id"] = last_id
        for m in msgs[start:]:
            mi = m["info"]
            complete = mi.get("role") != "assistant" or bool(
                (mi.get("time") or {}).get("completed") or mi.get("finish") or mi.get("error"))
            if not complete:
                p.pending_tail = True
                break
            self._message(p, mi, [x for x in as_list(m.get("parts")) if isinstance(x, dict)])
            p.cursor["last_id"] = mi.get("id")
        p.touch(t.get("updated"))

    def _message(self, p: Parsed, mi: dict, parts: list[dict]) -> None:
        role = mi.get("role")
        t = mi.get("time") if isinstance(mi.get("time"), dict) else {}
        ts = t.get("created")
        if role == "user":
            said, ctx = [], []
            for part in parts:
                pt = part.get("type")
                if pt == "text" and isinstance(part.get("text"), str):
                    (ctx if part.get("synthetic") else said).append(part["text"])
                elif pt == "file":
                    said.append(f"[file {part.get('filename') or part.get('url') or ''}]".strip())
                elif pt:
                    ctx.append(f"[{pt}]")
            if said:
                p.add("user", "\n".join(said), ts=ts, source=self.name, id=mi.get("id"))
            if ctx:
                p.add("system", cut_text("\n".join(ctx), MAX_CONTEXT_TEXT), ts=ts,
                      source=self.name, id=mi.get("id"))
            return
        if role != "assistant":
            p.note_unknown(f"message role={role!r}", ts, self.name)
            return
        model = "/".join(str(x) for x in (mi.get("providerID"), mi.get("modelID")) if x) or None
        p.model = model or p.model
        for part in parts:
            pt = part.get("type")
            pts = (part.get("time") or {}).get("start") if isinstance(part.get("time"), dict) \
                else None
            if pt == "text" and isinstance(part.get("text"), str):
                p.add("assistant", part["text"], ts=pts or ts, source=self.name,
                      id=mi.get("id"), model=model)
            elif pt == "tool":
                st = part.get("state") if isinstance(part.get("state"), dict) else {}
                p.add("tool_call", json_text(st.get("input"), MAX_TOOL_TEXT), ts=pts or ts,
                      source=self.name, name=str(part.get("tool") or "tool"),
                      id=part.get("callID"))
                if st.get("status") in ("completed", "error"):
                    out = st.get("output") if st.get("status") == "completed" else st.get("error")
                    p.add("tool_result", flatten(out), ts=(st.get("time") or {}).get("end")
                          if isinstance(st.get("time"), dict) else ts, source=self.name,
                          id=part.get("callID"), is_error=st.get("status") == "error")
            elif pt == "step-finish":
                tok = part.get("tokens") if isinstance(part.get("tokens"), dict) else {}
                usage = int_fields(tok, {"input_tokens": "input", "output_tokens": "output",
                                    "reasoning_tokens": "reasoning"})
                usage.update(int_fields(tok.get("cache"), {"cached_input_tokens": "read"}))
                p.attach_usage({k: v for k, v in usage.items() if v}, ts, self.name)
            elif pt in ("step-start", "reasoning", "snapshot", "patch"):
                continue
            elif pt in ("compaction", "agent", "subtask", "retry"):
                p.add("system", f"[{pt}]", ts=ts, source=self.name,
                      subtype=_SUBTYPES.get(pt))
            else:
                p.note_unknown(f"part type={pt!r}", ts, self.name)
        err = mi.get("error")
        if err:
            msg = err.get("data", {}).get("message") if isinstance(err, dict) and \
                isinstance(err.get("data"), dict) else None
            name = err.get("name") if isinstance(err, dict) else None
            p.add("system", str(msg or name or err), ts=t.get("completed") or ts,
                  source=self.name, is_error=True)
        p.touch(t.get("completed"))


