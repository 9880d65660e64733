"""The bridge on its own: latest value per key, never-dropped event lines, one post per flush
while the UI keeps up, the flush rate, and commands from another thread."""

from __future__ import annotations

import asyncio
import threading
import time

from polytui.engine.mirror import BookState, BookStateChanged, Reason
from polytui.engine.views import EventLine
from polytui.ui.bridge import Bridge
from polytui.ui.commands import Answer, EngageKill, SelectMarket
from polytui.ui.messages import CommandDone, EngineUpdate
from tests.fake_engine import START_MS, FakeEngine


class Posts(list):
    def __call__(self, message: object) -> None:
        self.append(message)

    def updates(self) -> list[EngineUpdate]:
        return [m for m in self if isinstance(m, EngineUpdate)]


def line(n: int) -> EventLine:
    return EventLine("alert", START_MS + n, "warning", f"line {n}")


async def test_a_value_that_did_not_change_is_not_sent_again() -> None:
    posts = Posts()
    bridge = Bridge(posts, refresh_hz=0)
    bridge.attach(FakeEngine())
    bridge.build(every=True)
    assert bridge.flush()
    first = posts.updates()[0]
    assert set(first.views) == {"markets", "book", "orders", "health", "copy", "pnl"}
    bridge.acknowledge()
    bridge.build(every=True)  # nothing moved in the engine
    assert bridge.flush()
    assert set(posts.updates()[-1].views) == {"health"}  # only its "ui flushes" figure moved


async def test_while_the_ui_is_behind_values_are_replaced_and_lines_kept_in_order() -> None:
    posts = Posts()
    bridge = Bridge(posts, refresh_hz=0)
    bridge.attach(FakeEngine())
    bridge.put("x", 1)
    bridge.add_lines([line(0)])
    assert bridge.flush()
    for n in range(1, 50):  # the UI has not handled the first update yet
        bridge.put("x", n)
        bridge.add_lines([line(n)])
        assert not bridge.flush()
    assert len(posts.updates()) == 1
    assert bridge.figures["coalesced"] == 49
    bridge.acknowledge()
    assert bridge.flush()
    second = posts.updates()[1]
    assert second.views == {"x": 49}  # the latest value only
    assert [e.text for e in second.events] == [f"line {n}" for n in range(1, 50)]  # every line
    assert second.seq == 2


async def test_bus_events_become_lines_for_the_next_flush() -> None:
    posts = Posts()
    engine = FakeEngine()
    bridge = Bridge(posts, refresh_hz=0)
    bridge.attach(engine)
    engine.bus.publish(
        BookStateChanged("a1", BookState.LIVE, BookState.SUSPECT, Reason.LAG, "", START_MS)
    )
    engine.bus.publish(object())  # not worth a line
    assert bridge.flush()
    (update,) = posts.updates()
    assert [e.kind for e in update.events] == ["book"]
    bridge.detach()
    engine.bus.publish(
        BookStateChanged("a1", BookState.SUSPECT, BookState.LIVE, Reason.PRIME, "", START_MS)
    )
    assert not bridge.attached


async def test_the_pump_flushes_at_most_refresh_hz_times_a_second() -> None:
    posts = Posts()
    bridge = Bridge(lambda m: (posts(m), bridge.acknowledge()), refresh_hz=10)
    engine = FakeEngine()
    bridge.attach(engine)

    async def churn() -> None:  # the engine changes something all the time
        n = 0
        while True:
            n += 1
            bridge.put("tick", n)
            bridge.add_lines([line(n)])
            await asyncio.sleep(0.001)

    tasks = [asyncio.create_task(bridge.pump()), asyncio.create_task(churn())]
    started = time.monotonic()
    await asyncio.sleep(1.05)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    elapsed = time.monotonic() - started
    updates = posts.updates()
    assert 5 <= len(updates) <= 10 * elapsed + 1
    texts = [e.text for u in updates for e in u.events]
    numbers = [int(t.split()[1]) for t in texts]
    assert numbers == list(range(1, len(numbers) + 1))  # nothing dropped, in order


async def test_refresh_hz_is_capped_at_ten() -> None:
    assert Bridge(Posts(), refresh_hz=60).refresh_hz == 10


async def test_commands_wait_for_the_engine_and_run_on_its_loop_from_any_thread() -> None:
    posts = Posts()
    bridge = Bridge(posts, refresh_hz=0)
    bridge.send(EngageKill(reason="early"))  # before the engine is up: kept
    engine = FakeEngine()
    bridge.attach(engine)
    await asyncio.sleep(0.05)
    assert engine.kills == [{"reason": "early", "source": "tui"}]
    thread = threading.Thread(target=bridge.send, args=(EngageKill(reason="from the UI"),))
    thread.start()
    thread.join()
    await asyncio.sleep(0.05)
    assert [k["reason"] for k in engine.kills] == ["early", "from the UI"]
    done = [m for m in posts if isinstance(m, CommandDone)]
    assert all(d.ok and isinstance(d.result, Answer) and d.result.available for d in done)


async def test_an_engine_without_a_kill_switch_says_so() -> None:
    posts = Posts()
    engine = FakeEngine()
    engine.kill = None  # type: ignore[assignment]
    bridge = Bridge(posts, refresh_hz=0)
    bridge.attach(engine)
    bridge.send(EngageKill())
    await asyncio.sleep(0.05)
    (done,) = [m for m in posts if isinstance(m, CommandDone)]
    assert done.ok and not done.result.available
    assert "no kill or engage_kill_switch" in done.result.detail


async def test_selecting_a_market_sends_its_book_at_once() -> None:
    posts = Posts()
    engine = FakeEngine()
    bridge = Bridge(posts, refresh_hz=0)
    bridge.attach(engine)
    cid = engine.scanner.universe[3]
    bridge.send(SelectMarket(cid))
    await asyncio.sleep(0.05)
    (update,) = posts.updates()
    assert update.views["book"].condition_id == cid


async def test_an_order_goes_to_submit_manual_or_else_through_the_strategy_runner() -> None:
    from types import SimpleNamespace

    from polytui.engine.preview import build_preview
    from polytui.ui.commands import MANUAL, SubmitOrder, answer_text, execute
    from tests.engine.test_preview import ticket

    engine = FakeEngine(ledger=False)
    intent = build_preview(engine, ticket(engine)).intent
    decided = []

    class Runner:
        async def decide(self, strategy, intent):  # noqa: ANN001, ANN202
            decided.append((strategy.name, intent))
            return SimpleNamespace(approved=False, gate="funds", reason="no cash",
                                   submit_error="")  # fmt: skip

    unavailable = await execute(engine, SubmitOrder(intent))
    assert not unavailable.available
    engine.strategies = SimpleNamespace(runner=Runner())
    answer = await execute(engine, SubmitOrder(intent))
    assert decided == [(MANUAL.name, intent)]
    assert answer_text(answer) == "rejected by funds: no cash"
    engine.submit_manual = lambda i: f"took {i.intent_id[:4]}"
    assert (await execute(engine, SubmitOrder(intent))).value == f"took {intent.intent_id[:4]}"
