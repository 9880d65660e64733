"""systemd supervision without libsystemd: ``sd_notify`` datagrams to ``$NOTIFY_SOCKET``.

    notifier = SystemdNotifier()            # inert when not started by systemd (Type=notify)
    notifier.notify(READY=1, STATUS="running")
    notifier.watchdog_interval_s            # half of $WATCHDOG_USEC, or None
    notifier.notify(WATCHDOG=1)

The protocol is one datagram of ``KEY=VALUE`` lines on an ``AF_UNIX`` socket (an address that
starts with ``@`` is in the abstract namespace), as sd_notify(3) describes; a failed send is
counted and never raised.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping


class SystemdNotifier:
    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        address = env.get("NOTIFY_SOCKET", "")
        if address.startswith("@"):
            address = "\0" + address[1:]
        self.address = address if address.startswith(("/", "\0")) else ""
        self.watchdog_interval_s = _watchdog_interval(env)
        self.sent = 0
        self.failed = 0

    @property
    def enabled(self) -> bool:
        return bool(self.address)

    def notify(self, **state: object) -> bool:
        """Send ``KEY=VALUE`` lines: ``READY=1``, ``WATCHDOG=1``, ``STOPPING=1``, ``STATUS=...``."""
        if not self.address:
            return False
        message = "\n".join(f"{key}={value}" for key, value in state.items()).encode()
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
                sock.connect(self.address)
                sock.sendall(message)
        except OSError:
            self.failed += 1
            return False
        self.sent += 1
        return True


def _watchdog_interval(env: Mapping[str, str]) -> float | None:
    """Half the watchdog timeout systemd asked for (``WatchdogSec=``), as sd_watchdog_enabled
    does: only when ``$WATCHDOG_PID`` is unset or names this process."""
    try:
        usec = int(env.get("WATCHDOG_USEC", ""))
    except ValueError:
        return None
    pid = env.get("WATCHDOG_PID")
    if usec <= 0 or (pid and pid != str(os.getpid())):
        return None
    return usec / 2_000_000
