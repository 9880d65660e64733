"""Helpers for tests that start and stop real processes."""

from __future__ import annotations

import os


def process_is_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False
