"""`csa top`'s full-screen view (Textual; imported only by that command).

    >>> TopApp(Store.open()).run()

A table of csa.top.snapshot rows refreshed every REFRESH_S; keys: enter opens the
session's logs (following) in the terminal, `k` kills its run after a confirmation,
`/` filters, `q` quits.
"""

from __future__ import annotations

import subprocess
import sys

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, DataTable, Footer, Input, Static

from csa.top import COLUMNS, snapshot

REFRESH_S = 0.5


class ConfirmKill(ModalScreen[bool]):
    """`Kill the run of session X?` with Kill / Cancel (y / n)."""

    BINDINGS = [Binding("y", "answer(True)", "Kill"), Binding("n,escape", "answer(False)", "Cancel")]

    def __init__(self, sid: str):
        super().__init__()
        self.sid = sid

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm"):
            yield Static(f"Kill the run of session {self.sid}? (y/n)")
            yield Button("Kill", variant="error", id="yes")
            yield Button("Cancel", id="no")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)


class TopApp(App):
    """The live session tree of one project."""

    TITLE = "csa top"
    BINDINGS = [Binding("q", "quit", "Quit"), Binding("k", "kill", "Kill"),
                Binding("slash", "filter", "Filter"), Binding("enter", "logs", "Logs", show=True)]
    CSS = "#filter { display: none; } #filter.shown { display: block; } " \
          "#confirm { width: 60; height: auto; border: thick $error; padding: 1; }"

    def __init__(self, store, refresh_s: float = REFRESH_S):
        super().__init__()
        self.store = store
        self.refresh_s = refresh_s
        self.filter_text = ""
        self.message = ""

    def compose(self) -> ComposeResult:
        yield DataTable(cursor_type="row", zebra_stripes=True, id="sessions")
        yield Input(placeholder="filter: id, tool, state or description (enter to apply)",
                    id="filter")
        yield Static("", id="message")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns(*COLUMNS)
        self.refresh_rows()
        self.set_interval(self.refresh_s, self.refresh_rows)

    def refresh_rows(self) -> None:
        table = self.query_one(DataTable)
        selected = self.selected()
        rows = snapshot(self.store, self.filter_text)
        table.clear()
        for row in rows:
            table.add_row(*row.cells(), key=row.id)
        ids = [r.id for r in rows]
        if selected in ids:
            table.move_cursor(row=ids.index(selected))
        self.query_one("#message", Static).update(self.message or f"{len(rows)} sessions")

    def selected(self) -> str | None:
        table = self.query_one(DataTable)
        if not table.row_count:
            return None
        try:
            key, _ = table.coordinate_to_cell_key(table.cursor_coordinate)
        except Exception:  # noqa: BLE001 - no valid cursor yet
            return None
        return key.value

    def on_data_table_row_selected(self, _event) -> None:
        self.action_logs()

    def action_logs(self) -> None:
        sid = self.selected()
        if sid is None:
            return
        with self.suspend():
            try:
                subprocess.run([sys.executable, "-m", "csa", "session", "logs", "-s", sid,
                                "--follow", "--cd", str(self.store.root)])
            except KeyboardInterrupt:
                pass

    def action_kill(self) -> None:
        sid = self.selected()
        if sid is None:
            return

        def done(yes: bool | None) -> None:
            if yes:
                self.kill(sid)

        self.push_screen(ConfirmKill(sid), done)

    def kill(self, sid: str) -> None:
        from csa.detach import kill_run
        from csa.errors import CsaError

        try:
            res = kill_run(self.store.session(sid), grace=2.0)
            self.message = f"stopped {sid}" if res.get("stopped") else f"could not stop {sid}"
        except CsaError as e:
            self.message = e.message
        self.refresh_rows()

    def action_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.add_class("shown")
        box.value = self.filter_text
        box.focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.filter_text = event.value.strip()
        event.input.remove_class("shown")
        self.query_one(DataTable).focus()
        self.message = f"filter: {self.filter_text}" if self.filter_text else ""
        self.refresh_rows()
