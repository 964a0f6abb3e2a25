#!/usr/bin/env python3
"""Benchmark the transcript hot path: redaction + JSONL writing of tool output.

Generates ~50 MB of typical AI-tool stdout in memory, then reports the median
of 5 runs for three cases. The corpus: the stream-json lines of
/work/shared/samples/*.jsonl with their text fields replaced by 1-21 lines of
real prose and code (Python stdlib sources, the shared docs); lines that carry
text are drawn 5x as often as bookkeeping lines (init, turn.started, ...), as in
a real turn; 40% plain text lines; ~0.1% lines carry a fake secret.


  (a) floor     orjson.loads + orjson.dumps of each line to a file, no redaction
  (b) writer    TranscriptWriter.append_stdout_line (redaction + writing)
  (c) redact    Redactor.text() on each raw line alone (no writing)

Also reports the false-positive rate on stdlib sources and the rule compile time.

Example::

    python tools/bench_transcript.py            # ~50 MB, 5 runs
    python tools/bench_transcript.py --mb 10 --runs 3
"""

from __future__ import annotations

import argparse
import glob
import os
import random
import re
import statistics
import string
import sys
import sysconfig
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import orjson

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from csa.redact import Redactor  # noqa: E402
from csa.transcript import TranscriptWriter, read_events  # noqa: E402

# Real CLI samples: the shared originals beside the repo, else the fakes' copies.
_SHARED = REPO.parent / "shared" if (REPO.parent / "shared").is_dir() else Path("/work/shared")
SAMPLES = str((_SHARED / "samples") if (_SHARED / "samples").is_dir()
              else REPO / "tools" / "fake_clis" / "samples") + "/*.jsonl"
TEXT_SOURCES = [  # prose and code an AI coding tool typically prints
    "argparse.py", "inspect.py", "subprocess.py", "pathlib.py", "json/decoder.py",
    "logging/__init__.py", "typing.py", "email/message.py", "asyncio/tasks.py",
]
TEXT_FIELDS = ("text", "result", "content")


def _text_pool() -> list[str]:
    stdlib = sysconfig.get_paths()["stdlib"]
    paths = [os.path.join(stdlib, name) for name in TEXT_SOURCES]
    paths += glob.glob(str(_SHARED / "*.md")) + glob.glob(str(REPO / "*.md"))
    pool: list[str] = []
    for p in paths:
        try:
            with open(p, encoding="utf-8") as f:
                pool += [line.rstrip("\n") for line in f if line.strip()]
        except OSError:
            continue
    if not pool:
        raise SystemExit("no text sources found")
    return pool


def _fake_secrets(rnd: random.Random) -> list[str]:
    """Well-formed fake secrets, assembled at run time (nothing real, nothing in the source)."""
    an = string.ascii_letters + string.digits

    def r(n: int, alphabet: str = an) -> str:
        return "".join(rnd.choice(alphabet) for _ in range(n))

    return [
        "sk-" + "proj-" + r(48),
        "sk-" + "ant-api03-" + r(93) + "AA",
        "gh" + "p_" + r(36),
        "AK" + "IA" + r(16, string.ascii_uppercase + "234567"),
        "xo" + "xb-" + r(12, string.digits) + "-" + r(24),
        "gl" + "pat-" + r(20),
        "hf" + "_" + r(34, string.ascii_letters),
        "eyJ" + r(20) + ".eyJ" + r(40) + "." + r(43),
    ]


def build_corpus(target_mb: float, seed: int = 7) -> tuple[list[str], list[str]]:
    """(lines, planted secrets) totalling about target_mb of UTF-8."""
    rnd = random.Random(seed)
    pool = _text_pool()
    samples = []
    for path in sorted(glob.glob(SAMPLES)):
        with open(path, "rb") as f:
            samples += [orjson.loads(line) for line in f if line.strip()]
    if not samples:
        raise SystemExit(f"no sample lines in {SAMPLES}")

    def chunk() -> str:
        n = rnd.choice((1, 1, 2, 3, 5, 8, 13, 21))
        i = rnd.randrange(len(pool))
        return "\n".join(pool[i:i + n])

    def vary(obj: object) -> object:
        if isinstance(obj, dict):
            return {k: (chunk() if k in TEXT_FIELDS and isinstance(v, str) else vary(v)) for k, v in obj.items()}
        if isinstance(obj, list):
            return [vary(v) for v in obj]
        return obj

    def has_text(obj: object) -> bool:
        if isinstance(obj, dict):
            return any(k in TEXT_FIELDS or has_text(v) for k, v in obj.items())
        return isinstance(obj, list) and any(has_text(v) for v in obj)

    weights = [5 if has_text(s) else 1 for s in samples]
    planted: list[str] = []
    lines: list[str] = []
    size = 0
    while size < target_mb * 1e6:
        if rnd.random() < 0.6:
            line = orjson.dumps(vary(rnd.choices(samples, weights)[0])).decode()
        else:
            line = rnd.choice(pool)
        if rnd.random() < 0.001:
            s = rnd.choice(_fake_secrets(rnd))
            planted.append(s)
            if line.startswith("{"):
                line = line[:-1] + ',"note":' + orjson.dumps(f"export API_TOKEN={s}").decode() + "}"
            else:
                line = f"{line} token {s}"
        lines.append(line)
        size += len(line.encode("utf-8", "surrogatepass")) + 1
    return lines, planted


