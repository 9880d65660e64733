"""Order signing speed: polytui's OrderSigner against py-clob-client-v2 and the bare floor.

    python bench/signer.py [--orders N] [--runs R] [--seed S]

Every contender signs the same N random CLOB V2 limit orders (random 256-bit token ids, prices
on the 0.01 grid, sizes, sides, neg-risk on and off) with one random key, in one process, after
a warm-up run. Each figure is the best of R timed runs; the contenders take turns run by run.

1. **polytui amounts + sign**: ``limit_order_amounts`` then ``OrderSigner.sign``, with the salt
   and the millisecond timestamp drawn per order the way the official client draws them. This is
   the like-for-like row, and the one both targets are judged on.
2. **polytui sign only**: ``OrderSigner.sign`` with the amounts computed beforehand.
3. **py-clob-client-v2**: ``OrderBuilder.build_order`` (amounts, salt, timestamp, EIP-712
   through eth_account, signature).
4. **floor**: one keccak256 of 66 bytes plus one coincurve recoverable secp256k1 signature, the
   least any EIP-712 signer must do per order.

Exit status: 0 when polytui (row 1) is at least 5x faster than the official builder and costs at
most 2x the floor, 1 otherwise.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from importlib.metadata import version
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import coincurve  # noqa: E402
from py_clob_client_v2.clob_types import CreateOrderOptions, OrderArgsV2  # noqa: E402
from py_clob_client_v2.order_builder.builder import OrderBuilder  # noqa: E402
from py_clob_client_v2.signer import Signer  # noqa: E402

from polytui.protocol.amounts import Side, limit_order_amounts  # noqa: E402
from polytui.protocol.signing import (  # noqa: E402
    Exchange,
    OrderSigner,
    keccak256,
    official_salt,
)

TICK = "0.01"
CHAIN_ID = 137
FASTER_THAN_OFFICIAL = 5.0  # polytui must sign at least this many times faster
FLOOR_FACTOR = 2.0  # polytui may cost at most this many times the floor


@dataclass(frozen=True)
class Order:
    token_id: str
    price: str
    size: str
    side: Side
    neg_risk: bool


def random_orders(count: int, rng: random.Random) -> list[Order]:
    return [
        Order(
            token_id=str(rng.getrandbits(256)),
            price=str(Decimal(rng.randint(1, 99)) / 100),
            size=str(Decimal(rng.randint(500, 100_000)) / 100),
            side=rng.choice(list(Side)),
            neg_risk=rng.random() < 0.5,
        )
        for _ in range(count)
    ]


def polytui_full(signer: OrderSigner, orders: list[Order]) -> Callable[[], None]:
    def run() -> None:
        for order in orders:
            now_ms = time.time_ns() // 1_000_000
            signer.sign(
                token_id=order.token_id,
                side=order.side,
                amounts=limit_order_amounts(order.price, order.size, order.side, TICK),
                salt=official_salt(now_ms),
                timestamp_ms=now_ms,
                exchange=Exchange.NEG_RISK if order.neg_risk else Exchange.CTF,
            )

    return run


def polytui_sign_only(signer: OrderSigner, orders: list[Order]) -> Callable[[], None]:
    prepared = [
        (
            order.token_id,
            order.side,
            limit_order_amounts(order.price, order.size, order.side, TICK),
            Exchange.NEG_RISK if order.neg_risk else Exchange.CTF,
        )
        for order in orders
    ]
    now_ms = time.time_ns() // 1_000_000
    salt = official_salt(now_ms)

    def run() -> None:
        for token_id, side, amounts, exchange in prepared:
            signer.sign(
                token_id=token_id,
                side=side,
                amounts=amounts,
                salt=salt,
                timestamp_ms=now_ms,
                exchange=exchange,
            )

    return run


def official(private_key: str, orders: list[Order]) -> Callable[[], None]:
    builder = OrderBuilder(Signer(private_key, CHAIN_ID))
    prepared = [
        (
            OrderArgsV2(
                token_id=order.token_id,
                price=float(order.price),
                size=float(order.size),
                side=order.side.name,
            ),
            CreateOrderOptions(tick_size=TICK, neg_risk=order.neg_risk),
        )
        for order in orders
    ]

    def run() -> None:
        for args, options in prepared:
            builder.build_order(args, options)

    return run


def floor(private_key: str, orders: list[Order]) -> Callable[[], None]:
    key = coincurve.PrivateKey(bytes.fromhex(private_key[2:]))
    rng = random.Random(0)
    messages = [b"\x19\x01" + rng.randbytes(64) for _ in orders]

    def run() -> None:
        for message in messages:
            key.sign_recoverable(keccak256(message), hasher=None)

    return run


def orders_per_second(runs_of: list[Callable[[], None]], count: int, runs: int) -> list[float]:
    """Best rate of each contender. The timed runs take turns, so a burst of load from another
    process slows every contender a little instead of one of them a lot."""
    for run in runs_of:
        run()  # warm-up: caches, lazy imports
    best = [float("inf")] * len(runs_of)
    for _ in range(runs):
        for i, run in enumerate(runs_of):
            best[i] = min(best[i], _timed(run))
    return [count / seconds for seconds in best]


def _timed(run: Callable[[], None]) -> float:
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def table(rows: list[tuple[str, float]]) -> str:
    head = ("signer", "orders/s", "µs/order")
    lines = [head] + [(name, f"{rate:,.0f}", f"{1e6 / rate:,.1f}") for name, rate in rows]
    widths = [max(len(row[i]) for row in lines) for i in range(len(head))]
    out = []
    for n, row in enumerate(lines):
        out.append(
            "  ".join(
                cell.rjust(width) if i else cell.ljust(width)
                for i, (cell, width) in enumerate(zip(row, widths, strict=True))
            )
        )
        if n == 0:
            out.append("  ".join("-" * width for width in widths))
    return "\n".join(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=2000, help="orders per run (default 2000)")
    parser.add_argument("--runs", type=int, default=5, help="timed runs, best kept (default 5)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the random orders")
    args = parser.parse_args()

    rng = random.Random(args.seed)
    orders = random_orders(args.orders, rng)
    private_key = "0x" + os.urandom(32).hex()
    signer = OrderSigner(private_key, CHAIN_ID)
    print(
        f"order signing: {args.orders} random limit orders (tick {TICK}, neg-risk mixed), one key, "
        f"warm caches, best of {args.runs} runs; Python {platform.python_version()}, "
        f"coincurve {version('coincurve')}, py-clob-client-v2 {version('py-clob-client-v2')}, "
        f"{os.cpu_count()} CPUs",
        flush=True,
    )
    rows = [
        ("polytui amounts + sign", polytui_full(signer, orders)),
        ("polytui sign only", polytui_sign_only(signer, orders)),
        ("py-clob-client-v2 build_order", official(private_key, orders)),
        ("floor: keccak(66 B) + secp256k1 sign", floor(private_key, orders)),
    ]
    measured = orders_per_second([run for _, run in rows], args.orders, args.runs)
    rates = [(name, rate) for (name, _), rate in zip(rows, measured, strict=True)]
    print()
    print(table(rates))
    print()
    ours, _, theirs, bare = (rate for _, rate in rates)
    speedup, cost = ours / theirs, bare / ours
    fast_ok, floor_ok = speedup >= FASTER_THAN_OFFICIAL, cost <= FLOOR_FACTOR
    print(
        f"polytui vs py-clob-client-v2: {speedup:,.1f}x faster "
        f"(target >= {FASTER_THAN_OFFICIAL:g}x): {'PASS' if fast_ok else 'FAIL'}"
    )
    print(
        f"polytui vs floor: {cost:.2f}x the floor's cost per order "
        f"(target <= {FLOOR_FACTOR:g}x): {'PASS' if floor_ok else 'FAIL'}"
    )
    return 0 if fast_ok and floor_ok else 1


if __name__ == "__main__":
    sys.exit(main())
