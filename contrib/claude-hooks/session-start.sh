#!/bin/sh
# Claude Code SessionStart hook: print the csa session journal (TL;DR, progress, blockers)
# into Claude's context. Works inside a csa run ($CSA_SESSION_ID) and outside it (the
# project's most recent active journal, found from the hook input's cwd).
command -v csa >/dev/null 2>&1 || exit 0
csa hooks run session-start 2>/dev/null
exit 0
