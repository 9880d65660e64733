"""Settings: frozen, validated, one section per component.

Precedence, lowest first: TOML file (`--config PATH`) < `POLYTUI_*` environment variables
(`__` separates section and key: `POLYTUI_SIM__SEED=3`) < command-line flags.

`load_settings` is the only entry point; it raises `ConfigError` with a one-line message naming
the key, what was wrong and where the value came from.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from contextvars import ContextVar
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal

import platformdirs
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    InitSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
)

from polytui.ops.settings import AlertSettings, KeysSettings, LogSettings, MetricsSettings

ENV_PREFIX = "POLYTUI_"
ENV_NESTED_DELIMITER = "__"

UserPath = Annotated[Path, AfterValidator(lambda p: p.expanduser())]
PositiveFloat = Annotated[float, Field(gt=0)]


class ConfigError(Exception):
    """A setting is missing, unknown or invalid. The message is meant for the user as is."""


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SimSettings(_Section):
    """The simulator polytui runs on. `None` leaves the simulator's own default."""

    url: str | None = Field(
        default=None, description="clob base URL of an already running simulator"
    )
    seed: int | None = None
    markets: Annotated[int, Field(gt=0)] | None = None
    rate: Annotated[float, Field(ge=0)] | None = None
    faults: str | None = None
    time_scale: Annotated[float, Field(ge=0)] | None = None  # 0 stops the simulated clock
    start_ms: Annotated[int, Field(ge=0)] | None = None
    leader_activity: Annotated[float, Field(ge=0)] | None = 30.0  # the demo's leaders trade

    # this many times as often as the styles say, so copies show within seconds
    @field_validator("url")
    @classmethod
    def _url_is_http(cls, url: str | None) -> str | None:
        if url is not None and not url.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return url


def default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("polytui", appauthor=False))


class PathSettings(_Section):
    data_dir: UserPath = Field(default_factory=default_data_dir)
    db: UserPath = Field(description="SQLite database; default <data_dir>/polytui.db")

    @model_validator(mode="before")
    @classmethod
    def _db_defaults_into_data_dir(cls, data: Any) -> Any:
        if isinstance(data, Mapping) and data.get("db") is None:
            data_dir = Path(data.get("data_dir") or default_data_dir())
            data = {**data, "db": data_dir / "polytui.db"}
        return data


class RunSettings(_Section):
    mode: Literal["sim", "paper"] = "sim"  # paper: market data, orders filled locally
    duration: PositiveFloat | None = Field(default=None, description="stop after N seconds")
    heartbeat_s: PositiveFloat = 10.0
    record: UserPath | None = Field(
        default=None, description="record the session into this directory (polytui replay DIR)"
    )
    seed: Annotated[int, Field(ge=0)] | None = None  # the engine's random seed; unset: drawn


class PaperSettings(_Section):
    """Paper mode: the venue's market data, orders never sent and filled locally against
    the verified book (``polytui.engine.paper``). Its ledger is a file of its own."""

    source: Literal["sim", "polymarket"] = "sim"  # where the market data comes from
    db: UserPath | None = Field(default=None, description="default <data_dir>/paper.db")
    cash_usdc: Annotated[Decimal, Field(gt=0, allow_inf_nan=False)] = Decimal(1000)
    settle_s: PositiveFloat = 2.0  # a paper trade goes MATCHED -> MINED -> CONFIRMED this fast


Fraction = Annotated[float, Field(gt=0, le=1)]


class VenueSettings(_Section):
    """How polytui talks to the venue: REST timeouts, retries and rate budget, WebSockets,
    and the capture file."""

    timeout_s: PositiveFloat = 5.0
    retry_attempts: Annotated[int, Field(ge=1, le=20)] = 5
    backoff_base_s: PositiveFloat = 0.25
    backoff_cap_s: PositiveFloat = 8.0
    max_retry_after_s: PositiveFloat = 30.0  # a longer Retry-After fails the call instead
    rate_budget: Fraction = 0.8  # the share of each venue rate limit polytui may use
    capture: UserPath | None = Field(
        default=None, description="append everything the venue sends to this JSON-lines file"
    )
    ws_ping_s: PositiveFloat = 10.0
    ws_dead_s: PositiveFloat = 30.0  # nothing received for this long: reconnect
    ws_backoff_base_s: PositiveFloat = 0.5
    ws_backoff_cap_s: PositiveFloat = 30.0
    ws_stable_s: PositiveFloat = 60.0  # a session this long resets the reconnect backoff
    ws_max_assets: Annotated[int, Field(ge=1)] = 200  # assets per market-channel connection


