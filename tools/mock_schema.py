"""JSON replies for structured-output requests (gemini-cli's router and next-speaker checks).

Example::

    schema = gemini_json_schema(body)          # None: the request wants text
    reply = json.dumps(schema_instance(schema)) if schema is not None else "..."
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["gemini_json_schema", "schema_instance"]

_RANGE_IN_TEXT = re.compile(r"\b(-?\d+)\s*(?:-|to)\s*-?\d+\b")


def schema_instance(schema: Any, defs: dict | None = None, depth: int = 0) -> Any:
    """Build the smallest JSON value that fits a JSON schema (or Gemini OpenAPI schema).

    Objects get their required properties, strings ``"x"``, numbers 0 (or
    ``minimum``, or N of an "N-M" range in the description), enums and
    unions their first choice, booleans false, arrays ``minItems`` elements.
    The first enum value matters: gemini-cli's next-speaker check lists
    ``"user"`` first, which ends the turn instead of asking the model to go on.

    Example: ``schema_instance({"type": "object", "required": ["a"],
    "properties": {"a": {"enum": ["user", "model"]}}}) -> {"a": "user"}``
    """
    if not isinstance(schema, dict) or depth > 32:
        return None
    if defs is None:
        defs = {**schema.get("definitions", {}), **schema.get("$defs", {})}
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/"):
        return schema_instance(defs.get(ref.rsplit("/", 1)[-1]), defs, depth + 1)
    for key in ("anyOf", "oneOf", "allOf"):
        if schema.get(key):
            return schema_instance(schema[key][0], defs, depth + 1)
    typ = schema.get("type")
    if isinstance(typ, list):
        typ = next((t for t in typ if str(t).lower() != "null"), typ[0] if typ else None)
    typ = str(typ).lower() if typ else ("object" if "properties" in schema else None)
    if typ == "object":
        props = schema.get("properties") or {}
        return {
            k: schema_instance(props.get(k, {}), defs, depth + 1)
            for k in schema.get("required") or []
        }
    if typ == "array":
        count = int(schema.get("minItems") or 0)
        return [schema_instance(schema.get("items", {}), defs, depth + 1) for _ in range(count)]
    if typ == "string":
        return "x" * max(1, int(schema.get("minLength") or 1))
    if typ in ("number", "integer"):
        lo = schema.get("minimum")
        if isinstance(lo, int | float):
            return lo
        # gemini-cli's router schema has no minimum but its validator wants
        # "Complexity score from 1-100." to hold, so honour a range in the text.
        m = _RANGE_IN_TEXT.search(str(schema.get("description") or ""))
        return int(m.group(1)) if m else 0
    if typ == "boolean":
        return False
    return None


def gemini_json_schema(body: dict) -> Any | None:
    """The schema a Gemini request wants its JSON reply to fit, or None for a text reply.

    Example: ``gemini_json_schema({"generationConfig": {"responseMimeType": "text/plain"}}) -> None``
    """
    cfg = body.get("generationConfig") or body.get("generation_config") or {}
    mime = str(cfg.get("responseMimeType") or cfg.get("response_mime_type") or "")
    if "json" not in mime.lower():
        return None
    return (
        cfg.get("responseJsonSchema")
        or cfg.get("responseSchema")
        or cfg.get("response_schema")
        or {}
    )
