"""The operations commands: ``polytui keys``, ``backup``, ``restore``, ``doctor``.

Each ``_add_<name>`` adds its subparser (listed in ``OPS_COMMANDS``, which ``polytui.cli``
includes); handlers import what they need when they run. Nothing secret is ever printed: the
commands print addresses, paths and counts.

Passphrases (``polytui.ops.passphrase``): ``--passphrase-file PATH``, else
``POLYTUI_KEYSTORE_PASSPHRASE`` / ``POLYTUI_BACKUP_PASSPHRASE``, else the systemd credentials
``polytui-keystore-passphrase`` / ``polytui-backup-passphrase``, else a prompt on a terminal.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable
from pathlib import Path

from polytui import exit_codes

BACKUP_ENV = "POLYTUI_BACKUP_PASSPHRASE"
BACKUP_CREDENTIAL = "polytui-backup-passphrase"


def _error(message: str) -> int:
    from polytui.ops.logs import diagnostic

    diagnostic(message)
    return exit_codes.FAILURE


def _settings(args: argparse.Namespace, db: Path | None = None):  # noqa: ANN202
    from polytui.cli import cli_overrides
    from polytui.config import load_settings

    overrides = cli_overrides(args)
    if db is not None:
        overrides.setdefault("paths", {})["db"] = db
    return load_settings(args.config, overrides)


def _passphrase_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--passphrase-file",
        type=Path,
        metavar="PATH",
        help="read the passphrase from PATH (mode 0600) instead of the environment or a prompt",
    )


def _db_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--db",
        type=Path,
        metavar="PATH",
        default=argparse.SUPPRESS,
        help="SQLite ledger (default: paths.db)",
    )


# ---- keys ------------------------------------------------------------------------------------


def _add_keys(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "keys",
        help="the encrypted keystore: new, import, address, creds (see `polytui keys --help`)",
        description="The trading key in an encrypted keystore (eth-account scrypt JSON, mode "
        "0600; default <data dir>/keystore.json) and its API credentials, stored encrypted "
        "with the same passphrase. Sim mode uses its own plain wallet file (sim-key) and needs "
        "none of this.",
    )
    actions = parser.add_subparsers(title="actions", metavar="ACTION", required=True)
    for name, text in (
        ("new", "create a new random key in the keystore; prints its address"),
        (
            "import",
            "put an existing private key in the keystore (read from --key-file, from "
            "stdin, or asked without echo); prints its address",
        ),
        ("address", "print the keystore's address (no passphrase needed)"),
        ("creds", "derive the API credentials from the venue (L1) and store them encrypted"),
    ):
        action = actions.add_parser(name, help=text, description=text)
        action.add_argument(
            "--keystore",
            type=Path,
            metavar="PATH",
            help="keystore file (default: keys.keystore, else <data dir>/keystore.json)",
        )
        if name != "address":
            _passphrase_option(action)
        if name == "import":
            action.add_argument(
                "--key-file",
                type=Path,
                metavar="PATH",
                help="read the private key (hex) from PATH (mode 0600)",
            )
        if name == "address":
            action.add_argument(
                "--sim", action="store_true", help="the sim wallet's address instead"
            )
        action.set_defaults(handler=_keys, keys_action=name)


def _keys(args: argparse.Namespace) -> int:
    from polytui.doctor import KEYSTORE_CREDENTIAL, KEYSTORE_ENV
    from polytui.ops.keystore import Keystore, KeystoreError, keystore_path
    from polytui.ops.passphrase import PassphraseError, read_passphrase

    settings = _settings(args)
    store = Keystore(
        args.keystore or keystore_path(settings.paths.data_dir, settings.keys.keystore)
    )
    action = args.keys_action

    def passphrase(new: bool):  # noqa: ANN202
        return read_passphrase(
            purpose="keystore",
            env_var=KEYSTORE_ENV,
            credential=KEYSTORE_CREDENTIAL,
            file=args.passphrase_file or settings.keys.passphrase_file,
            new=new,
        )

    try:
        if action == "address":
            if args.sim:
                from polytui.keys import KeyFileError, load_or_create_sim_key

                try:
                    print(load_or_create_sim_key(settings.paths.data_dir).address)
                except KeyFileError as exc:
                    return _error(str(exc))
                return exit_codes.OK
            print(store.address())
            return exit_codes.OK
        if action in ("new", "import") and store.exists:
            return _error(
                f"a keystore already exists at {store.path}; nothing was changed. "
                "Move it away first (it holds a key), or give another --keystore."
            )
        if action == "new":
            address = store.create(passphrase(new=True))
        elif action == "import":
            key = _read_private_key(args.key_file)
            address = store.import_key(key, passphrase(new=True))
        else:
            return _derive_creds(settings, store, passphrase(new=False))
    except (KeystoreError, PassphraseError) as exc:
        return _error(str(exc))
    print(f"address {address}")
    print(f"keystore {store.path}")
    return exit_codes.OK


def _read_private_key(key_file: Path | None) -> str:
    from polytui.ops.keystore import KeystoreError, read_private
    from polytui.ops.redact import register_secret

    if key_file is not None:
        try:
            text = read_private(key_file).decode("ascii", errors="replace")
        except OSError as exc:
            raise KeystoreError(f"cannot read {key_file}: {exc.strerror}") from None
    elif not sys.stdin.isatty():
        text = sys.stdin.readline()
    else:
        import getpass

        text = getpass.getpass("Private key (hex, not shown): ")
    register_secret(text.strip())
    return text


def _derive_creds(settings, store, passphrase) -> int:  # noqa: ANN001
    from polytui.doctor import CHAIN_ID
    from polytui.engine.sim_child import SimulatorError
    from polytui.engine.startup import VenueCheckError, connect_venue, open_simulator
    from polytui.venue.errors import VenueError
    from polytui.venue.trading import obtain_creds

    signer = store.unlock(passphrase)

    async def derive():  # noqa: ANN202
        async with (
            open_simulator(settings.sim) as simulator,
            connect_venue(simulator.endpoints, settings.venue) as venue,
        ):
            return await obtain_creds(venue.http, signer, chain_id=CHAIN_ID)

    try:
        creds = asyncio.run(derive())
    except (SimulatorError, VenueCheckError, VenueError) as exc:
        return _error(f"cannot derive the API credentials: {exc}")
    store.save_creds(creds, passphrase)
    print(f"address {signer.address}")
    print(f"api credentials {store.creds_path} (encrypted)")
    return exit_codes.OK


# ---- backup and restore ------------------------------------------------------------------


def _key_files(settings) -> list[Path]:  # noqa: ANN001
    from polytui.keys import SIM_KEY_FILENAME
    from polytui.ops.keystore import CREDS_FILENAME, keystore_path

    keystore = keystore_path(settings.paths.data_dir, settings.keys.keystore)
    return [
        keystore,
        keystore.with_name(CREDS_FILENAME),
        settings.paths.data_dir / SIM_KEY_FILENAME,
    ]


def _add_backup(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "backup",
        help="an encrypted, consistent backup of the ledger and the keys (works while the "
        "engine runs)",
        description="Copy the SQLite ledger with SQLite's online backup API (consistent while "
        "the engine writes) and the key files (keystore, API credentials, sim wallet) into one "
        "file encrypted with a passphrase (scrypt + AES-256-GCM). DEST may be a directory: the "
        "file is then named after the time. A PostgreSQL ledger is not copied (use pg_dump).",
    )
    parser.add_argument("dest", type=Path, metavar="DEST")
    _db_option(parser)
    _passphrase_option(parser)
    parser.set_defaults(handler=_backup)


def _backup(args: argparse.Namespace) -> int:
    import polytui
    from polytui.config import ledger_target
    from polytui.ops.backup import BackupError, create_backup
    from polytui.ops.passphrase import PassphraseError, read_passphrase

    settings = _settings(args, getattr(args, "db", None))
    target = ledger_target(settings)
    db = target if isinstance(target, Path) else None
    try:
        passphrase = read_passphrase(
            purpose="backup",
            env_var=BACKUP_ENV,
            credential=BACKUP_CREDENTIAL,
            file=args.passphrase_file,
            new=True,
        )
        report = create_backup(
            args.dest,
            db=db,
            key_files=_key_files(settings),
            passphrase=passphrase,
            busy_timeout_s=settings.ledger.busy_timeout_ms / 1000,
            polytui_version=polytui.__version__,
        )
    except (BackupError, PassphraseError) as exc:
        return _error(str(exc))
    ledger = report.manifest.get("ledger")
    print(f"backup {report.path} ({report.size} bytes, encrypted)")
    if ledger:
        print(
            f"ledger {ledger['source']}: {ledger['events']} events, last seq {ledger['last_seq']}"
        )
    else:
        print("ledger not included (ledger.url is a database URL: back it up with pg_dump)")
    keys = [n.removeprefix("keys/") for n in report.manifest["files"] if n.startswith("keys/")]
    print(f"keys {', '.join(keys) or 'none'}")
    return exit_codes.OK


def _add_restore(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "restore",
        help="check or restore a backup (with the engine stopped)",
        description="Decrypt BACKUP, check every file against its manifest and the ledger's "
        "integrity, then put the ledger back at paths.db (or --db) and the keys in the data "
        "directory. Refuses while an engine holds the ledger, and leaves existing files alone "
        "unless --force, which keeps them beside as <name>.before-restore-<time>.",
    )
    parser.add_argument("backup", type=Path, metavar="BACKUP")
    parser.add_argument(
        "--check", action="store_true", help="decrypt and verify only; change nothing"
    )
    parser.add_argument(
        "--force", action="store_true", help="replace existing files (the old ones are kept aside)"
    )
    _db_option(parser)
    _passphrase_option(parser)
    parser.set_defaults(handler=_restore)


def _restore(args: argparse.Namespace) -> int:
    from polytui.config import ledger_target
    from polytui.ops.backup import BackupError, check_backup, restore_backup
    from polytui.ops.keystore import keystore_path
    from polytui.ops.passphrase import PassphraseError, read_passphrase

    settings = _settings(args, getattr(args, "db", None))
    target = ledger_target(settings)
    try:
        passphrase = read_passphrase(
            purpose="backup",
            env_var=BACKUP_ENV,
            credential=BACKUP_CREDENTIAL,
            file=args.passphrase_file,
        )
        if args.check:
            manifest = check_backup(args.backup, passphrase)
            print(f"backup {args.backup}: OK, made {manifest['created']} on {manifest['host']}")
            if manifest.get("ledger"):
                ledger = manifest["ledger"]
                print(f"ledger {ledger['events']} events, last seq {ledger['last_seq']}")
            print("files " + ", ".join(sorted(manifest["files"])))
            return exit_codes.OK
        report = restore_backup(
            args.backup,
            passphrase,
            db=target if isinstance(target, Path) else None,
            data_dir=settings.paths.data_dir,
            keystore=keystore_path(settings.paths.data_dir, settings.keys.keystore),
            force=args.force,
        )
    except (BackupError, PassphraseError) as exc:
        return _error(str(exc))
    for path in report.restored:
        print(f"restored {path}")
    for path in report.kept_aside:
        print(f"kept {path}")
    if report.manifest.get("ledger"):
        ledger = report.manifest["ledger"]
        print(f"ledger {ledger['events']} events, last seq {ledger['last_seq']}")
    return exit_codes.OK


# ---- doctor --------------------------------------------------------------------------------


def _add_doctor(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "doctor",
        help="preflight: config, files, venue, clock, keys, credentials, balance, rate budget",
        description="Check everything a run needs, one line each (OK, WARN or FAIL with the "
        "fix). Exit 1 if any check fails, 2 if the configuration does not load. Writes nothing.",
    )
    _passphrase_option(parser)
    parser.set_defaults(handler=_doctor)


def _doctor(args: argparse.Namespace) -> int:
    from polytui.config import ConfigError
    from polytui.doctor import run_doctor
    from polytui.ops.doctor import fail, render

    try:
        settings = _settings(args)
    except ConfigError as exc:
        print(render([fail("config", str(exc), "fix the setting named above")]))
        return exit_codes.USAGE
    source = str(args.config) if args.config else "defaults and POLYTUI_* environment"
    detail = f"{source}; mode {settings.run.mode}"
    return run_doctor(settings, detail, args.passphrase_file)


OPS_COMMANDS: list[Callable[[argparse._SubParsersAction], None]] = [
    _add_keys,
    _add_backup,
    _add_restore,
    _add_doctor,
]
