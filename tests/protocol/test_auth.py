"""L1 and L2 headers against py-clob-client-v2's header builders and eth_account recovery."""

from __future__ import annotations

import base64
import json
import os

import pytest
from eth_account import Account
from eth_account.messages import encode_typed_data
from py_clob_client_v2.clob_types import ApiCreds as OfficialCreds
from py_clob_client_v2.clob_types import RequestArgs
from py_clob_client_v2.headers.headers import create_level_1_headers, create_level_2_headers
from py_clob_client_v2.signer import Signer

from polytui.protocol.auth import (
    CLOB_AUTH_MESSAGE,
    ApiCreds,
    l1_headers,
    l2_headers,
)
from polytui.protocol.signing import SigningKey

TIMESTAMP = 1_795_569_890
SECRET = base64.urlsafe_b64encode(bytes(range(200, 232))).decode()  # has '-' and '_'


@pytest.fixture
def private_key() -> str:
    return "0x" + os.urandom(32).hex()


@pytest.fixture
def creds() -> ApiCreds:
    return ApiCreds(api_key="550e8400-e29b-41d4-a716-446655440000", secret=SECRET, passphrase="pp")


def official_l2(private_key: str, creds: ApiCreds, method: str, path: str, body: str | None):
    official_creds = OfficialCreds(creds.api_key, creds.secret, creds.passphrase)
    request = RequestArgs(method=method, request_path=path, serialized_body=body)
    return create_level_2_headers(Signer(private_key, 137), official_creds, request, TIMESTAMP)


@pytest.mark.parametrize(("chain_id", "nonce"), [(137, 0), (137, 7), (80002, 0)])
def test_l1_headers_equal_the_official_ones_and_recover_to_the_key(private_key, chain_id, nonce):
    key = SigningKey(private_key)
    headers = l1_headers(key, chain_id, TIMESTAMP, nonce)
    assert headers == create_level_1_headers(Signer(private_key, chain_id), nonce, TIMESTAMP)
    typed = {
        "primaryType": "ClobAuth",
        "domain": {"name": "ClobAuthDomain", "version": "1", "chainId": chain_id},
        "types": {
            "EIP712Domain": [
                {"name": "name", "type": "string"},
                {"name": "version", "type": "string"},
                {"name": "chainId", "type": "uint256"},
            ],
            "ClobAuth": [
                {"name": "address", "type": "address"},
                {"name": "timestamp", "type": "string"},
                {"name": "nonce", "type": "uint256"},
                {"name": "message", "type": "string"},
            ],
        },
        "message": {
            "address": headers["POLY_ADDRESS"],
            "timestamp": headers["POLY_TIMESTAMP"],
            "nonce": int(headers["POLY_NONCE"]),
            "message": CLOB_AUTH_MESSAGE,
        },
    }
    signable = encode_typed_data(full_message=typed)
    recovered = Account.recover_message(signable, signature=headers["POLY_SIGNATURE"])
    assert recovered == headers["POLY_ADDRESS"] == Account.from_key(private_key).address
    assert headers["POLY_TIMESTAMP"] == str(TIMESTAMP) and headers["POLY_NONCE"] == str(nonce)


def test_l2_get_with_a_query_signs_the_path_only(private_key, creds):
    address = SigningKey(private_key).address
    ours = l2_headers(
        address, creds, TIMESTAMP, "get", "/data/orders?market=0xabc&next_cursor=MA=="
    )
    assert ours == official_l2(private_key, creds, "GET", "/data/orders", None)
    assert ours != l2_headers(address, creds, TIMESTAMP, "GET", "/data/trades")


def test_l2_post_with_a_body_equals_the_official_headers(private_key, creds):
    address = SigningKey(private_key).address
    body = json.dumps(
        {"order": {"salt": 1, "side": "BUY"}, "owner": creds.api_key}, separators=(",", ":")
    )
    ours = l2_headers(address, creds, TIMESTAMP, "POST", "/order", body)
    assert ours == official_l2(private_key, creds, "POST", "/order", body)
    assert (
        ours["POLY_SIGNATURE"]
        != l2_headers(address, creds, TIMESTAMP, "POST", "/order")["POLY_SIGNATURE"]
    )


def test_l2_delete_with_a_body_equals_the_official_headers(private_key, creds):
    address = SigningKey(private_key).address
    body = json.dumps(["0x" + "ab" * 32, "0x" + "cd" * 32], separators=(",", ":"))
    ours = l2_headers(address, creds, TIMESTAMP, "DELETE", "/orders", body)
    assert ours == official_l2(private_key, creds, "DELETE", "/orders", body)
    assert set(ours) == {
        "POLY_ADDRESS",
        "POLY_SIGNATURE",
        "POLY_TIMESTAMP",
        "POLY_API_KEY",
        "POLY_PASSPHRASE",
    }


def test_l2_signature_keeps_base64_padding(creds):
    signature = creds.hmac_signature(TIMESTAMP, "GET", "/data/orders")
    assert len(signature) == 44 and signature.endswith("=")
    assert len(base64.urlsafe_b64decode(signature)) == 32


def test_a_body_with_an_apostrophe_is_refused(creds):
    with pytest.raises(ValueError, match="apostrophe"):
        creds.hmac_signature(TIMESTAMP, "POST", "/order", '{"note":"it\'s"}')


def test_api_creds_never_show_the_secret_or_passphrase():
    creds = ApiCreds(api_key="key-1", secret=SECRET, passphrase="hunter2-passphrase")
    for text in (repr(creds), str(creds), f"{creds}", repr([creds])):
        assert "key-1" in text
        assert SECRET not in text and "hunter2-passphrase" not in text


def test_a_secret_that_is_not_base64_is_refused_without_echoing_it():
    with pytest.raises(ValueError, match="not URL-safe base64") as error:
        ApiCreds(api_key="k", secret="abc", passphrase="p")
    assert "abc" not in str(error.value)
    assert error.value.__cause__ is None