PositiveInt = Annotated[int, Field(gt=0)]


class MirrorSettings(_Section):
    """The local order-book mirror (architecture §4). Times are milliseconds of engine time."""

    inbox_limit: PositiveInt = 20_000  # frames waiting to be applied; beyond, frames are shed
    burst_quiet_ms: PositiveInt = 50  # a burst with no follow-up for this long is complete
    burst_max_ms: PositiveInt = 500  # ... unless still crossed, arriving: judged by then
    lag_bound_ms: PositiveInt = 5_000  # exchange time -> applied; beyond: LAG
    stale_after_ms: PositiveInt = 60_000  # neither updated nor verified this long: STALE
    prime_timeout_ms: PositiveInt = 2_000  # no WS book this long after subscribing: REST
    snapshot_slack_ms: Annotated[int, Field(ge=0)] = 50  # a snapshot may predate a delta it holds
    probe_interval_ms: PositiveInt = 2_000  # truth probes (REST /books) of a rotating sample
    probe_mismatches: PositiveInt = 2  # consecutive probe disagreements before BBO_MISMATCH
    probe_grace_ms: Annotated[int, Field(ge=0)] = 250  # deltas sent before a probe answer may
    # arrive after it: wait this long before comparing
    resync_interval_ms: PositiveInt = 300_000  # preventive resync of each token, +-20 % jitter
    books_per_request: Annotated[int, Field(gt=0, le=500)] = 20  # tokens per POST /books
    refetch_backoff_ms: PositiveInt = 500  # after a failed or refused snapshot
    hash_sample: Annotated[int, Field(ge=0)] = 64  # check the book hash of 1 in N price_change
    # messages (0: never); a health signal, never a resync trigger on its own (protocol §5.4)


NonNegative = Annotated[float, Field(ge=0)]


class ScannerSettings(_Section):
    """The market scanner: which markets polytui watches and may trade, and how it keeps up
    with Gamma. The filter's defaults watch every open market, up to ``max_markets``."""

    cadence_s: PositiveFloat = 3.0  # incremental refresh: new markets, the watched ones
    full_scan_s: PositiveFloat = 60.0  # a full Gamma listing this often (and at start)
    page_size: Annotated[int, Field(ge=1, le=500)] = 500  # markets per Gamma page
    page_concurrency: Annotated[int, Field(ge=1, le=16)] = 4  # pages asked at once
    ids_per_request: Annotated[int, Field(ge=1, le=400)] = 100  # markets looked up by id
    scan_timeout_s: PositiveFloat = 10.0  # a scan or refresh taking longer failed
    stall_after_s: PositiveFloat = 15.0  # no successful refresh this long: stalled (alert)
    stale_book_s: PositiveFloat = 60.0  # a book with no update and no probe this long: flag
    max_markets: Annotated[int, Field(ge=0)] = 200  # the cap, ranked by score
    min_liquidity: NonNegative = 0.0  # USD (Gamma liquidityNum)
    min_volume_24hr: NonNegative = 0.0  # USD
    max_spread: Fraction | None = None  # price units; None: any spread
    min_hours_to_end: NonNegative = 0.0  # a market ending sooner leaves the universe
    max_hours_to_end: PositiveFloat | None = None  # None: any end date, or none
    categories: tuple[str, ...] = ()  # tag labels or slugs, any of them; empty: all
    exclude_categories: tuple[str, ...] = ()
    neg_risk: bool = True  # neg-risk markets allowed
    allow: tuple[str, ...] = ()  # condition ids, Gamma ids or slugs: always watched
    deny: tuple[str, ...] = ()  # never watched
    hysteresis: Annotated[float, Field(ge=0, lt=1)] = 0.2  # a watched market stays within it
    stickiness: NonNegative = 0.1  # score bonus that keeps a watched market in the cap

    @model_validator(mode="after")
    def _window_is_ordered(self) -> ScannerSettings:
        if self.max_hours_to_end is not None and self.max_hours_to_end < self.min_hours_to_end:
            raise ValueError("max_hours_to_end is below min_hours_to_end")
        return self


class LedgerSettings(_Section):
    """The ledger's database (polytui.store). Unset ``url``: the SQLite file ``paths.db``."""

    url: str | None = Field(
        default=None, description="SQLAlchemy URL, e.g. postgresql+psycopg://user@host/db"
    )
    busy_timeout_ms: Annotated[int, Field(ge=0)] = 5000  # wait this long for a locked db
    batch_size: Annotated[int, Field(ge=1)] = 256  # buffered events written together

    @field_validator("url")
    @classmethod
    def _url_has_scheme(cls, url: str | None) -> str | None:
        if url is not None and "://" not in url:
            raise ValueError("must be a database URL (sqlite:///PATH, postgresql+psycopg://...)")
        return url