def median_rate(fn: Callable[[], None], nbytes: int, runs: int) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return nbytes / 1e6 / statistics.median(times)


def compile_ms() -> float:
    """Milliseconds to compile the default rule set and gate in a fresh process."""
    import subprocess

    code = ("import time; t = time.perf_counter(); from csa.redact import Redactor; "
            "Redactor().text('x'); print((time.perf_counter() - t) * 1000)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=REPO, check=True)
    return float(out.stdout)


def fp_rate(redactor: Redactor) -> tuple[int, int]:
    """(lines changed, lines) over the stdlib sources the corpus is drawn from and more."""
    stdlib = sysconfig.get_paths()["stdlib"]
    names = TEXT_SOURCES + ["http/client.py", "smtplib.py", "ftplib.py", "urllib/request.py",
                            "getpass.py", "netrc.py", "ssl.py", "imaplib.py", "configparser.py"]
    lines: list[str] = []
    for name in names:
        try:
            with open(os.path.join(stdlib, name), encoding="utf-8") as f:
                lines += f.read().splitlines()
        except OSError:
            continue
    return sum(1 for ln in lines if redactor.text(ln) != ln), len(lines)


def measure(mb: float, runs: int, keep: str | None = None) -> dict:
    """Writer throughput with redaction, side by side with plain orjson, on one corpus
    (keep: move the writer's transcript there instead of deleting it)."""
    lines, planted = build_corpus(mb)
    nbytes = sum(len(s.encode("utf-8", "surrogatepass")) + 1 for s in lines)
    tmp = tempfile.mkdtemp(prefix="csa-bench-")
    floor_path = os.path.join(tmp, "floor.jsonl")
    writer_path = os.path.join(tmp, "transcript.jsonl")
    redactor = Redactor()

    def floor() -> None:
        loads, dumps, err = orjson.loads, orjson.dumps, orjson.JSONDecodeError
        with open(floor_path, "wb", buffering=64 * 1024) as f:
            for line in lines:
                try:
                    obj = loads(line)
                except err:
                    obj = line
                f.write(dumps(obj) + b"\n")

    def writer() -> None:
        if os.path.exists(writer_path):
            os.unlink(writer_path)
        with TranscriptWriter(writer_path, redactor=redactor) as tw:
            for line in lines:
                tw.append_stdout_line(line)

    def redact_only() -> None:
        for line in lines:
            redactor.text(line)

    res = {"mb": nbytes / 1e6, "lines": len(lines), "planted": len(set(planted)),
           "floor": median_rate(floor, nbytes, runs), "writer": median_rate(writer, nbytes, runs),
           "redact": median_rate(redact_only, nbytes, runs)}
    with open(writer_path, "rb") as f:
        data = f.read()
    found = re.compile(b"|".join(re.escape(s.encode()) for s in set(planted)))
    res["leaked"] = len({m.group() for m in found.finditer(data)})
    errors: list = []
    res["events"] = sum(1 for _ in read_events(writer_path, errors=errors))
    res["corrupt"] = len(errors)
    os.unlink(floor_path)
    if keep:
        os.replace(writer_path, keep)
    else:
        os.unlink(writer_path)
    os.rmdir(tmp)
    res["fp_changed"], res["fp_lines"] = fp_rate(redactor)
    res["compile_ms"] = compile_ms()
    return res


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mb", type=float, default=50.0, help="corpus size in MB (default 50)")
    ap.add_argument("--runs", type=int, default=5, help="runs per case; the median counts (default 5)")
    args = ap.parse_args(argv)
    r = measure(args.mb, args.runs)
    print(f"corpus: {r['mb']:.1f} MB, {r['lines']} lines, {r['planted']} planted secrets")
    print(f"\n{'case':44s} {'MB/s':>8s} {'vs floor':>9s}")
    for name, key in (("(a) floor: orjson loads+dumps to file", "floor"),
                      ("(b) TranscriptWriter.append_stdout_line", "writer"),
                      ("(c) Redactor.text per line, no writing", "redact")):
        print(f"{name:44s} {r[key]:8.1f} {r[key] / r['floor']:8.2f}x")
    print(f"\nwriter output: {r['events']} events (expected {r['lines']}), {r['corrupt']} corrupt, "
          f"{r['leaked']} of {r['planted']} planted secrets found on disk")
    print(f"false positives: {r['fp_changed']} of {r['fp_lines']} stdlib lines changed "
          f"({100 * r['fp_changed'] / max(1, r['fp_lines']):.3f}%); rule compile {r['compile_ms']:.0f} ms")
    ok = r["writer"] >= 50 and r["leaked"] == 0 and r["events"] == r["lines"] and not r["corrupt"]
    print(f"target (b) >= 50 MB/s with no leak: {'OK' if ok else 'NOT MET'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
