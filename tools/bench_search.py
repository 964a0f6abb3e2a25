#!/usr/bin/env python3
"""Search indexing throughput and query latency, each next to SQLite FTS5 alone on the same
texts in the same run (the floor).

    python tools/bench_search.py --mb 128              # about a minute on an idle machine
    python tools/bench_search.py --mb 1024 --dir /var/tmp   # the issue's 1 GB corpus, on disk
    python tools/bench_search.py --mb 256 --ceilings   # also FTS5 alone in cheaper shapes
    python tools/bench.py --only search                # the same, as rows of the full bench

The corpus: sessions of 4 MB of codex-shaped transcript events, 40 Zipf-distributed words
each (common words match a large share of the events, so ranking has real work to do).
Floors: one FTS5 table with the same tokenizer fed the same texts in one transaction (no
journal, texts read with orjson, no csa code); for queries, that table's own bm25 top 20.
`--ceilings` adds FTS5 alone in shapes that do less work and give something csa needs up
(CEILINGS): what no index in SQLite FTS5 could beat here.
Rates are in MB of transcript per second, wall and CPU (the process's user + system time,
which a loaded machine inflates far less than wall time).
"""

from __future__ import annotations

import argparse
import itertools
import os
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

PER_SESSION = 4 * 2**20
VOCAB = ["database", "migration", "timeout", "flaky", "refactor", "parser", "deadlock",
         "cache"] + [f"w{i}" for i in range(20000)]
TOKENIZE = "tokenize = 'unicode61 remove_diacritics 2'"


