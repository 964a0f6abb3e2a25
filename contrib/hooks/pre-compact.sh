#!/bin/sh
# Claude Code PreCompact hook: checkpoint the csa session before Claude compacts.
[ -n "${CSA_SESSION_ID:-}" ] || exit 0
command -v csa >/dev/null 2>&1 || exit 0
csa session checkpoint -s "$CSA_SESSION_ID" -m "before Claude Code compaction" >/dev/null 2>&1 || true
exit 0
