"""SIGTERM and SIGHUP under the TUI: both stop the engine in order (``ui.cancel_on_exit``).

SIGTERM quits like ctrl+q and restores the terminal. SIGHUP means the terminal is gone (an
SSH drop, a closed tmux window): Textual's shutdown then blocks on writing to it, so once
the engine has stopped (or ``HANGUP_GRACE_S`` passed) the process leaves without waiting
for a terminal that no longer exists. A hung-up TUI never lingers with its engine running,
and neither does one whose engine hangs on the way out (``leave_if_stuck``).
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import threading
from collections.abc import Callable
from typing import Any

HANGUP_GRACE_S = 20.0  # for the engine to stop in order
STOP_WAIT_S = 20.0  # the App waits this long for the engine on quit
AFTER_STOP_S = 1.0  # for Textual to finish on its own, if it can


def install(
    loop: asyncio.AbstractEventLoop, quit_app: Callable[[], Any], host: Any
) -> Callable[[], None]:
    def hang_up() -> None:
        host.stop()
        threading.Thread(
            target=_leave_when_stopped, args=(host,), daemon=True, name="polytui-hangup"
        ).start()
        quit_app()

    loop.add_signal_handler(signal.SIGTERM, quit_app)
    loop.add_signal_handler(signal.SIGHUP, hang_up)

    def remove() -> None:
        for sig in (signal.SIGTERM, signal.SIGHUP):
            loop.remove_signal_handler(sig)

    return remove


def leave_if_stuck(host: Any) -> None:
    """After the App quit: an engine that has not stopped by now is hung; say so and leave
    (its thread would keep the interpreter from exiting)."""
    if host.finished.wait(AFTER_STOP_S):
        return
    print("polytui: the engine did not stop in time; leaving without it", file=sys.stderr)
    sys.stderr.flush()
    os._exit(1)


def _leave_when_stopped(host: Any) -> None:
    host.finished.wait(HANGUP_GRACE_S)
    threading.Event().wait(AFTER_STOP_S)
    os._exit(0)