def corpus(base: Path, project: Path, mb: int, seed: int = 42) -> tuple[list[Path], int]:
    """Sessions of synthetic transcripts under state base `base`; (paths, bytes)."""
    import orjson

    from csa.store import Store

    store = Store(base, project)
    store.ensure()
    rng = random.Random(seed)
    cum = list(itertools.accumulate(1 / (i + 1) for i in range(len(VOCAB))))
    pool = [" ".join(rng.choices(VOCAB, cum_weights=cum, k=40)) for _ in range(50_000)]
    paths, total = [], 0
    for i in range(max(1, mb * 2**20 // PER_SESSION)):
        _, st, _ = store.create(description=f"synthetic session {i}")
        path = store.session(st.meta_session_id).transcript_path
        lines, size, seq = [], 0, 0
        while size < PER_SESSION:
            ev = {"v": 1, "seq": seq, "ts": "2026-11-21T10:00:00.000Z", "type": "event",
                  "event": {"type": "item.completed",
                            "item": {"type": "agent_message", "text": rng.choice(pool)}}}
            line = orjson.dumps(ev) + b"\n"
            lines.append(line)
            size += len(line)
            seq += 1
        path.write_bytes(b"".join(lines))
        paths.append(path)
        total += size
    return paths, total


# FTS5 alone in other shapes, on the same texts (`--ceilings`): how much less work an index
# that gave something up would do. Each gives up what csa promises or needs (module
# doc of csa.search and docs/performance.md): (name, options, events per row).
CEILINGS = [("contentless (content=''): no stored text", "content=''", 1),
            ("detail=column: no positions", "detail=column", 1),
            ("detail=none: no positions, no columns", "detail=none", 1),
            ("8 consecutive events per row", "", 8)]


def fts_floor(paths: list[Path], db: Path, options: str = "", per_row: int = 1
              ) -> tuple[float, float]:
    """(wall s, CPU s) for FTS5 alone to index the transcripts' texts; leaves `db`. The
    floor is the default table (full content, detail=full), one text per row."""
    import orjson

    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA journal_mode=OFF")
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute(f"CREATE VIRTUAL TABLE t USING fts5(text, {options + ', ' if options else ''}"
                 f"{TOKENIZE})")
    t, c = time.perf_counter(), time.process_time()
    conn.execute("BEGIN")
    for path in paths:
        with open(path, "rb") as f:
            texts = (orjson.loads(line)["event"]["item"]["text"] for line in f)
            if per_row > 1:
                texts = _grouped(texts, per_row)
            conn.executemany("INSERT INTO t VALUES (?)", ((text,) for text in texts))
    conn.execute("COMMIT")
    took = time.perf_counter() - t, time.process_time() - c
    conn.close()
    return took


def _grouped(texts, n: int):
    """The texts joined by newlines, `n` at a time."""
    while group := list(itertools.islice(texts, n)):
        yield "\n".join(group)


def queries(n: int, seed: int = 7) -> list[str]:
    """One or two words from the head and the middle of the distribution."""
    rng = random.Random(seed)
    return [" ".join(rng.choice(VOCAB[: 8 + rng.choice((8, 200, 2000))])
                     for _ in range(rng.choice((1, 2)))) for _ in range(n)]


def cpu_with_children() -> float:
    """CPU seconds (user + system) of this process and its waited-for children: the
    rebuild fills its shards in child processes."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def timed(fn, items) -> list[float]:
    out = []
    for item in items:
        t = time.perf_counter()
        fn(item)
        out.append(time.perf_counter() - t)
    return out


def p95(times: list[float]) -> float:
    return sorted(times)[max(0, int(0.95 * len(times)) - 1)]


def measure(mb: int, n_queries: int = 100, where: str | None = None,
            ceilings: bool = False) -> dict:
    """Every figure of one run (see the module doc)."""
    from csa.search import Index, index_files
    from csa.search_query import Filters, find
    from csa.store import Store

    tmp = Path(tempfile.mkdtemp(prefix="csa-bench-search-", dir=where))
    try:
        base, project = tmp / "state", tmp / "proj"
        project.mkdir()
        t = time.perf_counter()
        paths, total = corpus(base, project, mb)
        r = {"mb": total / 2**20, "sessions": len(paths), "write_s": time.perf_counter() - t,
             "load_before": os.getloadavg()[0]}
        r["floor_s"], r["floor_cpu_s"] = fts_floor(paths, tmp / "floor.sqlite3")
        if ceilings:
            r["ceilings"] = [(name, fts_floor(paths, tmp / f"ceiling{i}.sqlite3", options, n)[1])
                             for i, (name, options, n) in enumerate(CEILINGS)]
        t, c = time.perf_counter(), cpu_with_children()
        idx = Index(base)  # a fresh index builds itself from every transcript
        r["build_s"], r["build_cpu_s"] = time.perf_counter() - t, cpu_with_children() - c
        r["shards"] = len(idx.shards)
        qs = queries(n_queries)
        floor = sqlite3.connect(tmp / "floor.sqlite3")
        r["floor_q"] = timed(lambda q: floor.execute(
            "SELECT rowid, snippet(t, 0, '[', ']', '…', 16) FROM t WHERE t MATCH ? "
            "ORDER BY rank LIMIT 20", (q,)).fetchall(), qs)
        floor.close()
        filters = Filters(project=str(project))
        r["csa_q"] = timed(lambda q: find(idx.conns, q, filters, 20), qs)
        # Through the library entry point (opens the index, checks every session's size).
        store = Store(base, project)
        from csa.search import search

        r["search_q"] = timed(lambda q: search(store, q, limit=20), qs[:20])
        r["update"] = _updates(idx, store, paths)
        r["index_mb"] = sum(os.path.getsize(p) for p in index_files(base)) / 2**20
        idx.close()
        r["load_after"] = os.getloadavg()[0]
        return r
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _updates(idx, store, paths: list[Path]) -> list[float]:
    """An incremental update after a turn of 5 events, 20 times."""
    import orjson

    out = []
    for k in range(20):
        path = paths[k % len(paths)]
        with open(path, "ab") as f:
            for j in range(5):
                f.write(orjson.dumps({"v": 1, "seq": 10_000_000 + k * 10 + j,
                                      "ts": "2026-11-21T11:00:00.000Z", "type": "stdout",
                                      "text": f"turn {k} line {j} w{k * 7 + j}"}) + b"\n")
        t = time.perf_counter()
        idx.update_session(store.session(path.parent.name))
        out.append(time.perf_counter() - t)
    return out


def rows(r: dict) -> list[tuple[str, str, str, str]]:
    """(measurement, value, ratio/detail, target) rows of a run."""
    mb = r["mb"]
    ms = lambda s: f"{s * 1000:.1f} ms"  # noqa: E731
    return [
        ("FTS5 insert of the same texts, no csa code (floor)",
         f"{mb / r['floor_s']:.1f} MB/s", f"CPU {mb / r['floor_cpu_s']:.1f} MB/s", ""),
        *[(f"  FTS5 alone, {name}", f"CPU {mb / cpu:.1f} MB/s",
           f"{r['floor_cpu_s'] / cpu:.2f}x floor CPU", "") for name, cpu in r.get("ceilings", [])],
        (f"index {mb:.0f} MB of transcripts ({r['sessions']} sessions, "
         f"{r['shards']} shards)",
         f"{mb / r['build_s']:.1f} MB/s",
         f"CPU {mb / r['build_cpu_s']:.1f} MB/s; {r['floor_s'] / r['build_s']:.2f}x floor, "
         f"CPU {r['floor_cpu_s'] / r['build_cpu_s']:.2f}x",
         ">= 30 MB/s"),
        ("FTS5 bm25 top 20 + snippet, same texts (floor), median",
         ms(statistics.median(r["floor_q"])), f"p95 {ms(p95(r['floor_q']))}", ""),
        (f"{len(r['csa_q'])} queries, one hit per session, median",
         ms(statistics.median(r["csa_q"])), f"p95 {ms(p95(r['csa_q']))}", "p95 <= 50 ms"),
        ("csa.search.search (opens the index, catches up), 20 queries, median",
         ms(statistics.median(r["search_q"])), f"p95 {ms(p95(r['search_q']))}", ""),
        ("incremental index update after a turn (5 events), median",
         ms(statistics.median(r["update"])), "", "<= 20 ms"),
        ("index file size", f"{r['index_mb']:.0f} MB", f"{r['index_mb'] / mb:.2f}x corpus", ""),
    ]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mb", type=int, default=128, help="corpus size in MB")
    ap.add_argument("--queries", type=int, default=100)
    ap.add_argument("--dir", help="where the corpus goes (default: the temp dir)")
    ap.add_argument("--ceilings", action="store_true",
                    help="also FTS5 alone in shapes that give something up (CEILINGS)")
    args = ap.parse_args()
    r = measure(args.mb, args.queries, args.dir, args.ceilings)
    for name, value, detail, target in rows(r):
        print(f"{name:<72} {value:>12}  {detail:<36} {target}")
    print(f"load {r['load_before']:.1f} -> {r['load_after']:.1f}, {os.cpu_count()} cores, "
          f"corpus written at {r['mb'] / r['write_s']:.0f} MB/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
