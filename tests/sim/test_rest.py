"""CLOB REST edge cases: exact errors, paging, rate limits, and Gamma paging and filters."""

from __future__ import annotations

import base64


async def test_book_errors_are_the_venues(start_sim):
    running = await start_sim(seed=1, markets=2)
    clob = running.endpoints["clob"]
    r = await running.http.get(clob + "/book", params={"token_id": "abc"})
    assert (r.status_code, r.json()) == (400, {"error": "Invalid token id"})
    r = await running.http.get(clob + "/book", params={"token_id": "1" * 77})
    assert (r.status_code, r.json()) == (
        404,
        {"error": "No orderbook exists for the requested token id"},
    )
    r = await running.http.post(clob + "/books", content=b"{not json")
    assert (r.status_code, r.json()) == (400, {"error": "Invalid payload"})
    r = await running.http.get(
        clob + "/price", params={"token_id": running.tokens()[0], "side": "UP"}
    )
    assert (r.status_code, r.json()) == (400, {"error": "Invalid side"})


async def test_time_version_ok(start_sim):
    running = await start_sim(seed=1, markets=1)
    clob = running.endpoints["clob"]
    assert (await running.http.get(clob + "/time")).json() == 1_795_000_000
    assert (await running.http.get(clob + "/version")).json() == {"version": 2}
    assert (await running.http.get(clob + "/ok")).json() == "OK"


async def test_market_listing_pages_end_with_LTE(start_sim, monkeypatch):
    from polytui.sim import rest

    monkeypatch.setattr(rest, "PAGE", 4)
    running = await start_sim(seed=1, markets=10)
    cursor, seen = "MA==", []
    while cursor != "LTE=":
        page = (
            await running.http.get(
                running.endpoints["clob"] + "/markets", params={"next_cursor": cursor}
            )
        ).json()
        assert page["count"] == len(page["data"]) <= 4
        seen += [m["condition_id"] for m in page["data"]]
        cursor = page["next_cursor"]
        assert cursor == "LTE=" or int(base64.b64decode(cursor)) == len(seen)
    assert sorted(seen) == sorted(running.sim.exchange.markets)


async def test_rate_limit_answers_429_with_retry_after(start_sim):
    running = await start_sim(seed=1, markets=1)
    token = running.tokens()[0]
    statuses = []
    for _ in range(205):  # /tick-size allows 200 per 10 s
        r = await running.http.get(
            running.endpoints["clob"] + "/tick-size", params={"token_id": token}
        )
        statuses.append(r.status_code)
    assert statuses[:200] == [200] * 200
    assert statuses[200:] == [429] * 5
    assert 1 <= int(r.headers["Retry-After"]) <= 10
    other = await running.http.get(
        running.endpoints["clob"] + "/neg-risk", params={"token_id": token}
    )
    assert other.status_code == 200  # only that endpoint's budget is spent


async def test_gamma_paging_filters_and_json_in_strings(start_sim):
    import json

    running = await start_sim(seed=6, markets=12)
    gamma = running.endpoints["gamma"]
    everything = (await running.http.get(gamma + "/markets", params={"limit": 500})).json()
    assert len(everything) == 12
    pages = []
    for offset in range(0, 12, 5):
        pages += (
            await running.http.get(gamma + "/markets", params={"limit": 5, "offset": offset})
        ).json()
    assert [m["id"] for m in pages] == [m["id"] for m in everything]
    for m in everything:
        tokens = json.loads(m["clobTokenIds"])
        assert len(tokens) == 2 and all(len(t) == 77 for t in tokens)
        assert json.loads(m["outcomes"]) == ["Yes", "No"]
        assert m["conditionId"].startswith("0x") and len(m["conditionId"]) == 66
    neg = (await running.http.get(gamma + "/markets", params={"limit": 500})).json()
    by_volume = (
        await running.http.get(
            gamma + "/markets", params={"limit": 500, "order": "volumeNum", "ascending": "false"}
        )
    ).json()
    volumes = [m["volumeNum"] for m in by_volume]
    assert volumes == sorted(volumes, reverse=True)
    some = everything[0]
    one = (
        await running.http.get(
            gamma + "/markets", params={"clob_token_ids": json.loads(some["clobTokenIds"])[0]}
        )
    ).json()
    assert [m["id"] for m in one] == [some["id"]]
    events = (await running.http.get(gamma + "/events", params={"limit": 500})).json()
    assert sum(len(e["markets"]) for e in events) == len(neg)
    r = await running.http.get(gamma + "/markets", params={"liquidity_num_min": "lots"})
    assert r.status_code == 422
