from __future__ import annotations

import os
from pathlib import Path

import pytest
from pydantic import ValidationError

from polytui.config import ConfigError, load_settings


def write_toml(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "polytui.toml"
    path.write_text(text)
    return path


def test_file_then_env_then_flag_each_wins_over_the_one_before(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = write_toml(tmp_path, '[sim]\nurl = "http://file:1"\nseed = 1\n[run]\nduration = 5\n')
    assert load_settings(config).sim.url == "http://file:1"

    monkeypatch.setenv("POLYTUI_SIM__URL", "http://env:2")
    monkeypatch.setenv("POLYTUI_SIM__SEED", "2")
    settings = load_settings(config)
    assert (settings.sim.url, settings.sim.seed) == ("http://env:2", 2)

    settings = load_settings(config, {"sim": {"url": "http://flag:3"}})
    assert settings.sim.url == "http://flag:3"
    assert settings.sim.seed == 2  # a flag for one key leaves the rest of its section alone
    assert settings.run.duration == 5  # and the file still fills what nobody overrides


def test_defaults_put_the_database_in_the_user_data_dir() -> None:
    settings = load_settings(overrides={})
    assert settings.run.mode == "sim"
    assert settings.ui.kill_key == "ctrl+k"
    assert settings.paths.data_dir.name == "polytui"
    assert Path(os.environ["HOME"]) in settings.paths.data_dir.parents  # per-user, not global
    assert settings.paths.db == settings.paths.data_dir / "polytui.db"


def test_db_follows_a_data_dir_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POLYTUI_PATHS__DATA_DIR", str(tmp_path / "d"))
    settings = load_settings()
    assert settings.paths.db == tmp_path / "d" / "polytui.db"
    assert load_settings(overrides={"paths": {"db": tmp_path / "x.db"}}).paths.db == (
        tmp_path / "x.db"
    )


def test_settings_are_frozen() -> None:
    settings = load_settings()
    with pytest.raises(ValidationError):
        settings.run.duration = 3  # type: ignore[misc]


@pytest.mark.parametrize(
    ("toml", "expected"),
    [
        ("[sim]\nseed = 'abc'\n", "sim.seed"),
        ("[sim]\nsede = 3\n", "sim.sede: unknown setting"),
        ("[simulator]\nseed = 3\n", "simulator: unknown setting"),
        ("[run]\nduration = -1\n", "run.duration"),
        ("[run]\nmode = 'live'\n", "run.mode"),
        ("[sim]\nurl = 'localhost:8080'\n", "sim.url: Value error, must start with http://"),
    ],
)
def test_a_bad_value_in_the_file_names_the_key_and_the_file(
    tmp_path: Path, toml: str, expected: str
) -> None:
    config = write_toml(tmp_path, toml)
    with pytest.raises(ConfigError) as caught:
        load_settings(config)
    assert expected in str(caught.value)
    assert str(config) in str(caught.value)


def test_a_bad_env_value_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POLYTUI_SIM__MARKETS", "0")
    with pytest.raises(ConfigError, match=r"sim\.markets: .*POLYTUI_SIM__MARKETS"):
        load_settings()


def test_missing_or_broken_config_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_settings(tmp_path / "nope.toml")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(write_toml(tmp_path, "[sim\n"))


def test_the_readme_example_config_is_valid(tmp_path: Path) -> None:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    example = readme.split("```toml\n", 1)[1].split("```", 1)[0]
    settings = load_settings(write_toml(tmp_path, example))
    assert settings.ui.theme == "polytui-dark"


def test_venue_settings_come_from_the_file_and_are_checked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "polytui.toml"
    config.write_text('[venue]\ntimeout_s = 2.5\ncapture = "~/cap.jsonl"\nws_max_assets = 50\n')
    venue = load_settings(config).venue
    assert (venue.timeout_s, venue.ws_max_assets) == (2.5, 50)
    assert venue.capture == Path(os.environ["HOME"]) / "cap.jsonl"
    monkeypatch.setenv("POLYTUI_VENUE__RATE_BUDGET", "1.5")
    with pytest.raises(ConfigError, match="venue.rate_budget.*POLYTUI_VENUE__RATE_BUDGET"):
        load_settings(config)


def test_venue_settings_reach_the_clients() -> None:
    from polytui.engine.startup import retry_policy, ws_settings

    venue = load_settings(None, {"venue": {"ws_max_assets": 7, "retry_attempts": 2}}).venue
    assert ws_settings(venue).max_assets_per_conn == 7
    assert ws_settings(venue).ping_interval_s == 10.0
    assert retry_policy(venue).attempts == 2


def test_the_readme_lists_every_mirror_setting_with_its_default():
    import tomllib
    from pathlib import Path

    from polytui.config import MirrorSettings

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    example = tomllib.loads(readme.split("```toml\n", 1)[1].split("```", 1)[0])["mirror"]
    assert set(example) == set(MirrorSettings.model_fields)
    assert MirrorSettings(**example) == MirrorSettings()