PartialFillPolicy = Literal["leave", "cancel_rest", "replace"]


class StrategyOrderSettings(_Section):
    """How the order tracker treats one strategy's partly filled resting orders."""

    partial_policy: PartialFillPolicy = "leave"
    slippage: Annotated[float, Field(ge=0, lt=1)] = 0.02  # replace: price units, at most


class OrdersSettings(_Section):
    """The order tracker and its timers (architecture §5). Seconds of engine time."""

    unknown_alert_s: PositiveFloat = 30.0  # an order UNKNOWN this long: an alert
    post_alert_s: PositiveFloat = 15.0  # a POST still unanswered this long: an alert
    matched_alert_s: PositiveFloat = 120.0  # a fill still MATCHED this long: an alert
    lost_after_s: PositiveFloat = 10.0  # signed this long ago, unknown at the venue: FAILED
    resolve_s: PositiveFloat = 2.0  # look up orders whose fate is unknown this often
    timeouts_s: PositiveFloat = 1.0  # check the alert timeouts this often
    flush_s: PositiveFloat = 1.0  # write buffered ledger events this often
    heartbeat_s: PositiveFloat = 5.0  # venue heartbeat while orders are open
    partial_policy: PartialFillPolicy = "leave"  # for strategies not listed below
    slippage: Annotated[float, Field(ge=0, lt=1)] = 0.02
    strategies: dict[str, StrategyOrderSettings] = {}  # per strategy name


class ReconcilerSettings(_Section):
    """The reconciler (architecture §6): projections against the venue."""

    interval_s: PositiveFloat = 30.0  # and after every user-channel reconnect
    first_after_s: NonNegative = 5.0  # the first run, after start
    data_lag_s: PositiveFloat = 30.0  # a position that moved more recently is not compared


class TestStrategySettings(_Section):
    """A minimal TEST strategy that makes the engine trade in sim mode (off by default).
    It has no edge; the strategy runner replaces it."""

    __test__ = False  # not a pytest class
    enabled: bool = False
    interval_s: PositiveFloat = 2.0  # one decision this often
    size: Annotated[int, Field(ge=10)] = 10  # shares, rounded down to a multiple of 10
    max_open: Annotated[int, Field(ge=0)] = 4  # resting orders kept; older ones cancelled
    take_share: Annotated[float, Field(ge=0, le=1)] = 0.4  # decisions that take (or sell)
    max_position: Annotated[float, Field(gt=0)] = 200.0  # shares per asset it buys up to


def ledger_target(settings: Settings) -> str | Path:
    """Where the ledger lives: ``ledger.url`` if set, else the SQLite file ``paths.db``; in
    paper mode always a ledger of its own, ``paper.db`` (default ``<data_dir>/paper.db``)."""
    if settings.run.mode == "paper":
        return settings.paper.db or settings.paths.data_dir / "paper.db"
    return settings.ledger.url or settings.paths.db


Usdc = Annotated[Decimal, Field(ge=0, allow_inf_nan=False)]
PriceDelta = Annotated[Decimal, Field(ge=0, lt=1, allow_inf_nan=False)]  # price units


