"""`csa config get/set/unset`: one key of the configuration, edited in place with tomlkit.

    >>> set_key(project_config_path(root), "tools.codex.model", "gpt-5")
    'gpt-5'
    >>> set_key(global_config_path(), "events.keep", "5")      # typed by the schema: 5
    5
    >>> unset_key(global_config_path(), "events.keep")
    >>> get_key(load_config(root), "tools.codex.model")
    ('gpt-5', '/home/me/proj/.csa/config.toml')

Keys are dotted paths into csa.config's schema (`default_tool`, `events.keep`,
`tools.<tool>.model`, `tools.<tool>.env.<NAME>`); the value's type comes from that schema
(int, float, bool, string, or a TOML array for a list), and the edited file must still
validate before it is written. tomlkit keeps the user's comments, order and layout: only
the edited key's value changes. The write is atomic (temp file, rename), the file 0600
and new directories 0700; a config file that is a symlink is edited at its target.
"""

from __future__ import annotations

import math
import os
import tomllib
from pathlib import Path
from typing import Any

from csa.config import NESTED_KEYS, TOOL_KEYS, TOP_TYPES, Config, validate
from csa.errors import ConfigError, UsageError
from csa.fsutil import atomic_write, ensure_dir

_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}


def key_type(key: str) -> type | tuple:
    """The schema type of a dotted key (dict for a table); UsageError for an unknown key."""
    parts = key.split(".")
    if "" in parts:
        raise UsageError(f"'{key}' is not a config key (dotted, like tools.codex.model)")
    top, rest = parts[0], parts[1:]
    want: Any = TOP_TYPES.get(top) if not rest else None
    if top in NESTED_KEYS and len(rest) == 1 and rest[0] in NESTED_KEYS[top]:
        want = NESTED_KEYS[top][rest[0]][0]
    elif top == "tools" and len(rest) in (1, 2):
        want = dict if len(rest) == 1 else TOOL_KEYS.get(rest[1])
    elif top == "tools" and len(rest) == 3 and rest[1] == "env":
        want = str
    if want is None:
        raise UsageError(f"unknown config key '{key}'; known: {_known()}")
    return want


def _known() -> str:
    keys = [k for k, t in TOP_TYPES.items() if t is not dict]
    keys += [f"{t}.{k}" for t, table in NESTED_KEYS.items() for k in table]
    keys += [f"tools.<tool>.{k}" for k in TOOL_KEYS] + ["tools.<tool>.env.<NAME>"]
    return ", ".join(keys)


def parse_value(key: str, raw: str, want: type | tuple) -> Any:
    """The typed value of a command-line string for `key`; UsageError if it does not fit."""
    if want is dict:
        raise UsageError(f"'{key}' is a table: set one of its keys (csa config set {key}.KEY "
                         "VALUE)")
    if want is bool:
        word = raw.strip().lower()
        if word in _TRUE | _FALSE:
            return word in _TRUE
        raise UsageError(f"'{key}' takes true or false, not '{raw}'")
    if want is int or want == (int, float):
        try:
            return int(raw)
        except ValueError:
            pass
        try:
            number = float(raw)
        except ValueError:
            number = math.nan
        if want is int or not math.isfinite(number):
            kind = "an integer" if want is int else "a number"
            raise UsageError(f"'{key}' takes {kind}, not '{raw}'")
        return number
    if want is list:
        try:
            value = tomllib.loads(f"v = {raw}")["v"]
        except tomllib.TOMLDecodeError:
            value = None
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise UsageError(f"'{key}' takes a list of strings, as a TOML array: "
                             f"'[\"--flag\", \"value\"]'")
        return value
    return raw


def get_key(cfg: Config, key: str) -> tuple[Any, str]:
    """(effective value, where it came from) of a known key; ConfigError(exit 1) if unset."""
    key_type(key)
    value = cfg.get(key)
    if value is None:
        raise ConfigError(f"{key} is not set (csa config set {key} VALUE)")
    return value, cfg.source(key)


def set_key(path: Path, key: str, raw: str) -> Any:
    """Set `key` to the typed `raw` in the file at `path`, keeping everything else as it was.
    Returns the typed value. The file is left unchanged on any error."""
    value = parse_value(key, raw, key_type(key))
    parts = key.split(".")
    # The value alone first, so a bad one is reported as the user's argument (exit 2).
    single: dict = {}
    node = single
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = value
    try:
        validate(single, "csa config set")
    except ConfigError as e:
        raise UsageError(e.message) from None
    target = _target(path)
    doc = _load(target)
    _assign(doc, parts, value, target)
    validate(doc.unwrap(), f"invalid config {target} after setting {key}")
    _write(target, doc)
    return value


def unset_key(path: Path, key: str) -> None:
    """Remove `key` from the file at `path` (any key there, so a typo can be removed too);
    tables it leaves empty go with it."""
    target = _target(path)
    doc = _load(target)
    parts = key.split(".")
    chain: list = [doc]
    for part in parts[:-1]:
        node = chain[-1].get(part) if hasattr(chain[-1], "get") else None
        chain.append(node)
    if not hasattr(chain[-1], "get") or parts[-1] not in chain[-1]:
        raise ConfigError(f"{key} is not set in {target}")
    del chain[-1][parts[-1]]
    for i in range(len(parts) - 1, 0, -1):
        if chain[i]:
            break
        del chain[i - 1][parts[i - 1]]
    _write(target, doc)


def _target(path: Path) -> Path:
    return Path(os.path.realpath(path)) if path.is_symlink() else path


def _load(path: Path):
    import tomlkit
    from tomlkit.exceptions import TOMLKitError

    from csa.safeio import read_bytes

    try:  # a regular file of at most 1 MiB (a FIFO or /dev/zero link is one error line)
        text = read_bytes(path, "config-global").decode("utf-8")
    except FileNotFoundError:
        return tomlkit.document()
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"cannot read config {path}: {getattr(e, 'strerror', None) or e}"
                          ) from e
    try:
        return tomlkit.parse(text)
    except TOMLKitError as e:
        raise ConfigError(f"invalid config {path}: {e}; fix it by hand") from e


def _assign(doc, parts: list[str], value: Any, path: Path) -> None:
    import tomlkit

    node, created = doc, None
    for i, part in enumerate(parts[:-1]):
        if part not in node:
            # `tools` only groups the tool tables: write [tools.codex], not [tools] too.
            node[part] = tomlkit.table(is_super_table=(i == 0 and part == "tools"))
            created = node[part]
        node = node[part]
        if not isinstance(node, dict):
            raise ConfigError(f"{'.'.join(parts[:i + 1])} in {path} is not a table; fix it "
                              "by hand")
    node[parts[-1]] = value
    if created is not None:
        node.add(tomlkit.nl())  # a blank line between a new table and the next one


def _write(path: Path, doc) -> None:
    text = doc.as_string()
    text = text.rstrip("\n") + "\n" if text.strip() else ""  # one final newline
    ensure_dir(path.parent)
    atomic_write(path, text.encode("utf-8"))
