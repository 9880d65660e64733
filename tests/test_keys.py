from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from eth_account import Account

from polytui.keys import KeyFileError, load_or_create_sim_key


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_first_load_creates_a_private_key_file_in_a_private_dir(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    key = load_or_create_sim_key(data_dir)
    assert mode_of(data_dir / "sim-key") == 0o600
    assert mode_of(data_dir) == 0o700
    assert Account.from_key(key.private_key).address == key.address
    assert os.listdir(data_dir) == ["sim-key"]  # no temporary file left behind


def test_the_wallet_is_the_same_across_restarts(tmp_path: Path) -> None:
    first = load_or_create_sim_key(tmp_path)
    second = load_or_create_sim_key(tmp_path)
    assert first.address == second.address
    assert load_or_create_sim_key(tmp_path / "other").address != first.address


def test_repr_and_str_never_show_the_key(tmp_path: Path) -> None:
    key = load_or_create_sim_key(tmp_path)
    hex_key = key.private_key.removeprefix("0x")
    for shown in (repr(key), str(key), f"{key}", repr([key])):
        assert hex_key not in shown.lower()
        assert key.address in shown


def test_a_key_file_others_can_read_is_refused(tmp_path: Path) -> None:
    load_or_create_sim_key(tmp_path)
    (tmp_path / "sim-key").chmod(0o644)
    with pytest.raises(KeyFileError, match="chmod 600"):
        load_or_create_sim_key(tmp_path)


@pytest.mark.parametrize("content", ["", "not a key\n", "0x" + "zz" * 32, "0x" + "00" * 32])
def test_a_corrupt_key_file_is_a_clear_error(tmp_path: Path, content: str) -> None:
    path = tmp_path / "sim-key"
    path.write_text(content)
    path.chmod(0o600)
    with pytest.raises(KeyFileError, match="corrupt"):
        load_or_create_sim_key(tmp_path)
