"""Mock LLM HTTP server that the real AI CLIs accept, for offline end-to-end tests.

Speaks just enough of four wire APIs for claude-code, codex, gemini-cli and
opencode to create and resume sessions against 127.0.0.1:

* Anthropic Messages      ``POST /v1/messages[?beta=true]``  (SSE or plain JSON)
* OpenAI Responses        ``POST /v1/responses``             (SSE or plain JSON)
* OpenAI Chat Completions ``POST /v1/chat/completions``      (SSE or plain JSON)
* Gemini                  ``POST /v1beta/models/<m>:streamGenerateContent?alt=sse``
  and ``:generateContent`` (JSON-schema replies when JSON is requested)

Every model reply is ``MOCK-REPLY #<n> (user turns seen: <k>)``: ``n`` counts the
model replies this server produced, ``k`` counts the conversational user turns
in the request, so a resumed session visibly carried its history (1, then 2).
An optional secret is appended to every text reply for redaction tests.
A script (tools/mock_script.py) makes chosen prompts answer with a call of the
CLI's shell tool, and the follow-up that carries its result with a final text;
an error rule (``{"error": "rate_limit", "apis": ["gemini"]}``) answers with a
429/529/quota/auth failure in the provider's format (tools/mock_errors.py).
Wire formats live in tools/mock_wire.py, turn counting in tools/mock_turns.py, JSON
replies in tools/mock_schema.py.

Library example::

    with MockLLM(secret="s3cr3t") as mock:
        env = {"ANTHROPIC_BASE_URL": mock.base_url}
        ...  # run a CLI
        assert mock.requests[-1]["user_turns"] == 2
        mock.script = [{"when": "spawn", "shell": "echo hi", "then": "got {output}"}]

Command line example::

    python tools/mock_llm.py --port 0 --log /tmp/mock.jsonl   # first line: PORT=<n>
    python tools/mock_llm.py --script rules.json              # or MOCK_LLM_SCRIPT=rules.json
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import gzip
import json
import os
import re
import signal
import sys
import threading
import time
import uuid
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from mock_errors import error_reply
from mock_schema import gemini_json_schema, schema_instance
from mock_script import Rule, decide, load_rules, scripted_error, scripted_hold
from mock_turns import count_user_turns, latest_user_text
from mock_wire import Call, Text, reply

__all__ = ["MockLLM", "count_user_turns", "reply_text", "schema_instance"]

LOOPBACK = "127.0.0.1"
CLONE_NEWNET = 0x40000000


def reply_text(n: int, user_turns: int, secret: str | None = None) -> str:
    """The text of model reply number ``n``.

    Example: ``reply_text(3, 2) -> "MOCK-REPLY #3 (user turns seen: 2)"``
    """
    text = f"MOCK-REPLY #{n} (user turns seen: {user_turns})"
    return f"{text} {secret}" if secret else text


def _classify(method: str, path: str) -> tuple[str, str | None, bool | None]:
    """Map a request to (api kind, model from the URL, streaming from the URL).

    Example: ``_classify("POST", "/v1beta/models/g:generateContent") -> ("gemini", "g", False)``
    """
    if method in ("GET", "HEAD") and path == "/":
        return "probe", None, None
    if method != "POST":
        return "unknown", None, None
    if path == "/v1/messages":
        return "anthropic", None, None
    if path == "/v1/responses":
        return "responses", None, None
    if path == "/v1/chat/completions":
        return "chat", None, None
    m = re.fullmatch(
        r"/v1(?:beta|alpha|)/models/([^/:]+):(streamGenerateContent|generateContent)", path
    )
    if m:
        return "gemini", m.group(1), m.group(2) == "streamGenerateContent"
    return "unknown", None, None


def _stream_flag(body: Any, url_stream: bool | None) -> bool:
    """Gemini says it in the URL (stream vs generate); the others in the body's ``stream``."""
    if url_stream is not None:
        return url_stream
    return bool(isinstance(body, dict) and body.get("stream"))


def _in_netns(ns_path: str, fn: Any) -> Any:
    """Call ``fn`` in a helper thread that first joined the network namespace ``ns_path``.

    setns(CLONE_NEWNET) moves only the calling thread, so the listening socket
    is created inside the namespace while no other thread changes namespace.
    Python 3.11 has no os.setns, hence libc.

    Example: ``_in_netns("/proc/1234/ns/net", lambda: socket.create_server(("127.0.0.1", 0)))``
    """
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            fd = os.open(ns_path, os.O_RDONLY)
            try:
                if hasattr(os, "setns"):
                    os.setns(fd, CLONE_NEWNET)
                else:
                    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
                    if libc.setns(fd, CLONE_NEWNET) != 0:
                        err = ctypes.get_errno()
                        raise OSError(err, f"setns({ns_path}): {os.strerror(err)}")
            finally:
                os.close(fd)
            box["value"] = fn()
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller
            box["error"] = exc

    t = threading.Thread(target=target, name="mock-llm-netns", daemon=True)
    t.start()
    t.join()
    if "error" in box:
        raise box["error"]
    return box["value"]


