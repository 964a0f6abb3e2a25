"""The turn: run an AI tool once in a session, as a short pipeline of steps plus hooks.

    >>> from csa.turn import RunRequest, run
    >>> res = run(RunRequest(prompt="analyze the auth module", tool="codex"))
    >>> res.session_id, res.exit_code, res.final_text

`run(request)` = choose → take → run_turn → release; `run_turn(claim, options)`
runs one turn on a session already taken (compaction runs its turns this way):

    request.py   RunRequest (user input, validation) and TurnOptions (one turn)
    choose.py    which project, tool and session (new / --session / --last /
                 --ephemeral), depth, refusing to resume an own ancestor
    claim.py     take the session: create it locked, or lock and load it; release
    pipeline.py  Turn, run, run_turn: prepare → spawn → relay → record
    spawn.py     the tool's argv, env (CSA_* genealogy), cwd, process group, stdin
    relay.py     Relay: stdout/stderr pumping, timeouts, signals
    outcome.py   RunResult: what the turn produced (per-turn usage figures)
    record.py    the turn's start and outcome in state.toml, transcript, result.toml
    hooks.py     optional features at named points (slots, detach, journal, memory
                 guard, search index, usage stats, events, checkpoint)
"""

from csa.turn.pipeline import Turn, run, run_turn
from csa.turn.request import RunRequest, TurnOptions

__all__ = ["RunRequest", "Turn", "TurnOptions", "run", "run_turn"]
# RunResult is in csa.turn.outcome, imported only once a tool runs (start-up cost).
