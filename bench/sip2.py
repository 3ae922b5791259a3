"""SIP2 benchmark: decisions through the simulated LMS on loopback, and with the LMS away.

Measures `LmsGateway.authenticate` (63/64 over one persistent TCP connection to pysip2's server,
the policy, the offline cache kept up to date in the background):
- online: p50/p99 of granted decisions (and of refusals);
- the LMS down (connection refused): the first decision and the ones after (from the cache);
- the LMS slow (answers later than the 2 s timeout): the first decision (waits the timeout),
  the ones after (the circuit breaker is open: straight to the cache).
Targets (issue 13): p99 <= 100 ms on loopback; offline first <= timeout + 50 ms, then <= 50 ms.

`--short`: 10 requests, a 0.5 s timeout (tests/test_bench_short.py runs it, so a change that
breaks the benchmark fails scripts/test).

Usage: bench/sip2 [--requests 400] [--timeout 2.0] [--short]
"""

from __future__ import annotations

import argparse
import asyncio
from datetime import date, datetime
import logging
import statistics
import time

from bench.common import drain_gateway
from custom_components.smart_library.engine.lms.gateway import (
    LmsGateway,
    LmsPolicy,
    LmsReason,
    OfflineCache,
)
from custom_components.smart_library.engine.lms.sip2 import Sip2Client, Sip2Config
from custom_components.smart_library.engine.members.membership import Reason
from custom_components.smart_library.engine.members.pins import new_pepper
from simulator.lms import SimulatedLms

MEMBERS = (("21000001", "1234"), ("21000004", "4567"), ("21000010", "1122"))
SHORT = {"requests": 10, "timeout": 0.5}


def _pct(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(len(ordered) * pct / 100) - 1))]


def _line(label: str, values: list[float]) -> str:
    ms = [v * 1000 for v in values]
    if len(ms) == 1:
        return f"{label:<44} {ms[0]:8.1f} ms"
    return (
        f"{label:<44} p50 {_pct(ms, 50):6.1f} ms  p99 {_pct(ms, 99):6.1f} ms  "
        f"max {max(ms):6.1f} ms  (n={len(ms)}, mean {statistics.mean(ms):.1f})"
    )


async def _timed(
    gateway: LmsGateway, card: str, pin: str, today: date
) -> tuple[float, str]:
    start = time.perf_counter()
    result = await gateway.authenticate(
        card, pin, today=today, now=datetime.now().astimezone()
    )
    return time.perf_counter() - start, str(result.reason)


def _gateway(lms: SimulatedLms, timeout: float) -> LmsGateway:
    client = Sip2Client(
        Sip2Config(
            "127.0.0.1",
            lms.port,
            login_user="sip",
            login_password="sip-password",
            institution="DEMO",
            keepalive=0,
        )
    )
    return LmsGateway(
        client,
        LmsPolicy(),
        OfflineCache(new_pepper()),
        timeout=timeout,
        probe_interval=3600,  # no background probe during the measurements
    )


async def run(requests: int, timeout: float) -> None:
    """Run every measurement and print the figures."""
    today = date.today()
    lms = SimulatedLms()
    await lms.start()
    print(f"SIP2 decisions through the simulated LMS (pysip2) on 127.0.0.1:{lms.port}")
    try:
        gateway = _gateway(lms, timeout)
        await gateway.start()
        for card, pin in MEMBERS:  # warm up; the cache learns the members
            await gateway.authenticate(
                card, pin, today=today, now=datetime.now().astimezone()
            )
        await drain_gateway(gateway)

        granted: list[float] = []
        for n in range(requests):
            card, pin = MEMBERS[n % len(MEMBERS)]
            elapsed, reason = await _timed(gateway, card, pin, today)
            assert reason == Reason.GRANTED, reason
            granted.append(elapsed)
        await drain_gateway(gateway)
        print(_line("online, granted (cache updated after)", granted))

        refused: list[float] = []
        for n in range(requests // 4):
            elapsed, reason = await _timed(
                gateway, "21000006" if n % 2 else "99999999", "6789", today
            )
            refused.append(elapsed)
        print(_line("online, refused (card lost / unknown)", refused))

        # The LMS down: connection refused at once.
        await lms.set_down(True)
        elapsed, reason = await _timed(gateway, *MEMBERS[0], today)
        assert reason == LmsReason.GRANTED_OFFLINE, reason
        print(_line("LMS down: first decision (from the cache)", [elapsed]))
        after = [
            (await _timed(gateway, *MEMBERS[n % 3], today))[0]
            for n in range(min(50, requests // 2))
        ]
        print(_line("LMS down: decisions after (breaker open)", after))
        unknown = [
            (await _timed(gateway, "21000099", "1234", today))[0]
            for _ in range(min(20, requests // 2))
        ]
        print(_line("LMS down: unknown card (refused)", unknown))
        await drain_gateway(gateway, stop=True)

        # The LMS slow: answers after the timeout.
        await lms.set_down(False)
        gateway = _gateway(lms, timeout)
        await gateway.start()
        for card, pin in MEMBERS:
            await gateway.authenticate(
                card, pin, today=today, now=datetime.now().astimezone()
            )
        await drain_gateway(gateway)
        lms.faults.delay = timeout + 3
        elapsed, reason = await _timed(gateway, *MEMBERS[0], today)
        assert reason == LmsReason.GRANTED_OFFLINE, reason
        print(_line(f"LMS slow: first decision (timeout {timeout:g} s)", [elapsed]))
        after = [
            (await _timed(gateway, *MEMBERS[n % 3], today))[0]
            for n in range(min(50, requests // 2))
        ]
        print(_line("LMS slow: decisions after (breaker open)", after))
        lms.faults.delay = 0
        await drain_gateway(gateway, stop=True)
    finally:
        await lms.stop()


def main() -> None:
    """Parse the arguments and run."""
    parser = argparse.ArgumentParser(
        prog="bench/sip2",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--timeout", type=float, default=2.0)
    parser.add_argument(
        "--short", action="store_true", help="10 requests, a 0.5 s timeout"
    )
    args = parser.parse_args()
    if args.short:
        vars(args).update(SHORT)
    logging.basicConfig(level=logging.ERROR)
    asyncio.run(run(args.requests, args.timeout))


if __name__ == "__main__":
    main()