class RiskSettings(_Section):
    """The risk gates (``polytui.core.risk``): caps stop, never warn. USDC amounts, prices in
    price units (0.01 is a cent), times in seconds."""

    resolution_buffer_s: NonNegative = 600.0  # no new exposure this close to the end date
    min_trade_usdc: Usdc = Decimal(1)
    max_trade_usdc: Usdc = Decimal(100)
    daily_loss_cap_usdc: Usdc | None = Decimal(200)  # realised + unrealised; 0: no cap
    daily_reset_hour_utc: Annotated[int, Field(ge=0, le=23)] = 0
    reduce_when_halted: bool = True  # a halted strategy may still reduce positions
    max_position_usdc: Usdc = Decimal(500)  # per market
    max_open_positions: Annotated[int, Field(ge=0)] = 20
    max_total_exposure_usdc: Usdc = Decimal(2000)
    max_leader_exposure_usdc: Usdc = Decimal(1000)  # per leader, unless its own cap is set
    categories: tuple[str, ...] = ()  # allow list of tags; empty: any
    max_signal_age_s: PositiveFloat = 30.0
    max_chase: PriceDelta = Decimal("0.03")  # adverse move from the reference price
    max_slippage: PriceDelta = Decimal("0.02")  # VWAP from the reference price
    slippage_action: Literal["shrink", "skip"] = "shrink"
    rate_window_s: PositiveFloat = 60.0
    max_orders_per_window: PositiveInt = 30
    dynamic_limits: bool = False  # scale new exposure by volatility and thin depth
    volatility_window_s: PositiveFloat = 300.0
    volatility_ref: Annotated[Decimal, Field(gt=0, lt=1)] = Decimal("0.01")
    thin_depth_usdc: Usdc = Decimal(0)  # 0: no depth scaling
    max_position_age_s: PositiveFloat | None = None  # held longer: flagged (unset: no limit)
    aging_action: Literal["flag", "reduce"] = "flag"  # also flags positions near resolution
    aging_offset: PriceDelta = Decimal("0.01")  # a reduction sells at the best bid less this
    funds_s: PositiveFloat = 10.0  # pUSD balance and allowance read from the venue this often
    pnl_snapshot_s: PositiveFloat = 60.0  # a PnL snapshot (marks) into the ledger this often

    @field_validator("daily_loss_cap_usdc")
    @classmethod
    def _zero_is_no_cap(cls, cap: Decimal | None) -> Decimal | None:
        return None if cap == 0 else cap

    @model_validator(mode="after")
    def _range_is_ordered(self) -> RiskSettings:
        if self.min_trade_usdc > self.max_trade_usdc:
            raise ValueError("min_trade_usdc is above max_trade_usdc")
        return self


_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")


class LeaderSettings(_Section):
    """One wallet to copy."""

    address: str  # the leader's proxy wallet (its profile address)
    name: str = ""
    cash_usdc: Usdc | None = None  # its cash beside /value; None: estimated from history
    scale: Annotated[Decimal, Field(gt=0, le=100)] = Decimal(1)  # times the pro-rata size
    max_exposure_usdc: Usdc | None = None  # None: risk.max_leader_exposure_usdc

    @field_validator("address")
    @classmethod
    def _is_address(cls, address: str) -> str:
        if not _ADDRESS.match(address):
            raise ValueError("must be 0x and 40 hex digits")
        return address.lower()


class CopySettings(_Section):
    """The copy-trading strategy (``polytui.strategies.copytrade``)."""

    leaders: tuple[LeaderSettings, ...] = ()
    poll_s: PositiveFloat = 2.0  # Data API /activity per leader
    lookback_s: PositiveFloat = 300.0  # each poll re-reads this far back (indexing lag)
    window_s: NonNegative = 3.0  # a leader's fills this close together are one intent
    resync_s: PositiveFloat = 60.0  # /positions and /value of each leader
    score_s: PositiveFloat = 300.0  # rescoring from history
    history_days: PositiveFloat = 30.0  # history kept for scoring
    min_trades: Annotated[int, Field(ge=1)] = 30  # sample size floor for a score
    min_score: Annotated[float, Field(ge=-1, le=1)] = 0.0  # composite score threshold
    max_drawdown: Fraction = 0.5  # cut a leader off beyond this drawdown of its bankroll
    max_loss_streak: PositiveInt = 5  # cut a leader off after this many losing trades in a row
    shape_quantile: Annotated[float, Field(gt=0, lt=1)] = 0.95  # larger trades are unusual
    shape_action: Literal["shrink", "skip"] = "shrink"
    depth_fraction: Fraction = 0.25  # of the USDC within the slippage bound
    kelly_fraction: Fraction | None = None  # None: no Kelly damping
    price_offset: PriceDelta = Decimal("0.02")  # limit price = reference +/- this
    order_type: Literal["FAK", "GTD"] = "FAK"
    gtd_slack_s: Annotated[int, Field(ge=1)] = 5  # GTD expiry: now + 60 s (the floor) + this
    bankroll_usdc: Usdc | None = None  # ours; None: our equity (cash + positions)
    demo: bool = True  # sim mode, no leader listed: copy the simulator's own leaders

    @field_validator("leaders")
    @classmethod
    def _leaders_are_distinct(
        cls, leaders: tuple[LeaderSettings, ...]
    ) -> tuple[LeaderSettings, ...]:
        seen = [leader.address for leader in leaders]
        if len(seen) != len(set(seen)):
            raise ValueError("a leader is listed twice")
        return leaders


