"""Redaction by construction, the JSON line format, journald priorities, stdlib logging."""

from __future__ import annotations

import io
import json
import logging
import os

import pytest

from polytui.ops.logs import JsonLog, install_stdlib_logging, stream_is_journal
from polytui.ops.redact import MASK, Redactor, Secret, is_secret_key

PRIVATE_KEY = "0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"
API_SECRET = "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3I="
PASSPHRASE = "correct horse battery staple"


@pytest.fixture
def redactor() -> Redactor:
    return Redactor([PRIVATE_KEY, API_SECRET, PASSPHRASE])


def lines(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_no_secret_reaches_a_log_line_whatever_field_it_is_in(redactor: Redactor) -> None:
    out = io.StringIO()
    log = JsonLog(out, redactor=redactor, journald="off")
    log("started", private_key=PRIVATE_KEY, note=f"key is {PRIVATE_KEY[2:].upper()}")
    log("creds", creds={"apiKey": "550e8400", "secret": API_SECRET, "passphrase": PASSPHRASE})
    log("failed", level="error", error=f"POST /auth failed: secret={API_SECRET}")
    log("wrapped", value=Secret("not-registered-anywhere"), items=[PASSPHRASE, 3])
    text = out.getvalue()
    for secret in (
        PRIVATE_KEY,
        PRIVATE_KEY[2:],
        PRIVATE_KEY[2:].upper(),
        API_SECRET,
        PASSPHRASE,
        "not-registered-anywhere",
    ):
        assert secret not in text
    records = lines(out)
    assert records[0]["fields"] == {"private_key": MASK, "note": f"key is {MASK}"}
    assert records[1]["fields"]["creds"] == {"apiKey": MASK, "secret": MASK, "passphrase": MASK}
    assert records[2]["fields"]["error"] == f"POST /auth failed: secret={MASK}"
    assert records[3]["fields"] == {"value": MASK, "items": [MASK, 3]}
    assert all(set(r) == {"ts", "level", "event", "fields"} for r in records)


def test_secret_names_and_values() -> None:
    assert is_secret_key("POLY_PASSPHRASE") and is_secret_key("api-key")
    assert is_secret_key("privateKey".lower()) and not is_secret_key("address")
    r = Redactor(["short"])  # too short to register: it would mask ordinary words
    assert r.scrub_text("a short word") == "a short word"
    assert repr(Secret("x")) == str(Secret("x")) == MASK
    with pytest.raises(TypeError):
        __import__("pickle").dumps(Secret("x"))


def test_stdlib_logging_goes_through_the_same_redacted_writer(redactor: Redactor) -> None:
    out = io.StringIO()
    undo = install_stdlib_logging(JsonLog(out, redactor=redactor, journald="off"))
    try:
        logging.getLogger("polytui.engine.test").warning("signing with %s", PRIVATE_KEY)
        try:
            raise RuntimeError(f"bad passphrase {PASSPHRASE}")
        except RuntimeError:
            logging.getLogger("polytui.x").exception("failed")
        logging.getLogger("polytui.engine.test").info("not shown at the default level")
    finally:
        undo()
    records = lines(out)
    assert [r["event"] for r in records] == ["log", "log"]
    assert records[0]["level"] == "warning"
    assert records[0]["fields"] == {
        "logger": "polytui.engine.test",
        "message": f"signing with {MASK}",
    }
    assert "RuntimeError" in records[1]["fields"]["exc"]
    assert PASSPHRASE not in out.getvalue() and PRIVATE_KEY not in out.getvalue()


def test_journald_lines_carry_their_priority(tmp_path) -> None:
    path = tmp_path / "journal"
    with path.open("w") as stream:
        st = os.fstat(stream.fileno())
        assert stream_is_journal(stream, {"JOURNAL_STREAM": f"{st.st_dev}:{st.st_ino}"})
        assert not stream_is_journal(stream, {"JOURNAL_STREAM": "1:2"})
        assert not stream_is_journal(stream, {})
        log = JsonLog(stream, journald="on")
        log("heartbeat")
        log("book_left_live", level="warning")
        log("failed", level="error")
    text = path.read_text().splitlines()
    assert [line[:3] for line in text] == ["<6>", "<4>", "<3>"]
    assert json.loads(text[1][3:])["event"] == "book_left_live"


def test_levels_below_the_minimum_are_left_out_and_a_dead_stream_is_survived() -> None:
    out = io.StringIO()
    log = JsonLog(out, level="warning", journald="off")
    log("heartbeat")
    log("event_line", level="event")
    log("problem", level="warning")
    assert [r["event"] for r in lines(out)] == ["event_line", "problem"]
    out.close()
    log("after close", level="error")  # must not raise
    assert log.failed_writes == 1
