"""Publish a status with a lease to an SR server, with the asyncio client,
and keep it alive until interrupted (or --seconds pass).

    python3 examples/publish_aio.py --target 127.0.0.1:50051 --group billing --ttl 15
"""

import asyncio

from common import connection, parser
from sr_client.aio import connect


async def main() -> None:
    p = parser(__doc__)
    p.add_argument("--ttl", type=float, default=15.0, help="lease duration in seconds (1 or more)")
    p.add_argument("--seconds", type=float, default=0.0, help="stop after this long (0: when interrupted)")
    args = p.parse_args()
    async with connect(args.target, **connection(args)) as sr:
        await sr.register_group(args.group, status=-1, details="starting", report_capacity=100)
        # Set once with a lease, then only RefreshLease every ttl/3: should
        # this process die, the server marks the status expired after ttl.
        async with await sr.publish(args.group, 1, "running", ttl=args.ttl) as publisher:
            ready = (await sr.check(args.group)).ready
            print(f"{args.group}: status 1 (ready={ready}) at revision {publisher.response.revision}, lease {args.ttl:g}s", flush=True)
            stopped = asyncio.ensure_future(publisher.wait())
            done, _ = await asyncio.wait([stopped], timeout=args.seconds or None)
            if done:
                print(f"lease lost: {stopped.result()}", flush=True)
                raise SystemExit(1)
            stopped.cancel()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
