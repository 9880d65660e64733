"""Settings of the ops sections (``[metrics]``, ``[alerts]``, ``[log]``, ``[keys]``), frozen and
validated like every section of ``polytui.config`` (which includes them)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

PositiveFloat = Annotated[float, Field(gt=0)]
UserPath = Annotated[Path, AfterValidator(lambda p: p.expanduser())]


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class MetricsSettings(_Section):
    """Prometheus ``/metrics``."""

    host: str = "127.0.0.1"  # loopback: put a reverse proxy or an SSH tunnel in front
    port: Annotated[int, Field(ge=0, le=65535)] = 9478  # 0: no metrics server
    refresh_s: PositiveFloat = 1.0  # the engine's figures are copied for scrapes this often


class WebhookSettings(_Section):
    url: str
    format: Literal["slack", "discord", "json"] = "slack"  # slack and discord: one payload
    name: str | None = None  # in metrics and logs (never the URL: it holds a token)
    timeout_s: PositiveFloat = 5.0

    @field_validator("url")
    @classmethod
    def _url_is_http(cls, url: str) -> str:
        if not url.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return url


class AlertSettings(_Section):
    """Alert rules (evaluated in the engine) and their webhooks."""

    webhooks: tuple[WebhookSettings, ...] = ()
    evaluate_s: PositiveFloat = 1.0  # rules run this often
    repeat_s: PositiveFloat = 3600.0  # a firing alert is sent again after this long
    send_resolved: bool = True  # say when an alert stops firing
    max_per_minute: Annotated[int, Field(ge=1)] = 20  # per webhook; beyond, dropped (counted)
    queue_size: Annotated[int, Field(ge=1)] = 100  # per webhook; beyond, dropped (counted)
    retries: Annotated[int, Field(ge=0, le=10)] = 2  # after a failed delivery
    retry_backoff_s: PositiveFloat = 2.0
    book_not_live_s: PositiveFloat = 30.0  # a book out of LIVE (SUSPECT, RESYNCING) this long
    ws_down_s: PositiveFloat = 15.0  # a WebSocket connection down this long
    clock_skew_s: PositiveFloat = 2.0  # |venue clock - ours| above this
    clock_check_s: PositiveFloat = 60.0  # GET /time this often
    reject_window_s: PositiveFloat = 300.0
    reject_min: Annotated[int, Field(ge=1)] = 5  # rejects in the window before a spike counts
    reject_rate: Annotated[float, Field(gt=0, le=1)] = 0.5  # of the intents checked
    loop_stall_s: PositiveFloat = 1.0  # one event-loop wake-up this late


class LogSettings(_Section):
    level: Literal["debug", "info", "warning", "error"] = "info"
    journald: Literal["auto", "on", "off"] = "auto"  # auto: when stdout is the journal


class KeysSettings(_Section):
    """The encrypted keystore of the trading key (live mode) and its API credentials."""

    keystore: UserPath | None = Field(default=None, description="default <data_dir>/keystore.json")
    passphrase_file: UserPath | None = Field(
        default=None, description="read the passphrase from this file (mode 0600)"
    )