def _model_reply(mock: MockLLM, api: str, body: dict, url_model: str | None,
                 record: dict[str, Any]) -> tuple[int, str, bytes]:
    """Answer one model request (JSON for a schema, a scripted tool call, or text) and
    note what was answered in ``record``: ``n``, ``reply``, and ``tool_call`` /
    ``tool_output`` when the script was involved."""
    hold = scripted_hold(mock.rules(), api, latest_user_text(api, body))
    if hold:  # a turn kept in flight (for cancel tests); stop() ends the wait
        with mock._lock:
            mock.holds.append({"time": time.time(), "api": api, "seconds": hold})
        record["held"] = hold
        mock._stopping.wait(hold)
    kind = scripted_error(mock.rules(), api, latest_user_text(api, body))
    if kind is not None:  # a scripted API failure (tools/mock_errors.py)
        status, error = error_reply(api, kind)
        record["error"] = kind
        return status, "application/json", json.dumps(error).encode()
    n = record["n"] = mock._next_reply_number()
    schema = gemini_json_schema(body) if api == "gemini" else None
    action = None if schema is not None else decide(
        mock.rules(), api, body, latest_user_text(api, body))
    part: Text | Call
    if schema is not None:
        # A JSON reply must stay parseable, so the secret is not appended here.
        part = Text(json.dumps(schema_instance(schema)))
        record["json_reply"] = True
    elif action is not None and action[0] == "call":
        part = action[1]
        record["tool_call"] = {"name": part.name, "args": part.args, "call_id": part.call_id}
    else:
        text = reply_text(n, record["user_turns"])
        if action is not None:  # the follow-up carrying a scripted call's result
            record["tool_output"] = action[1][1]
            text = action[1][0] or text
        part = Text(f"{text} {mock.secret}" if mock.secret else text)
    record["reply"] = part.text if isinstance(part, Text) else None
    return (200, *reply(api, body, url_model, part, record["stream"]))


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # Keep-alive handler threads must not hold up stop().
    block_on_close = False
    mock: MockLLM


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "MockLLM/1.0"
    # Idle keep-alive connections are dropped after this, so threads do not pile up.
    timeout = 60
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        # The structured request log replaces the stderr access log.
        return

    def do_HEAD(self) -> None:  # noqa: N802 - stdlib naming
        self._handle("HEAD")

    def do_GET(self) -> None:  # noqa: N802
        self._handle("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._handle("POST")

    def do_PUT(self) -> None:  # noqa: N802
        self._handle("PUT")

    def do_DELETE(self) -> None:  # noqa: N802
        self._handle("DELETE")

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    # Trailer section ends with an empty line.
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            raw = b"".join(chunks)
        else:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        enc = (self.headers.get("Content-Encoding") or "").lower()
        if enc == "gzip":
            raw = gzip.decompress(raw)
        elif enc == "deflate":
            raw = zlib.decompress(raw)
        return raw

    def _send(self, status: int, ctype: str, payload: bytes, head: bool = False) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(payload)))
        if ctype == "text/event-stream":
            self.send_header("Cache-Control", "no-cache")
        self.send_header("request-id", f"req_mock_{uuid.uuid4().hex[:12]}")
        self.end_headers()
        if not head:
            self.wfile.write(payload)
        self.wfile.flush()

    def _handle(self, method: str) -> None:
        mock = self.server.mock
        url = urlsplit(self.path)
        raw = self._read_body() if method not in ("GET", "HEAD") else b""
        try:
            body: Any = json.loads(raw) if raw else None
        except ValueError:
            body = None
        api, url_model, url_stream = _classify(method, url.path)
        record: dict[str, Any] = {
            "time": time.time(),
            "method": method,
            "path": url.path,
            "query": url.query,
            "api": api,
            "model": url_model or (body.get("model") if isinstance(body, dict) else None),
            "user_turns": count_user_turns(api, body) if api not in ("probe", "unknown") else None,
            "stream": _stream_flag(body, url_stream) if api not in ("probe", "unknown") else None,
        }
        if mock.keep_bodies:
            record["body"] = body

        if api == "probe":
            status, ctype, payload = 200, "application/json", b'{"ok":true}'
        elif api == "unknown" or not isinstance(body, dict):
            status, ctype = 404 if api == "unknown" else 400, "application/json"
            msg = "not found" if api == "unknown" else "request body is not a JSON object"
            payload = json.dumps(
                {
                    "error": {
                        "type": "not_found" if status == 404 else "invalid_request",
                        "message": msg,
                        "path": url.path,
                    }
                }
            ).encode()
        else:
            status, ctype, payload = _model_reply(mock, api, body, url_model, record)
        record["status"] = status
        mock._record(record)
        self._send(status, ctype, payload, head=method == "HEAD")


