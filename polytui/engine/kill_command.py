"""`polytui kill` and `polytui resume` from any shell.

**kill** does two things, so that it works whether the engine runs, hangs or is gone:

1. It asks the running engine over the control channel (one JSON line on the socket beside
   the ledger, answered within a second), which blocks new orders at once, records
   ``KillSwitchEngaged`` and cancels everything. The engine stays the ledger's only writer.
2. It cancels at the venue itself (``DELETE /cancel-all`` with the wallet's credentials, then
   ``GET /data/orders`` until nothing is open), whatever the engine did.

When no engine answers, the kill is written to the ledger by this command (the engine is
gone: nobody holds the ledger), or, when a hung engine still holds it, left in a kill
request file beside the ledger that the engine acts on when it runs again or starts.
Either way the switch stays engaged across restarts until `polytui resume`.

**resume** asks the running engine to release the switch, or, with no engine, writes
``KillSwitchReleased`` itself. It refuses while a hung engine holds the ledger.

The venue is found from ``--sim-url`` / ``sim.url``, else from the engine's health file
(the URLs it last used). Exit 0 when the switch is engaged (or released) as asked and, for
kill, the venue has nothing of ours open; 1 otherwise, with each step's outcome on stderr.
"""

from __future__ import annotations

import asyncio
import random
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from polytui.config import Settings
from polytui.engine.control import (
    clear_kill_request,
    control_path,
    kill_request_path,
    request,
    write_kill_request,
)
from polytui.engine.health_file import health_path, read_health

OK, FAILED = 0, 1
ANSWER_S = 1.0  # the engine answers within this, or it is taken as hanging
VENUE_TRIES = 6
VENUE_PAUSE_S = 0.25


@dataclass(frozen=True, slots=True)
class VenueResult:
    clear: bool
    detail: str


