"""Cost: what a turn, a session or a tree of sessions cost, priced with `genai-prices`.

    >>> turn_cost("claude-code", "claude-sonnet-4-5", {"input_tokens": 1000, "output_tokens": 100})
    0.0045
    >>> session_cost(state.usage())          # None: some model's price is unknown
    >>> money(None), money(0.0123), money(0.000175)
    ('unknown', '$0.0123', '$0.000175')

Prices come from genai-prices' maintained table (imported only here, and only for a model
not yet in `<state base>/cache/prices.json`, refreshed daily: the import takes about a
second). Each tool reports tokens under its own names; usage_for says what they mean for
the table. Prices are per token at the model's base tier, so a session's turns add up.
A model the table does not know, or tokens without a model, is priced as unknown (None),
never as $0; a sum that includes an unknown part is unknown too.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import lru_cache

UNKNOWN_MODEL = "(unknown)"
# The price table's provider for a tool's family (csa.tools.<tool>.family).
PROVIDERS = {"anthropic": "anthropic", "openai": "openai", "google": "google"}
FAMILY = {"claude-code": "anthropic", "codex": "openai", "gemini-cli": "google"}


def usage_for(tool: str, tokens: Mapping[str, int]) -> dict[str, int]:
    """A tool's token counts as genai-prices' Usage fields (its input_tokens include
    cached input; Anthropic reports cache reads and writes apart, OpenAI and Google
    include cached input in input_tokens)."""
    get = lambda k: int(tokens.get(k) or 0)  # noqa: E731
    if FAMILY.get(tool) == "anthropic":
        read, write = get("cache_read_input_tokens"), get("cache_creation_input_tokens")
        return {"input_tokens": get("input_tokens") + read + write, "cache_read_tokens": read,
                "cache_write_tokens": write, "output_tokens": get("output_tokens")}
    out = {"input_tokens": get("input_tokens"), "cache_read_tokens": get("cached_input_tokens"),
           "output_tokens": get("output_tokens")}
    if tool == "opencode":  # opencode reports reasoning apart from output
        out["output_tokens"] += get("reasoning_tokens")
    return out


KINDS = ("input_tokens", "cache_read_tokens", "cache_write_tokens", "output_tokens")
PRICE_CACHE = "prices.json"  # under the state base's cache/: unit prices already looked up
PRICE_CACHE_TTL_S = 86400.0
UNIT = 1000


def _unit_prices(tool: str, model: str) -> dict[str, float] | None:
    """USD per token of each kind for `model` run by `tool` (base tier), from the cache
    file when it has them (importing genai-prices takes about a second), else from the
    table; None when the table does not know the model."""
    key = f"{tool}|{model}"
    cache = _cache()
    if key in cache:
        return cache[key]
    prices = _from_table(tool, model)
    cache[key] = prices
    _save_cache(cache)
    return prices


@lru_cache(maxsize=1)
def _cache() -> dict:
    import orjson

    try:
        path = _cache_path()
        import time

        if time.time() - path.stat().st_mtime > PRICE_CACHE_TTL_S:
            return {}  # prices change: look them up again once a day
        from csa.safeio import read_bytes

        data = orjson.loads(read_bytes(path, "cache"))
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def _cache_path():
    from csa.paths import state_base

    return state_base() / "cache" / PRICE_CACHE


def _save_cache(cache: dict) -> None:
    import orjson

    from csa.fsutil import atomic_write

    try:
        path = _cache_path()
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        atomic_write(path, orjson.dumps(cache))
    except Exception:  # noqa: BLE001 - a cache that cannot be written costs time, not results
        pass


def _from_table(tool: str, model: str) -> dict[str, float] | None:
    try:
        from genai_prices import Usage, calc_price
    except ImportError:  # a broken install: prices unknown, never a crash
        return None
    provider = PROVIDERS.get(FAMILY.get(tool, ""))
    out = {}
    for kind in KINDS:  # a thousand tokens of each kind: below every tier (input counts
        # cached input too)
        usage = {kind: UNIT} if kind in ("input_tokens", "output_tokens") else \
            {"input_tokens": UNIT, kind: UNIT}
        got = None
        for prov in dict.fromkeys([provider, None]):  # the tool's provider, then any
            try:
                got = calc_price(Usage(**usage), model, provider_id=prov)
                break
            except (LookupError, ValueError):
                continue
        if got is None:
            return None
        out[kind] = float(got.total_price) / UNIT
    return out


def _price(tool: str, model: str, usage: Mapping[str, int]) -> float | None:
    if not model or model == UNKNOWN_MODEL:
        return None
    unit = _unit_prices(tool, model)
    if unit is None:
        return None
    read, write = usage.get("cache_read_tokens", 0), usage.get("cache_write_tokens", 0)
    uncached = max(0, usage.get("input_tokens", 0) - read - write)  # input counts cached input
    return (unit["input_tokens"] * uncached + unit["cache_read_tokens"] * read
            + unit["cache_write_tokens"] * write + unit["output_tokens"] * usage.get("output_tokens", 0))


def turn_cost(tool: str, model: str | None, tokens: Mapping[str, int]) -> float | None:
    """The price of `tokens` of `model` run by `tool`; None when the price is unknown."""
    if not tokens or not any(tokens.values()):
        return 0.0
    usage = usage_for(tool, tokens)
    # claude names a context variant after the model: claude-opus-4-8[1m]
    return _price(tool, (model or "").split("[")[0].strip(), usage)


def session_cost(usage: Mapping[str, Mapping[str, Mapping[str, int]]]) -> float | None:
    """The cost of a session's usage ({tool: {model: tokens}}, SessionState.usage())."""
    total = 0.0
    for tool, by_model in usage.items():
        for model, tokens in by_model.items():
            cost = turn_cost(tool, model, tokens)
            if cost is None:
                return None
            total += cost
    return total


