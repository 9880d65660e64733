"""Where a passphrase comes from, first found wins:

1. a file given on the command line (``--passphrase-file``) or in the settings;
2. an environment variable (``POLYTUI_KEYSTORE_PASSPHRASE``, ``POLYTUI_BACKUP_PASSPHRASE``);
3. a systemd credential: ``$CREDENTIALS_DIRECTORY/<name>`` (``LoadCredential=`` in the unit);
4. a prompt, when stdin is a terminal (asked twice for a new passphrase).

Otherwise `PassphraseError` says how to give one. A passphrase file must be readable by its
owner only (like the key files); one trailing newline is dropped. The passphrase is returned as
a `Secret` and registered with the redactor, so it never reaches a log line.
"""

from __future__ import annotations

import getpass
import os
import stat
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

from polytui.ops.redact import Secret, register_secret

MIN_NEW_LENGTH = 8


class PassphraseError(Exception):
    """No usable passphrase; the message says how to give one."""


def read_passphrase(
    *,
    purpose: str,
    env_var: str,
    credential: str,
    file: Path | None = None,
    new: bool = False,
    environ: Mapping[str, str] | None = None,
    prompt: Callable[[str], str] = getpass.getpass,
    interactive: bool | None = None,
) -> Secret:
    env = os.environ if environ is None else environ
    value: str | None = None
    if file is not None:
        value = _read_file(file)
    elif env.get(env_var):
        value = env[env_var]
    elif (
        env.get("CREDENTIALS_DIRECTORY")
        and (Path(env["CREDENTIALS_DIRECTORY"]) / credential).is_file()
    ):
        value = _read_file(Path(env["CREDENTIALS_DIRECTORY"]) / credential, check_mode=False)
    else:
        if interactive is None:
            interactive = sys.stdin.isatty()
        if not interactive:
            raise PassphraseError(
                f"no passphrase for the {purpose}: give --passphrase-file PATH, set {env_var}, "
                "or run in a terminal to be asked"
            )
        value = prompt(f"Passphrase for the {purpose}: ")
        if new and prompt(f"Passphrase for the {purpose} (again): ") != value:
            raise PassphraseError("the two passphrases differ; nothing was changed")
    if not value:
        raise PassphraseError(f"the passphrase for the {purpose} is empty")
    if new and len(value) < MIN_NEW_LENGTH:
        raise PassphraseError(
            f"a new passphrase needs at least {MIN_NEW_LENGTH} characters; nothing was changed"
        )
    register_secret(value)
    return Secret(value)


def _read_file(path: Path, check_mode: bool = True) -> str:
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
        if check_mode and mode & 0o077:
            raise PassphraseError(
                f"passphrase file {path} has mode {mode:04o}; it must be readable by you only "
                f"(chmod 600 {path})"
            )
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PassphraseError(f"cannot read passphrase file {path}: {exc.strerror}") from None
    return text.removesuffix("\n").removesuffix("\r")
