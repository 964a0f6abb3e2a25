"""Clock and random ids in the real tools' shapes (no `uuid` module: it costs start-up).

>>> iso(1700000000123)
'2023-11-14T22:13:20.123Z'
>>> is_uuid(uuid4()), uuid7()[14]
(True, '7')
"""

import os
import time

ALNUM = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_HEX = "0123456789abcdef"


def now_ms():
    return int(time.time() * 1000)


def iso(ms=None):
    """UTC timestamp with milliseconds, as the tools write them."""
    if ms is None:
        ms = now_ms()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) + f".{ms % 1000:03d}Z"


def _fmt_uuid(b):
    h = b.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"


def uuid4():
    """Random UUID (claude and gemini session ids)."""
    b = bytearray(os.urandom(16))
    b[6] = (b[6] & 0x0F) | 0x40
    b[8] = (b[8] & 0x3F) | 0x80
    return _fmt_uuid(bytes(b))


def uuid7():
    """Time-ordered UUID with the real millisecond clock (codex thread ids)."""
    b = bytearray(now_ms().to_bytes(6, "big") + os.urandom(10))
    b[6] = (b[6] & 0x0F) | 0x70
    b[8] = (b[8] & 0x3F) | 0x80
    return _fmt_uuid(bytes(b))


def is_uuid(s):
    if len(s) != 36:
        return False
    for i, c in enumerate(s):
        if i in (8, 13, 18, 23):
            if c != "-":
                return False
        elif c not in "0123456789abcdefABCDEF":
            return False
    return True


def rand_alnum(n):
    return "".join(ALNUM[b % 62] for b in os.urandom(n))


def rand_hex(n):
    return "".join(_HEX[b & 15] for b in os.urandom(n))


def safe_id(s):
    """An id that can name a file in the store (no path tricks)."""
    return bool(s) and "/" not in s and "\\" not in s and not s.startswith(".") and "\0" not in s