def add(costs: Iterable[float | None]) -> float | None:
    """A sum of costs; unknown if any part is unknown."""
    total = 0.0
    for c in costs:
        if c is None:
            return None
        total += c
    return total


def money(cost: float | None) -> str:
    """`$0.0123`, `$12.40`, or `unknown`."""
    if cost is None:
        return "unknown"
    if cost < 0.01:
        return f"${cost:.6f}"
    return f"${cost:.4f}" if cost < 1 else f"${cost:,.2f}"


def tree_costs(ordered) -> dict[str, tuple[float | None, float | None]]:
    """{id: (own cost, subtree cost)} for rows in tree order ((row, level, orphan), as
    csa.genealogy.build_tree gives them; each row's `usage` from SessionState.summary).
    A session with no tokens costs 0; its subtree total is unknown if any part is."""
    own: dict[str, float | None] = {}
    total: dict[str, float | None] = {}
    stack: list[str] = []  # the current row's ancestors, by level
    children: dict[str, list[str]] = {}
    for row, level, _orphan in ordered:
        del stack[level:]
        if stack:
            children.setdefault(stack[-1], []).append(row["id"])
        stack.append(row["id"])
        own[row["id"]] = session_cost(row.get("usage") or {})
    for row, _level, _orphan in reversed(list(ordered)):
        sid = row["id"]
        total[sid] = add([own[sid], *(total[c] for c in children.get(sid, []))])
    return {sid: (own[sid], total[sid]) for sid in own}


BY = ("tool", "model", "day")


def usage_report(rows: Iterable[dict], by: str = "tool") -> list[dict]:
    """Tokens and cost of session summary rows, grouped `by` tool, model or day (the day a
    session was last used, UTC), largest cost first; each group: key, sessions, tokens
    (by kind), total_tokens, cost_usd (None: unknown)."""
    groups: dict[str, dict] = {}
    for row in rows:
        for tool, by_model in (row.get("usage") or {}).items():
            for model, tokens in by_model.items():
                key = {"tool": tool, "model": model,
                       "day": (row.get("last_accessed") or row.get("created_at") or "")[:10]}[by]
                g = groups.setdefault(key, {by: key, "sessions": set(), "tokens": {},
                                            "cost_usd": 0.0})
                g["sessions"].add(row["id"])
                for k, v in tokens.items():
                    g["tokens"][k] = g["tokens"].get(k, 0) + v
                g["cost_usd"] = add([g["cost_usd"], turn_cost(tool, model, tokens)])
    out = []
    for g in groups.values():
        g["sessions"] = len(g["sessions"])
        g["total_tokens"] = sum(g["tokens"].values())
        out.append(g)
    out.sort(key=lambda g: (g["cost_usd"] is not None, g["cost_usd"] or 0, g["total_tokens"]),
             reverse=True)
    return out
