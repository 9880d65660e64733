"""``polytui doctor``: the preflight, run before a service starts (and by hand after a
change). It reads the configuration, the data directory, the wallet, the keystore and its API
credentials, the ledger, the metrics port and the alert webhooks, then reaches the venue (the
simulator in sim mode: a child, or ``--sim-url``): endpoints, the market WebSocket, the clock
skew against ``GET /time``, API credentials (L1), balance and allowances (L2), and the rate
budget that the configured universe needs. One line per check (``polytui.ops.doctor``); exit 1
when any check fails. Nothing is written: no key, no ledger, no credentials.
"""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from polytui.config import Settings, ledger_target
from polytui.ops import doctor as d
from polytui.ops.doctor import Check
from polytui.ops.keystore import Keystore, KeystoreError, keystore_path
from polytui.ops.passphrase import PassphraseError, read_passphrase
from polytui.ops.redact import register_secret

CHAIN_ID = 137
KEYSTORE_ENV = "POLYTUI_KEYSTORE_PASSPHRASE"
KEYSTORE_CREDENTIAL = "polytui-keystore-passphrase"


def local_checks(settings: Settings, passphrase_file: Path | None) -> list[Check]:
    checks = [d.check_data_dir(settings.paths.data_dir)]
    from polytui.keys import SIM_KEY_FILENAME

    checks.append(
        d.check_private_file(
            "sim wallet",
            settings.paths.data_dir / SIM_KEY_FILENAME,
            missing=d.ok("sim wallet", "none yet (created 0600 on first start)"),
        )
    )
    checks += keystore_checks(settings, passphrase_file)
    checks.append(ledger_check(settings))
    checks.append(d.check_port(settings.metrics.host, settings.metrics.port))
    checks.append(d.check_webhooks(len(settings.alerts.webhooks)))
    return checks


def keystore_checks(settings: Settings, passphrase_file: Path | None) -> list[Check]:
    store = Keystore(keystore_path(settings.paths.data_dir, settings.keys.keystore))
    if not store.exists:
        return [
            d.ok(
                "keystore",
                f"none at {store.path} (sim mode does not need one; "
                "`polytui keys new` before live trading)",
            )
        ]
    checks = [d.check_private_file("keystore", store.path)]
    if checks[0].status == "FAIL":
        return checks
    try:
        passphrase = read_passphrase(
            purpose="keystore",
            env_var=KEYSTORE_ENV,
            credential=KEYSTORE_CREDENTIAL,
            file=passphrase_file or settings.keys.passphrase_file,
            interactive=False,
        )
    except PassphraseError as exc:
        return [
            *checks,
            d.warn(
                "keystore key",
                f"not unlocked: {exc}",
                f"set {KEYSTORE_ENV} or keys.passphrase_file for the service",
            ),
        ]
    try:
        address = store.unlock(passphrase).address
        checks.append(d.ok("keystore key", f"unlocks: {address}"))
    except KeystoreError as exc:
        return [*checks, d.fail("keystore key", str(exc), "give the keystore's passphrase")]
    if not store.creds_path.exists():
        checks.append(
            d.warn(
                "api creds",
                f"none stored at {store.creds_path}",
                "derive and store them: `polytui keys creds`",
            )
        )
    else:
        try:
            store.load_creds(passphrase)
            checks.append(d.ok("api creds", f"stored, encrypted: {store.creds_path}"))
        except KeystoreError as exc:
            checks.append(d.fail("api creds", str(exc), "`polytui keys creds` derives them again"))
    return checks


def ledger_check(settings: Settings) -> Check:
    target = ledger_target(settings)
    if isinstance(target, str):
        return d.ok("ledger", "on a database URL (PostgreSQL): back it up with pg_dump")
    if not target.exists():
        return d.ok("ledger", f"none yet at {target} (created on first use)")
    try:
        conn = sqlite3.connect(f"file:{target}?mode=ro", uri=True, timeout=2)
        try:
            quick = conn.execute("PRAGMA quick_check").fetchone()[0]
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
            events = (
                conn.execute("SELECT COUNT(*) FROM ledger_event").fetchone()[0]
                if "ledger_event" in tables
                else 0
            )
        finally:
            conn.close()
    except sqlite3.Error as exc:
        return d.fail(
            "ledger",
            f"{target}: {exc}",
            "restore the last backup: `polytui restore BACKUP` (see README)",
        )
    if quick != "ok":
        return d.fail(
            "ledger",
            f"{target} is damaged: {quick}",
            "restore the last backup: `polytui restore BACKUP` (see README)",
        )
    return d.ok("ledger", f"{target}: {events} events")


