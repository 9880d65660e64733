"""The headless path never loads Textual, and `import polytui` loads nothing at all."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]

HEADLESS_MODULES = [
    "polytui.cli",
    "polytui.config",
    "polytui.keys",
    "polytui.headless",
    "polytui.engine.sim_child",
    "polytui.engine.startup",
    "polytui.sim.cli",
    "polytui.sim.server",
    "polytui.store.store",
    "polytui.store.commands",
    "polytui.engine.order_tracker",
    "polytui.engine.ops_wiring",
    "polytui.engine.views",
    "polytui.engine.preview",
    "polytui.opscli",
    "polytui.doctor",
    "polytui.engine.kernel",
    "polytui.engine.control",
    "polytui.engine.kill_command",
    "polytui.engine.status",
    "polytui.engine.scrub",
]


def modules_loaded_by(code: str) -> set[str]:
    script = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return set(json.loads(result.stdout.splitlines()[-1]))


@pytest.mark.parametrize("module", HEADLESS_MODULES)
def test_headless_module_does_not_load_textual(module: str) -> None:
    loaded = modules_loaded_by(f"import {module}")
    assert module in loaded
    assert not {m for m in loaded if m == "textual" or m.startswith(("textual.", "polytui.ui"))}


def test_the_cli_runs_headless_without_loading_textual() -> None:
    loaded = modules_loaded_by(
        "from polytui.cli import build_parser, cli_overrides\n"
        "from polytui.config import load_settings\n"
        "load_settings(None, cli_overrides(build_parser().parse_args(['--no-ui'])))"
    )
    assert "textual" not in loaded


def test_importing_the_package_loads_only_the_package() -> None:
    loaded = modules_loaded_by("import polytui")
    assert {m for m in loaded if m.startswith("polytui")} == {"polytui"}
    assert not {"pydantic", "httpx", "eth_account", "textual"} & loaded


# The dependency rule (architecture §2): what each layer may load of polytui.
LAYER_RULES = {
    "polytui.core": ("polytui.core",),
    "polytui.protocol": ("polytui.core", "polytui.protocol"),
    "polytui.venue": ("polytui.core", "polytui.protocol", "polytui.venue"),
    "polytui.sim": ("polytui.core.clock", "polytui.sim"),
    "polytui.store": ("polytui.core", "polytui.store"),
    "polytui.strategies": ("polytui.core", "polytui.protocol", "polytui.strategies"),
    "polytui.ops": ("polytui.core", "polytui.protocol", "polytui.ops"),
}
FORBIDDEN_EVERYWHERE_BUT_UI = ("textual", "sqlmodel", "sqlalchemy")
ALSO_FORBIDDEN = {  # third-party packages a layer must not load, beyond the above
    "polytui.core": ("httpx", "aiohttp", "websockets", "psycopg"),
    "polytui.store": ("httpx", "aiohttp", "websockets"),
    "polytui.ops": ("aiohttp", "websockets", "psycopg"),
}
ALLOWED = {"polytui.store": ("sqlmodel", "sqlalchemy")}  # persistence is the store's job


@pytest.mark.parametrize("layer", sorted(LAYER_RULES))
def test_each_layer_loads_only_what_the_dependency_rule_allows(layer: str) -> None:
    package = REPO_ROOT.joinpath(*layer.split("."))
    modules = sorted(
        ".".join(p.relative_to(REPO_ROOT).with_suffix("").parts)
        for p in package.rglob("*.py")
        if p.name != "__init__.py"
    )
    loaded = modules_loaded_by("\n".join(f"import {m}" for m in modules))
    ours = {m for m in loaded if m.startswith("polytui.") and m not in ("polytui",)}
    allowed = LAYER_RULES[layer]
    assert not {m for m in ours if not m.startswith(allowed) and m != "polytui.core"}, (
        f"{layer} loads modules outside {allowed}"
    )
    forbidden = set(FORBIDDEN_EVERYWHERE_BUT_UI) - set(ALLOWED.get(layer, ()))
    forbidden |= set(ALSO_FORBIDDEN.get(layer, ()))
    assert not {m for m in loaded if m.split(".")[0] in forbidden}


def test_core_and_strategies_load_no_io_library() -> None:
    """``core`` is pure and ``strategies`` reach the venue only through the ports they are
    given: neither loads an HTTP, WebSocket or database library, nor the settings."""
    modules = sorted(
        ".".join(p.relative_to(REPO_ROOT).with_suffix("").parts)
        for layer in ("core", "strategies")
        for p in REPO_ROOT.joinpath("polytui", layer).rglob("*.py")
        if p.name != "__init__.py"
    )
    loaded = modules_loaded_by("\n".join(f"import {m}" for m in modules))
    roots = {m.split(".")[0] for m in loaded}
    assert not roots & {"httpx", "aiohttp", "websockets", "sqlalchemy", "sqlmodel", "textual"}
    assert "polytui.config" not in loaded and "pydantic_settings" not in roots
