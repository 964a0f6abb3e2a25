"""Fake versions of the AI coding CLIs that csa drives: claude, codex, gemini, opencode.

    python3 tools/fake_clis/fake_cli.py claude -p hi --output-format stream-json --verbose

The implementation is the `fakes` package beside this file (one module per tool plus
what they share); the launchers in bin/ import it directly.  README.md documents the
argv, the output shapes, every FAKE_* variable and how to add a fake.
"""

from fakes import TOOLS, entry, main  # noqa: F401  (the package's entry points, re-exported)

if __name__ == "__main__":
    entry()
