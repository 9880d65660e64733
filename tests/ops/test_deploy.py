"""The deploy/ folder agrees with the code: the example config loads, and every metric the
alert rules and the dashboard use is one polytui exports."""

from __future__ import annotations

import json
import re
from pathlib import Path

from polytui.config import load_settings
from polytui.ops.metrics import EngineMetrics

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def exported_names() -> set[str]:
    metrics = EngineMetrics()
    metrics.update({})
    text = metrics.render().decode()
    return set(re.findall(r"^# TYPE (\w+)", text, re.MULTILINE))


def base(name: str) -> str:
    return re.sub(r"_(bucket|count|sum|total)$", "", name)


def test_the_example_config_loads() -> None:
    settings = load_settings(DEPLOY / "polytui.toml")
    assert settings.metrics.host == "127.0.0.1"
    assert [w.format for w in settings.alerts.webhooks] == ["slack", "json"]


def test_rules_and_dashboard_use_exported_metrics() -> None:
    names = {base(n) for n in exported_names()}
    text = (DEPLOY / "prometheus-alerts.yml").read_text()
    dashboard = json.loads((DEPLOY / "grafana-dashboard.json").read_text())
    exprs = [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
    used = set(re.findall(r"\b((?:polytui|process)_\w+)", text + "\n".join(exprs)))
    missing = {n for n in used if base(n) not in names}
    assert not missing


def test_the_unit_is_a_notify_service_with_a_watchdog() -> None:
    unit = (DEPLOY / "polytui.service").read_text()
    for line in (
        "Type=notify",
        "WatchdogSec=",
        "--no-ui",
        "RestartPreventExitStatus=2",
        "LoadCredentialEncrypted=polytui-keystore-passphrase",
    ):
        assert line in unit
