"""The order side's settings: the README lists them with their defaults, bad values are
refused naming the key, and the kernel turns them into the tracker's policies."""

from __future__ import annotations

import tomllib
from decimal import Decimal
from pathlib import Path

import pytest

from polytui.config import (
    ConfigError,
    OrdersSettings,
    ReconcilerSettings,
    TestStrategySettings,
    load_settings,
)
from polytui.engine.kernel import _policy
from polytui.engine.order_tracker import PartialPolicy, StrategyPolicy

README = Path(__file__).resolve().parents[3] / "README.md"


@pytest.mark.parametrize(
    ("section", "model"),
    [
        ("orders", OrdersSettings),
        ("reconciler", ReconcilerSettings),
        ("test_strategy", TestStrategySettings),
    ],
)
def test_the_readme_lists_every_setting_with_its_default(section: str, model) -> None:  # type: ignore[no-untyped-def]
    example = tomllib.loads(README.read_text().split("```toml\n", 1)[1].split("```", 1)[0])
    assert set(example[section]) == set(model.model_fields) - {"strategies"}
    assert model(**example[section]) == model()


def test_per_strategy_policies_come_from_the_file(tmp_path: Path) -> None:
    config = tmp_path / "polytui.toml"
    config.write_text(
        '[orders]\npartial_policy = "cancel_rest"\n'
        '[orders.strategies.copy]\npartial_policy = "replace"\nslippage = 0.01\n'
    )
    orders = load_settings(config).orders
    assert _policy(orders.partial_policy, orders.slippage).partial is PartialPolicy.CANCEL_REST
    copy = orders.strategies["copy"]
    assert _policy(copy.partial_policy, copy.slippage) == StrategyPolicy(
        PartialPolicy.REPLACE, Decimal("0.01")
    )


def test_bad_values_are_refused_naming_the_key(tmp_path: Path) -> None:
    config = tmp_path / "polytui.toml"
    config.write_text('[orders.strategies.copy]\npartial_policy = "chase"\n')
    with pytest.raises(ConfigError, match="orders.strategies.copy.partial_policy"):
        load_settings(config)
    config.write_text("[test_strategy]\nsize = 3\n")
    with pytest.raises(ConfigError, match="test_strategy.size"):
        load_settings(config)
    config.write_text("[orders]\nheartbeat_s = 0\n")
    with pytest.raises(ConfigError, match="orders.heartbeat_s"):
        load_settings(config)
