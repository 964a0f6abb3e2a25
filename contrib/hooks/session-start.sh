#!/bin/sh
# Claude Code SessionStart hook: put the csa session journal into Claude's context.
# Outside csa (no CSA_SESSION_ID) it does nothing.
[ -n "${CSA_SESSION_ID:-}" ] || exit 0
command -v csa >/dev/null 2>&1 || exit 0
csa session journal --summary 2>/dev/null || true
exit 0
