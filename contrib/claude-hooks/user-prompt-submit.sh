#!/bin/sh
# Claude Code UserPromptSubmit hook: when the prompt asks to continue ("continue",
# "where were we", "pick up where we left off"), print the csa session journal into
# Claude's context; any other prompt: nothing.
command -v csa >/dev/null 2>&1 || exit 0
csa hooks run user-prompt-submit 2>/dev/null
exit 0
