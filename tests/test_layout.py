"""Only csa.session (and csa.store, for creation and listing) spells the session layout:
every other module reaches a session's files through a Session."""

import ast
from pathlib import Path

from csa import session as layout

CSA = Path(__file__).resolve().parent.parent / "csa"
OWNERS = {"session.py", "store.py"}
NAMES = {layout.STATE_FILE, layout.TRANSCRIPT_FILE, layout.JOURNAL_FILE, layout.JOURNAL_LOCK_FILE,
         layout.RESULT_FILE, layout.LOCKS_DIR, layout.OUTPUT_DIR}
FILE_NAMES = NAMES - {layout.LOCKS_DIR, layout.OUTPUT_DIR}  # "output" is also a JSON key


def _path_building(tree: ast.AST) -> list[tuple[int, str]]:
    """`x / "name"`, `os.path.join(..., "name")`, f"{x}/name" and bare file-name constants."""
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
            for side in (node.left, node.right):
                if isinstance(side, ast.Constant) and side.value in NAMES:
                    out.append((node.lineno, side.value))
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "join":
            out += [(node.lineno, a.value) for a in node.args
                    if isinstance(a, ast.Constant) and a.value in NAMES]
        elif isinstance(node, ast.JoinedStr):
            out += [(node.lineno, v.value.lstrip("/").split("/")[0]) for v in node.values
                    if isinstance(v, ast.Constant) and isinstance(v.value, str)
                    and v.value.lstrip("/").split("/")[0] in NAMES]
        elif isinstance(node, ast.Constant) and node.value in FILE_NAMES:
            out.append((node.lineno, node.value))
    return sorted(set(out))


def test_no_module_outside_the_session_spells_its_layout():
    found = []
    for path in sorted(CSA.rglob("*.py")):
        if path.name in OWNERS and path.parent == CSA:
            continue
        for line, name in _path_building(ast.parse(path.read_text())):
            found.append(f"{path.relative_to(CSA.parent)}:{line}: {name!r}")
    assert found == [], "use csa.session.Session instead:\n" + "\n".join(found)


def test_the_check_finds_hand_built_paths():
    code = ('p = sdir / "transcript.jsonl"\nq = os.path.join(d, "locks")\n'
            'r = f"{sid}/state.toml"\nname = "result.toml"\n')
    assert [n for _, n in _path_building(ast.parse(code))] == [
        "transcript.jsonl", "locks", "state.toml", "result.toml"]
