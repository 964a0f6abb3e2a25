import pytest

from csa.errors import CsaError, DepthExceeded
from csa.genealogy import ancestors, build_tree, check_depth, child_env, parent_from_env
from csa.listing import list_sessions
from csa.store import Store
from helpers import invoke, make_session

SID = "01JH4QWERT1234567890ABCDEF"


def test_parent_from_env():
    assert parent_from_env({}) == (None, 0)
    assert parent_from_env({"CSA_SESSION_ID": SID.lower(), "CSA_DEPTH": "2"}) == (SID, 2)
    with pytest.raises(CsaError, match="not a session id"):
        parent_from_env({"CSA_SESSION_ID": "../../etc"})
    with pytest.raises(CsaError, match="not a number"):
        parent_from_env({"CSA_SESSION_ID": SID, "CSA_DEPTH": "x"})


def test_depth_limit_allows_the_limit_itself():
    check_depth(5, 5)
    with pytest.raises(DepthExceeded, match="recursion depth"):
        check_depth(6, 5)


def test_child_env_contract(tmp_path):
    env = child_env(session_id=SID, depth=1, project_root=tmp_path, session_dir=tmp_path / "s",
                    tool="codex", parent_session_id="01JH4QWERT0000000000000000",
                    csa_bin="/venv/bin/csa")
    assert env == {"CSA_SESSION_ID": SID, "CSA_DEPTH": "2", "CSA_PROJECT_ROOT": str(tmp_path),
                   "CSA_SESSION_DIR": str(tmp_path / "s"), "CSA_TOOL": "codex",
                   "CSA_PARENT_SESSION": "01JH4QWERT0000000000000000",
                   "CSA_BIN": "/venv/bin/csa"}
    root = child_env(session_id=SID, depth=0, project_root=tmp_path, session_dir=tmp_path,
                     tool="codex", parent_session_id=None)
    assert "CSA_PARENT_SESSION" not in root and root["CSA_DEPTH"] == "1"


def test_ancestors_stop_at_cycles():
    assert ancestors("c", {"c": "b", "b": "a", "a": None}) == ["b", "a"]
    assert ancestors("a", {"a": "b", "b": "a"}) == ["b"]


def _tree(project):
    store = Store.open()
    root = make_session(store, "root", created_offset_s=0)
    kid2 = make_session(store, "kid2", parent=root.meta_session_id, depth=1, created_offset_s=2)
    kid1 = make_session(store, "kid1", parent=root.meta_session_id, depth=1, created_offset_s=1)
    grandkid = make_session(store, "grandkid", parent=kid1.meta_session_id, depth=2,
                            created_offset_s=3)
    orphan = make_session(store, "orphan", parent="01JH4QWERT0000000000000000", depth=1,
                          created_offset_s=4)
    return store, root, kid1, kid2, grandkid, orphan


def test_tree_three_levels_siblings_by_creation_orphan_shown(project):
    store, root, kid1, kid2, grandkid, orphan = _tree(project)
    rows, known = list_sessions(store)
    tree = [(r["description"], level, orph) for r, level, orph in build_tree(rows, known)]
    assert ("orphan", 0, True) in tree
    i = tree.index(("root", 0, False))
    assert tree[i:i + 4] == [("root", 0, False), ("kid1", 1, False), ("grandkid", 2, False),
                             ("kid2", 1, False)]


def test_tree_cli_renders_nesting_and_orphan(project):
    _store, root, kid1, kid2, grandkid, orphan = _tree(project)
    res = invoke("session", "list", "--tree")
    assert res.exit_code == 0
    lines = res.stdout.splitlines()
    text = "\n".join(lines)
    assert "orphan: parent 01JH4QWERT is gone" in text
    desc_order = [ln.split()[-1] for ln in lines[1:]]
    assert desc_order.index("kid1") < desc_order.index("grandkid") < desc_order.index("kid2")
    grand_line = next(ln for ln in lines if ln.endswith("grandkid"))
    assert "└─ " in grand_line and grand_line.index("└─") > 0


def test_tree_json_has_levels(project):
    _tree(project)
    import json

    data = json.loads(invoke("session", "list", "--tree", "--json").stdout)
    levels = {d["description"]: (d["level"], d["orphan"]) for d in data}
    assert levels == {"root": (0, False), "kid1": (1, False), "kid2": (1, False),
                      "grandkid": (2, False), "orphan": (0, True)}
