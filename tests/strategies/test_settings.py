"""The [risk] and [copytrade] settings: documented defaults, checked values, and what the gates
and the copy-trader make of them."""

from __future__ import annotations

import tomllib
from decimal import Decimal as D
from pathlib import Path

import pytest

from polytui.config import ConfigError, CopySettings, RiskSettings, load_settings
from polytui.core.risk import RiskLimits
from polytui.core.strategy import OrderType
from polytui.strategies.copytrade import CopyParams

LEADER = "0x" + "Ab" * 20


def readme_example() -> dict:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    return tomllib.loads(readme.split("```toml\n", 1)[1].split("```", 1)[0])


def test_the_readme_lists_the_defaults() -> None:
    example = readme_example()
    assert RiskSettings(**example["risk"]) == RiskSettings()
    assert CopySettings(**example["copytrade"]) == CopySettings()


def test_risk_limits_follow_the_settings_and_keep_their_defaults() -> None:
    assert RiskLimits.of(RiskSettings()) == RiskLimits()
    settings = load_settings(None, {"risk": {"max_signal_age_s": 5, "categories": ["Sports"],
                                             "max_chase": "0.05"}})  # fmt: skip
    limits = RiskLimits.of(settings.risk)
    assert limits.max_signal_age_ms == 5000 and limits.categories == {"sports"}
    assert limits.max_chase == D("0.05")
    no_cap = load_settings(None, {"risk": {"daily_loss_cap_usdc": 0}})
    assert RiskLimits.of(no_cap.risk).daily_loss_cap_usdc is None


def test_copy_params_follow_the_settings(tmp_path: Path) -> None:
    config = tmp_path / "polytui.toml"
    config.write_text(
        "[risk]\nmax_trade_usdc = 50\n"
        "[copytrade]\norder_type = 'GTD'\nwindow_s = 1.5\nkelly_fraction = 0.5\n"
        f"[[copytrade.leaders]]\naddress = '{LEADER}'\nname = 'ab'\ncash_usdc = 2500.5\n"
        "scale = 0.5\nmax_exposure_usdc = 300\n"
    )
    settings = load_settings(config)
    params = CopyParams.of(settings.copytrade, settings.risk)
    (leader,) = params.leaders.values()
    assert leader.address == LEADER.lower() and leader.cash_usdc == D("2500.5")
    assert leader.scale == D("0.5") and params.leader_caps() == {LEADER.lower(): D(300)}
    assert params.order_type is OrderType.GTD and params.feed.window_ms == 1500
    assert params.feed.score.window_ms == 1500 and params.feed.poll_ms == 2000
    assert params.sizer.max_usdc == D(50) and params.sizer.kelly_fraction == D("0.5")
    limits = RiskLimits.of(settings.risk, leader_caps=params.leader_caps())
    assert limits.leader_caps == {LEADER.lower(): D(300)}


@pytest.mark.parametrize(
    ("toml", "expected"),
    [
        ("[risk]\nmin_trade_usdc = 10\nmax_trade_usdc = 5\n", "min_trade_usdc is above"),
        ("[risk]\nmax_slippage = 1.5\n", "risk.max_slippage"),
        ("[risk]\ndaily_reset_hour_utc = 24\n", "risk.daily_reset_hour_utc"),
        ("[risk]\nslippage_action = 'warn'\n", "risk.slippage_action"),
        ("[copytrade]\norder_type = 'GTC'\n", "copytrade.order_type"),
        ("[[copytrade.leaders]]\naddress = '0x12'\n", "must be 0x and 40 hex digits"),
        (f"[[copytrade.leaders]]\naddress = '{LEADER}'\n"
         f"[[copytrade.leaders]]\naddress = '{LEADER.lower()}'\n", "a leader is listed twice"),
    ],
)  # fmt: skip
def test_bad_values_are_refused_with_the_key(tmp_path: Path, toml: str, expected: str) -> None:
    config = tmp_path / "polytui.toml"
    config.write_text(toml)
    with pytest.raises(ConfigError, match=expected):
        load_settings(config)