class UiSettings(_Section):
    """The terminal UI (polytui/ui)."""

    theme: str = "polytui-dark"  # a theme file's name (themes/*.toml) or a Textual theme
    kill_key: str = "ctrl+k"  # engages the kill switch whatever has focus
    refresh_hz: Annotated[float, Field(ge=0, le=10)] = 5.0  # pane updates a second; 0: manual
    cancel_on_exit: bool = True  # on quit, SIGTERM or SIGHUP: cancel open orders, then stop

    @field_validator("kill_key")
    @classmethod
    def _key_survives_ssh(cls, key: str) -> str:
        """Escape and Alt chords are split or eaten by SSH and tmux (style-anchors §4(c))."""
        key = key.strip().lower()
        if not key or "," in key:
            raise ValueError("must be one key, e.g. ctrl+k or f12")
        if key in ("escape", "esc") or key.startswith(("alt+", "meta+", "escape")):
            raise ValueError("Escape and Alt chords do not survive SSH; use a ctrl+ or F key")
        return key


_FILE_VALUES: ContextVar[dict[str, Any]] = ContextVar("_FILE_VALUES", default={})  # noqa: B039


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        frozen=True,
        extra="forbid",
        env_prefix=ENV_PREFIX,
        env_nested_delimiter=ENV_NESTED_DELIMITER,
    )

    sim: SimSettings = SimSettings()
    paths: PathSettings = Field(default_factory=lambda: PathSettings.model_validate({}))
    run: RunSettings = RunSettings()
    paper: PaperSettings = PaperSettings()
    venue: VenueSettings = VenueSettings()
    mirror: MirrorSettings = MirrorSettings()
    scanner: ScannerSettings = ScannerSettings()
    ledger: LedgerSettings = LedgerSettings()
    orders: OrdersSettings = OrdersSettings()
    reconciler: ReconcilerSettings = ReconcilerSettings()
    test_strategy: TestStrategySettings = TestStrategySettings()
    risk: RiskSettings = RiskSettings()
    copytrade: CopySettings = CopySettings()
    ui: UiSettings = UiSettings()
    metrics: MetricsSettings = MetricsSettings()
    alerts: AlertSettings = AlertSettings()
    log: LogSettings = LogSettings()
    keys: KeysSettings = KeysSettings()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # First wins: flags (init kwargs), then environment, then the TOML file.
        file_settings = InitSettingsSource(settings_cls, init_kwargs=_FILE_VALUES.get())
        return (init_settings, env_settings, file_settings)


def load_settings(
    config_path: Path | str | None = None, overrides: Mapping[str, Mapping[str, Any]] | None = None
) -> Settings:
    """Build the settings from a TOML file, the environment and `overrides` (from flags).

    `overrides` is sectioned like the file: `{"sim": {"url": "http://..."}}`.
    """
    file_values = read_toml(Path(config_path)) if config_path is not None else {}
    overrides = {section: dict(values) for section, values in (overrides or {}).items()}
    token = _FILE_VALUES.set(file_values)
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise ConfigError(describe_error(exc, config_path, overrides)) from None
    except SettingsError as exc:
        raise ConfigError(f"config error: {exc}") from None
    finally:
        _FILE_VALUES.reset(token)


def read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        raise ConfigError(f"config error: config file not found: {path}") from None
    except IsADirectoryError:
        raise ConfigError(f"config error: config file is a directory: {path}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config error: {path} is not valid TOML: {exc}") from None


def env_var_name(loc: tuple[str | int, ...]) -> str:
    return ENV_PREFIX + ENV_NESTED_DELIMITER.join(str(part) for part in loc).upper()


def describe_error(
    exc: ValidationError,
    config_path: Path | str | None,
    overrides: Mapping[str, Mapping[str, Any]],
    environ: Mapping[str, str] = os.environ,
) -> str:
    """One line per problem: the dotted key, what was wrong, and which source set it."""
    lines = []
    for error in exc.errors():
        loc = tuple(str(part) for part in error["loc"])
        key = ".".join(loc) or "(settings)"
        if error["type"] == "extra_forbidden":
            problem = "unknown setting"
        else:
            problem = f"{error['msg']} (got {error['input']!r})"
        source = _source_of(loc, config_path, overrides, environ)
        lines.append(f"config error: {key}: {problem} [{source}]")
    return "\n".join(lines)


def _source_of(
    loc: tuple[str, ...],
    config_path: Path | str | None,
    overrides: Mapping[str, Mapping[str, Any]],
    environ: Mapping[str, str],
) -> str:
    if len(loc) >= 2 and loc[1] in overrides.get(loc[0], {}):
        return "from a command-line flag"
    env_names = {name.upper() for name in environ}
    for depth in range(len(loc), 0, -1):
        name = env_var_name(loc[:depth])
        if name in env_names:
            return f"from environment variable {name}"
    if config_path is not None:
        return f"from {config_path}"
    return "default"
