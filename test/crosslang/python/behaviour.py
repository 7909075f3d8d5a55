"""The Python runner of the behaviour table (test/crosslang/behaviour/scenarios.json):
carries out every scenario with the blocking client (--client sync) or the
asyncio client (--client aio) and prints one JSON line each.

    behaviour.py --client sync|aio --target ADDR --proxy ADDR --control URL

The scenarios are written once, as coroutines over the asyncio client's
methods; for --client sync, Blocking runs the blocking client's methods in
threads, so both clients answer the very same steps.

Run with /usr/bin/python3 and PYTHONPATH=clients/python (or in a virtual
environment where the wheel is installed).
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import time
import urllib.request
from typing import Any, Awaitable, Callable, Dict, List, Optional

import sr_client
import sr_client.aio
from srtest import event_json

Result = Dict[str, Any]


class Blocking:
    """The blocking client behind the asyncio client's interface: each call
    runs in a thread; watches and publishers get awaitable next/close/stop."""

    def __init__(self, client: sr_client.Client) -> None:
        self._client = client

    def __getattr__(self, name: str) -> Callable[..., Awaitable[Any]]:
        method = getattr(self._client, name)

        async def call(*args: Any, **kwargs: Any) -> Any:
            result = await asyncio.get_running_loop().run_in_executor(None, functools.partial(method, *args, **kwargs))
            return BlockingPublisher(result) if isinstance(result, sr_client.Publisher) else result

        return call

    def watch(self, *args: Any, **kwargs: Any) -> "BlockingWatch":
        return BlockingWatch(self._client.watch(*args, **kwargs))

    async def close(self) -> None:
        self._client.close()


class BlockingWatch:
    def __init__(self, watch: sr_client.Watch) -> None:
        self._watch = watch
        self._messages = iter(watch)

    async def __anext__(self) -> Any:
        return await asyncio.get_running_loop().run_in_executor(None, next, self._messages)

    async def aclose(self) -> None:
        self._watch.cancel()


class BlockingPublisher:
    def __init__(self, publisher: sr_client.Publisher) -> None:
        self._publisher = publisher

    async def stop(self) -> None:
        await asyncio.get_running_loop().run_in_executor(None, self._publisher.stop)


class Watched:
    """A watch read one message at a time, with revisions relative to its first message."""

    def __init__(self, watch: Any) -> None:
        self._watch = watch
        self._base: Optional[int] = None

    async def next(self) -> Result:
        e = event_json(await asyncio.wait_for(self._watch.__anext__(), 20))
        if self._base is None:
            self._base = e["revision"]
        e["revision"] -= self._base
        return e

    async def take(self, n: int) -> List[Result]:
        return [await self.next() for _ in range(n)]

    async def close(self) -> None:
        await self._watch.aclose()


def error_result(e: sr_client.SrError) -> Result:
    return {
        "code": e.code().name,
        "reason": e.reason,
        "domain": e.domain,
        "metadata": e.metadata,
        "resource": {"type": e.resource.type, "name": e.resource.name} if e.resource else None,
        "fields": [v.field for v in e.field_violations],
    }


async def failure(call: Awaitable[Any]) -> Result:
    try:
        await call
    except sr_client.SrError as e:
        return error_result(e)
    raise AssertionError("the call succeeded")


class Scenarios:
    def __init__(self, sr: Any, via_proxy: Any, control: str) -> None:
        self.sr, self.via_proxy, self.control = sr, via_proxy, control

    def watch(self, client: Any, group: str, **kwargs: Any) -> Watched:
        return Watched(client.watch(group, initial_backoff=0.05, max_backoff=0.5, **kwargs))

    async def harness(self, action: str) -> None:
        request = urllib.request.Request(f"{self.control}/{action}", method="POST")
        await asyncio.get_running_loop().run_in_executor(None, urllib.request.urlopen, request)

    async def connect(self) -> Result:
        sr = self.sr
        server = await sr.check("core")
        created = (await sr.register_group("bt-connect", status=-1, details="starting", report_capacity=5)).created
        again = (await sr.register_group("bt-connect", report_capacity=5)).created
        identifier = (await sr.register_identifier("bt-connect", "db", status=1)).created
        return {"server": {"ready": server.ready, "status": server.status}, "created": created, "created_again": again, "identifier_created": identifier}

    async def publish_read(self) -> Result:
        sr, g = self.sr, "bt-read"
        await sr.register_group(g, status=-1, details="starting", report_capacity=2)
        first = await sr.set_status(g, 1, "running")
        same = await sr.set_status(g, 1, "running")
        sequences = [(await sr.add_report(g, text)).sequence for text in ("one", "two", "three")]
        read = (await sr.get_status(g)).status
        await sr.set_status(g, 1)
        cleared = (await sr.get_status(g)).status
        all_ = await sr.check(g, "all")
        return {
            "set": {"changed": first.changed, "old_status": first.old_status},
            "set_same": {"changed": same.changed, "same_revision": same.revision == first.revision},
            "report_sequences": sequences,
            "read": {"status": read.status, "details": read.details if read.HasField("details") else None, "ready": read.ready},
            "cleared_details": cleared.details if cleared.HasField("details") else None,
            "check_all": {"ready": all_.ready, "status": all_.status},
        }

    async def errors(self) -> Result:
        sr, g = self.sr, "bt-errors"
        await sr.register_group(g, report_capacity=0)
        return {
            "group_not_found": await failure(sr.get_status("bt-nope")),
            "identifier_not_found": await failure(sr.get_status(g, "nope")),
            "status_zero": await failure(sr.set_status(g, 0)),
            "name_reserved": await failure(sr.register_identifier(g, "all")),
            "reports_disabled": await failure(sr.add_report(g, "x")),
            "internal_group": await failure(sr.set_status("core", 1)),
            "capacity_mismatch": await failure(sr.register_group(g, report_capacity=7)),
        }

    async def watch_(self) -> Result:
        sr, g = self.sr, "bt-watch"
        await sr.register_group(g, status=-1, details="starting")
        w = self.watch(sr, g, include_details=True, include_reports=True, include_registrations=True)
        snapshot = await w.next()
        await sr.set_status(g, 1, "up")
        await sr.add_report(g, "hello")
        await sr.register_identifier(g, "db", status=2)
        await sr.set_status(g, 1, "")
        events = await w.take(4)
        await w.close()
        return {"snapshot": snapshot, "events": events}

    async def resume(self) -> Result:
        sr, g = self.sr, "bt-resume"
        await sr.register_group(g)
        w = self.watch(self.via_proxy, g, include_reports=True)
        await w.next()  # the snapshot
        await sr.set_status(g, -2, "one")
        before = await w.take(1)
        await self.harness("drop")
        await sr.set_status(g, -3, "two")
        await sr.add_report(g, "while away")
        await self.harness("accept")
        after = await w.take(2)
        await w.close()
        return {"before_drop": before, "after_drop": after}

    async def resync(self) -> Result:
        sr, g = self.sr, "bt-resync"
        start = (await sr.register_group(g)).revision
        for n in range(1, 7):
            await sr.set_status(g, -n, f"n{n}")
        once = self.watch(sr, g, start_revision=start, resume=False)
        try:
            await once.next()
            raise AssertionError("the watch from a compacted revision succeeded")
        except sr_client.SrError as e:
            compacted = {k: v for k, v in error_result(e).items() if k in ("code", "reason", "domain")}
            compacted["oldest_after_start"] = e.oldest_revision is not None and e.oldest_revision > start
        resumed = self.watch(sr, g, start_revision=start)
        first = await resumed.next()
        await resumed.close()
        return {"compacted": compacted, "first": first}

    async def lease(self) -> Result:
        sr, g = self.sr, "bt-lease"
        await sr.register_group(g, status=-1)
        short_ttl = await failure(sr.set_status(g, 1, ttl=0.5))
        not_armed = await failure(sr.refresh_lease(g))
        publisher = await sr.publish(g, 1, "leased", ttl=1.0)
        refreshed = await self.deadline_moves(g)
        await sr.set_status(g, 2, "other")  # another writer
        await self.deadline_moves(g)  # the publisher refreshed after that write...
        kept = (await sr.get_status(g)).status  # ...and did not overwrite it
        w = self.watch(sr, g, start_revision=kept.revision)
        await publisher.stop()
        expired = await w.next()
        await w.close()
        return {
            "short_ttl": {"code": short_ttl["code"], "reason": short_ttl["reason"]},
            "not_armed": {"code": not_armed["code"], "reason": not_armed["reason"]},
            "refreshed": refreshed,
            "kept": {"status": kept.status, "details": kept.details if kept.HasField("details") else None},
            "expired": {k: expired[k] for k in ("type", "status", "old_status", "details", "ready")},
        }

    async def deadline_moves(self, group: str) -> bool:
        """Polls the lease's deadline until a refresh moves it past where it is now (True), or 10 s pass."""

        async def deadline() -> int:
            s = (await self.sr.get_status(group)).status
            return s.lease_expire_time.ToMilliseconds() if s.HasField("lease_expire_time") else 0

        now = await deadline()
        give_up = time.monotonic() + 10
        while time.monotonic() < give_up:
            if await deadline() > now:
                return True
            await asyncio.sleep(0.025)
        return False


async def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--client", choices=("sync", "aio"), required=True)
    p.add_argument("--target", required=True)
    p.add_argument("--proxy", required=True)
    p.add_argument("--control", required=True)
    args = p.parse_args()
    # Reconnect quickly: the resume scenario drops connections on purpose.
    fast = [("grpc.initial_reconnect_backoff_ms", 50), ("grpc.min_reconnect_backoff_ms", 50), ("grpc.max_reconnect_backoff_ms", 300)]
    if args.client == "aio":
        sr: Any = sr_client.aio.connect(args.target)
        via_proxy: Any = sr_client.aio.connect(args.proxy, options=fast)
    else:
        sr, via_proxy = Blocking(sr_client.connect(args.target)), Blocking(sr_client.connect(args.proxy, options=fast))
    s = Scenarios(sr, via_proxy, args.control)
    try:
        for name in ("connect", "publish_read", "errors", "watch", "resume", "resync", "lease"):
            result = await getattr(s, name + "_" if name == "watch" else name)()
            print(json.dumps({"scenario": name, "result": result}), flush=True)
    finally:
        await sr.close()
        await via_proxy.close()


if __name__ == "__main__":
    asyncio.run(main())
