"""The [ledger] settings section."""

from __future__ import annotations

from pathlib import Path

import pytest

from polytui.config import ConfigError, ledger_target, load_settings


def test_by_default_the_ledger_is_the_sqlite_file_paths_db(tmp_path: Path) -> None:
    settings = load_settings(None, {"paths": {"db": str(tmp_path / "x.db")}})
    assert ledger_target(settings) == tmp_path / "x.db"
    assert (settings.ledger.busy_timeout_ms, settings.ledger.batch_size) == (5000, 256)


def test_a_url_wins_over_the_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POLYTUI_LEDGER__URL", "postgresql+psycopg://polytui@127.0.0.1/polytui")
    assert ledger_target(load_settings()) == "postgresql+psycopg://polytui@127.0.0.1/polytui"


@pytest.mark.parametrize(
    ("key", "value", "problem"),
    [
        ("url", "/not/a/url.db", "must be a database URL"),
        ("batch_size", 0, "greater than or equal to 1"),
        ("busy_timeout_ms", -1, "greater than or equal to 0"),
        ("wal", True, "unknown setting"),
    ],
)
def test_bad_ledger_settings_name_the_key(key: str, value: object, problem: str) -> None:
    with pytest.raises(ConfigError, match=rf"ledger\.{key}: .*{problem}"):
        load_settings(None, {"ledger": {key: value}})