async def venue_checks(settings: Settings) -> list[Check]:
    from polytui.engine.sim_child import SimulatorError
    from polytui.engine.startup import VenueCheckError, check_venue, connect_venue, open_simulator

    checks: list[Check] = []
    try:
        async with open_simulator(settings.sim) as simulator:
            endpoints = simulator.endpoints
            started = "started" if simulator.child is not None else "running"
            async with connect_venue(endpoints, settings.venue) as venue:
                status = await check_venue(venue)
                checks.append(
                    d.ok(
                        "venue",
                        f"{endpoints.clob} ({started} simulator): CLOB "
                        f"V{status.version}, {status.markets} markets",
                    )
                )
                checks.append(await _ws_check(endpoints.ws_market))
                checks.append(d.check_clock_skew(status.clock_skew_s, settings.alerts.clock_skew_s))
                checks += await _account_checks(settings, venue)
                checks.append(_rate_check(settings, status.markets))
    except (SimulatorError, VenueCheckError) as exc:
        fix = (
            "check sim.url / --sim-url, or that `polytui sim` starts"
            if settings.run.mode == "sim"
            else "check the network and the venue's status"
        )
        checks.append(d.fail("venue", str(exc), fix))
    return checks


async def _ws_check(url: str) -> Check:
    from websockets.asyncio.client import connect

    try:
        async with asyncio.timeout(5):
            async with connect(url, open_timeout=5) as ws:
                await ws.close()
    except Exception as exc:
        return d.fail(
            "market ws",
            f"{url}/market: {type(exc).__name__}: {exc}",
            "check that WebSocket traffic to the venue is allowed",
        )
    return d.ok("market ws", f"{url} opens")


async def _account_checks(settings: Settings, venue) -> list[Check]:  # noqa: ANN001
    from polytui.keys import SIM_KEY_FILENAME, KeyFileError, SimKey, load_or_create_sim_key
    from polytui.protocol.signing import SigningKey
    from polytui.venue.trading import ClobTrader, obtain_creds

    key_file = settings.paths.data_dir / SIM_KEY_FILENAME
    if key_file.exists():
        try:
            wallet = load_or_create_sim_key(settings.paths.data_dir)
        except KeyFileError as exc:
            return [d.fail("api creds", str(exc), "fix the sim wallet file first")]
    else:
        from eth_account import Account

        wallet = SimKey(bytes(Account.create().key))  # a throwaway wallet: nothing is written
    register_secret(wallet.private_key)
    signer = SigningKey(wallet.private_key)
    try:
        creds = await obtain_creds(venue.http, signer, chain_id=CHAIN_ID)
    except Exception as exc:
        return [
            d.fail(
                "api creds",
                f"L1 derivation failed: {type(exc).__name__}: {exc}",
                "check the clock skew and that the key is the wallet's",
            )
        ]
    for value in (creds.api_key, creds.secret, creds.passphrase):
        register_secret(value)
    checks = [d.ok("api creds", f"derived for {signer.address} (L1 signature accepted)")]
    trader = ClobTrader(venue.http, signer.address, creds)
    try:
        got = await trader.balance_allowance("COLLATERAL")
    except Exception as exc:
        return [
            *checks,
            d.fail(
                "balance", f"GET /balance-allowance failed: {exc}", "check the API credentials (L2)"
            ),
        ]
    return checks + d.check_balance(
        signer.address, got.balance, dict(got.allowances), got.allowance
    )


def _rate_check(settings: Settings, listed_markets: int) -> Check:
    m, s = settings.mirror, settings.scanner
    uses = d.estimate_rate_use(
        max_markets=min(s.max_markets, max(listed_markets, 1)),
        books_per_request=m.books_per_request,
        probe_interval_ms=m.probe_interval_ms,
        stale_after_ms=m.stale_after_ms,
        resync_interval_ms=m.resync_interval_ms,
        page_size=s.page_size,
        full_scan_s=s.full_scan_s,
        cadence_s=s.cadence_s,
        listed_markets=listed_markets,
        heartbeat_s=settings.run.heartbeat_s,
    )
    return d.check_rate_budget(uses, settings.venue.rate_budget)


def run_doctor(settings: Settings, config_detail: str, passphrase_file: Path | None) -> int:
    checks = [d.ok("config", config_detail), *local_checks(settings, passphrase_file)]
    print(d.render(checks), flush=True)
    remote = asyncio.run(venue_checks(settings))
    print(d.render(remote), flush=True)
    return d.exit_code(checks + remote)