class MockLLM:
    """A mock LLM server on 127.0.0.1 in a background thread.

    ``port=0`` picks a free port. ``secret`` (settable at any time) is appended
    to every text reply. ``script`` (settable at any time: rules as a list or
    JSON text, or a ``Path`` re-read on every request) scripts shell tool calls,
    see tools/mock_script.py; records of scripted replies carry ``tool_call`` or
    ``tool_output``. ``log`` names a JSONL file that gets one line per
    request; ``requests`` keeps the same records in memory (``keep_bodies``
    adds the parsed request body to the in-memory records only). ``netns``
    (a path like ``/proc/PID/ns/net``) binds the listening socket inside that
    network namespace, for CLIs run there with nsenter.

    Example::

        with MockLLM() as mock:
            urllib.request.urlopen(mock.base_url + "/")  # 200
            print(mock.port, mock.requests[0]["api"])      # e.g. 41234 probe
    """

    def __init__(
        self,
        host: str = LOOPBACK,
        port: int = 0,
        *,
        secret: str | None = None,
        log: str | os.PathLike[str] | None = None,
        keep_bodies: bool = False,
        netns: str | None = None,
        script: Any = None,
    ) -> None:
        if host != LOOPBACK:
            # Tests must never be reachable from (or talk to) anything but loopback.
            raise ValueError(f"MockLLM binds {LOOPBACK} only, refusing host {host!r}")
        self.host = host
        self._want_port = port
        self.secret = secret
        self.log = os.fspath(log) if log is not None else None
        self.keep_bodies = keep_bodies
        self.netns = netns
        self.script = script
        self.requests: list[dict[str, Any]] = []
        self.holds: list[dict[str, Any]] = []
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._replies = 0
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def script(self) -> Any:
        """The tool-call script: a list of rules, or a JSON file re-read on every request."""
        return self._script

    @script.setter
    def script(self, value: Any) -> None:
        # A path stays a path (re-read per request); anything else is checked now.
        self._script = value if isinstance(value, Path) else load_rules(value)

    def rules(self) -> list[Rule]:
        """The script's rules as of now. Example: ``mock.rules()[0].when``"""
        script = self._script
        return load_rules(script) if isinstance(script, Path) else script

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("MockLLM is not started")
        return self._server.server_address[1]

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>`` without a trailing slash or /v1."""
        return f"http://{LOOPBACK}:{self.port}"

    def start(self) -> MockLLM:
        """Bind and serve in a daemon thread; returns self."""
        if self._server is not None:
            return self
        self._stopping.clear()

        def bind() -> _Server:
            return _Server((self.host, self._want_port), _Handler)

        server = _in_netns(self.netns, bind) if self.netns else bind()
        server.mock = self
        self._server = server
        # A short poll interval keeps stop() (shutdown waits one poll) fast in tests.
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.02},
            name="mock-llm",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the listening socket (idempotent)."""
        server, self._server = self._server, None
        if server is None:
            return
        self._stopping.set()  # held replies give up waiting
        server.shutdown()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def serve_forever(self) -> None:
        """Serve in the calling thread (the command line's mode)."""
        self.start()
        assert self._thread is not None
        self._thread.join()

    def __enter__(self) -> MockLLM:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def model_requests(self, api: str | None = None) -> list[dict[str, Any]]:
        """The logged requests that got a model reply, optionally of one API kind.

        Example: ``mock.model_requests("anthropic")[-1]["user_turns"]``
        """
        with self._lock:
            return [r for r in self.requests if "n" in r and (api is None or r["api"] == api)]

    def _next_reply_number(self) -> int:
        with self._lock:
            self._replies += 1
            return self._replies

    def _record(self, record: dict[str, Any]) -> None:
        with self._lock:
            self.requests.append(record)
            if self.log:
                line = {k: v for k, v in record.items() if k != "body"}
                with open(self.log, "a", encoding="utf-8") as fh:
                    fh.write(json.dumps(line) + "\n")


def main(argv: list[str] | None = None) -> int:
    """Command line entry: print ``PORT=<n>`` then serve until killed.

    Example: ``python tools/mock_llm.py --port 0 --log mock.jsonl --secret TOPSECRET``
    """
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--host", default=LOOPBACK, help="must be 127.0.0.1 (anything else is refused)")
    ap.add_argument("--port", type=int, default=0, help="0 picks a free port (default)")
    ap.add_argument("--log", help="append one JSON line per request to this file")
    ap.add_argument(
        "--secret",
        default=os.environ.get("MOCK_LLM_SECRET"),
        help="text appended to every reply (default: $MOCK_LLM_SECRET)",
    )
    ap.add_argument(
        "--script",
        default=os.environ.get("MOCK_LLM_SCRIPT"),
        help="JSON file of tool-call rules, re-read on every request (default: $MOCK_LLM_SCRIPT)",
    )
    args = ap.parse_args(argv)
    try:
        mock = MockLLM(args.host, args.port, secret=args.secret or None, log=args.log,
                       script=Path(args.script) if args.script else None)
    except ValueError as exc:
        ap.error(str(exc))
    # SIGTERM (how tests and scripts stop it) closes the socket and exits 0.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    mock.start()
    print(f"PORT={mock.port}", flush=True)
    try:
        mock.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        mock.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
