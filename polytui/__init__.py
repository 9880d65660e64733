"""polytui: a terminal trader workstation for Polymarket.

This module only knows the version, and computes it on first access, so `import polytui` stays
cheap and never pulls in Textual, the engine or the simulator.
"""

from __future__ import annotations

__all__ = ["__version__"]


def __getattr__(name: str) -> str:
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("polytui")
        except PackageNotFoundError:  # running from a checkout that was never installed
            return "0+unknown"
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
