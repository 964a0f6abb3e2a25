#!/bin/sh
# Claude Code PreCompact hook: count the compaction in the csa session journal and print
# its TL;DR, key context and next steps; Claude Code adds what this prints to the
# compaction summary's instructions. Never fails Claude Code: no csa, no journal -> nothing.
command -v csa >/dev/null 2>&1 || exit 0
csa hooks run pre-compact 2>/dev/null
exit 0
