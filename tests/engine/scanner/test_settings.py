"""The [scanner] settings: documented defaults, checked values, and the filter they make."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from polytui.config import ConfigError, ScannerSettings, load_settings
from polytui.engine.scanner import filter_of


def test_the_readme_lists_the_defaults() -> None:
    readme = (Path(__file__).resolve().parents[3] / "README.md").read_text()
    example = tomllib.loads(readme.split("```toml\n", 1)[1].split("```", 1)[0])
    assert ScannerSettings(**example["scanner"]) == ScannerSettings()


def test_bad_values_are_refused_with_the_key(tmp_path: Path) -> None:
    config = tmp_path / "polytui.toml"
    config.write_text("[scanner]\nmin_hours_to_end = 5\nmax_hours_to_end = 1\n")
    with pytest.raises(ConfigError, match="scanner: .*max_hours_to_end is below"):
        load_settings(config)
    config.write_text("[scanner]\npage_size = 501\n")
    with pytest.raises(ConfigError, match="scanner.page_size"):
        load_settings(config)


def test_the_filter_follows_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POLYTUI_SCANNER__CATEGORIES", '["Crypto", "sports"]')
    settings = load_settings(None, {"scanner": {"max_spread": 0.05, "neg_risk": False}})
    f = filter_of(settings.scanner)
    assert f.categories == {"crypto", "sports"}  # tags match in lower case
    assert (f.max_spread, f.allow_neg_risk, f.max_markets) == (0.05, False, 200)