def kill(
    settings: Settings,
    target: str | Path,
    reason: str,
    *,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    out, err = out or sys.stdout, err or sys.stderr
    data_dir = settings.paths.data_dir
    reply = request(
        control_path(target, data_dir),
        {"command": "kill", "reason": reason, "source": "cli"},
        timeout_s=ANSWER_S,
    )
    engaged = bool(reply.answer and reply.answer.get("ok"))
    if engaged:
        print(f"kill switch: engaged by the running engine ({reply.answer['ref']})", file=out)
    elif reply.answer is not None:
        print(f"polytui: the engine refused: {reply.answer.get('error')}", file=err)
    venue = asyncio.run(cancel_at_venue(settings, target))
    print(f"venue: {venue.detail}", file=out if venue.clear else err)
    if not reply.answered:
        engaged = _record_kill(settings, target, reason, reply.problem, out, err)
    return OK if engaged and (venue.clear or reply.answered) else FAILED


def resume(
    settings: Settings, target: str | Path, *, out: TextIO | None = None, err: TextIO | None = None
) -> int:
    out, err = out or sys.stdout, err or sys.stderr
    data_dir = settings.paths.data_dir
    reply = request(
        control_path(target, data_dir), {"command": "resume", "source": "cli"}, timeout_s=ANSWER_S
    )
    if reply.answer is not None:
        if not reply.answer.get("ok"):
            print(f"polytui: the engine refused: {reply.answer.get('error')}", file=err)
            return FAILED
        ref = reply.answer.get("ref")
        print(f"kill switch: released by the running engine ({ref})" if ref else "kill switch: "
              "was not engaged", file=out)  # fmt: skip
        return OK
    if reply.problem == "no answer":
        print(
            "polytui: an engine holds the control socket but does not answer (it may hang); "
            "not released",
            file=err,
        )
        return FAILED
    from polytui.core import ledger_events as ev
    from polytui.core.clock import SystemClock
    from polytui.store.errors import LedgerInUse, StoreError
    from polytui.store.ledger import Ledger

    clear_kill_request(kill_request_path(target, data_dir))
    try:
        ledger = Ledger.open(target, SystemClock(), busy_timeout_ms=1000)
    except LedgerInUse:
        print("polytui: another process writes the ledger and does not answer; not released",
              file=err)  # fmt: skip
        return FAILED
    except StoreError as exc:
        print(f"polytui: {exc}", file=err)
        return FAILED
    try:
        if not ledger.model.kill_switch.engaged:
            print("kill switch: was not engaged", file=out)
            return OK
        ledger.append([ev.KillSwitchReleased(ref=_ref(), source="cli")])
    finally:
        ledger.close()
    print("kill switch: released (recorded in the ledger; no engine was running)", file=out)
    return OK


def _record_kill(
    settings: Settings, target: str | Path, reason: str, problem: str, out: TextIO, err: TextIO
) -> bool:
    """No engine answered: write the kill ourselves, or leave it for a hung engine."""
    from polytui.core import ledger_events as ev
    from polytui.core.clock import SystemClock
    from polytui.store.errors import LedgerInUse, StoreError
    from polytui.store.ledger import Ledger

    data_dir = settings.paths.data_dir
    try:
        ledger = Ledger.open(target, SystemClock(), busy_timeout_ms=1000)
    except LedgerInUse:
        write_kill_request(
            kill_request_path(target, data_dir), reason, "cli", int(time.time() * 1000)
        )
        print(
            f"kill switch: the engine holds the ledger but gave {problem}; the kill is left "
            "for it (it engages it when it runs again or restarts)",
            file=out,
        )
        return True
    except StoreError as exc:
        print(f"polytui: the kill could not be recorded: {exc}", file=err)
        return False
    try:
        if not ledger.model.kill_switch.engaged:
            ledger.append([ev.KillSwitchEngaged(ref=_ref(), reason=reason, source="cli")])
    finally:
        ledger.close()
    print("kill switch: engaged (recorded in the ledger; no engine was running)", file=out)
    return True


async def cancel_at_venue(settings: Settings, target: str | Path) -> VenueResult:
    """``DELETE /cancel-all`` with the wallet's own credentials, then check until nothing of
    ours is open."""
    from polytui.engine.credentials import DerivedCredentials
    from polytui.engine.sim_child import SimulatorError, fetch_endpoints
    from polytui.engine.startup import connect_venue
    from polytui.keys import SIM_KEY_FILENAME, KeyFileError, load_or_create_sim_key
    from polytui.protocol.signing import SigningKey
    from polytui.protocol.wire.errors import WireError
    from polytui.venue.endpoints import Endpoints
    from polytui.venue.errors import VenueError
    from polytui.venue.trading import ClobTrader

    data_dir = settings.paths.data_dir
    if not (data_dir / SIM_KEY_FILENAME).exists():
        return VenueResult(False, f"no wallet key in {data_dir}: nothing cancelled there")
    try:
        key = load_or_create_sim_key(data_dir)
        if settings.sim.url is not None:
            endpoints = await fetch_endpoints(settings.sim.url)
        else:
            venue = (read_health(health_path(target, data_dir)) or {}).get("venue")
            if venue is None:
                return VenueResult(False, "venue unknown (give --sim-url): nothing cancelled")
            endpoints = Endpoints.from_json(venue)
    except (KeyFileError, SimulatorError, ValueError) as exc:
        return VenueResult(False, f"cannot reach the venue: {exc}")
    venue_settings = settings.venue.model_copy(update={"capture": None})
    try:
        async with connect_venue(endpoints, venue_settings) as clients:
            signing_key = SigningKey(key.private_key)
            creds = await DerivedCredentials().api_creds(clients.http, signing_key)
            trader = ClobTrader(clients.http, signing_key.address, creds, rng=random.Random())
            cancelled: set[str] = set()
            for _ in range(VENUE_TRIES):
                answer = await trader.cancel_all()
                cancelled.update(answer.canceled)
                left = await trader.open_orders()
                if not left:
                    return VenueResult(
                        True, f"cancel-all done, {len(cancelled)} cancelled, none open"
                    )
                await asyncio.sleep(VENUE_PAUSE_S)
            return VenueResult(False, f"{len(left)} orders still open after {VENUE_TRIES} tries")
    except (VenueError, WireError, OSError, RuntimeError) as exc:
        return VenueResult(False, f"cancel at the venue failed: {exc}")


def _ref() -> str:
    return f"cli:{int(time.time() * 1000)}:{random.getrandbits(32):08x}"
