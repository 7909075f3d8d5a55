"""Watch the status changes of a group on an SR server with the asyncio
client, resuming after a dropped connection.

    python3 examples/watch_aio.py --target 127.0.0.1:50051 --group billing
"""

import asyncio

from common import connection, parser, show
from sr_client.aio import connect


async def main() -> None:
    p = parser(__doc__)
    p.add_argument("--count", type=int, default=0, help="exit after this many changes (0: never)")
    args = p.parse_args()
    async with connect(args.target, **connection(args)) as sr:
        changes = 0
        # Leaving the `async with` (or cancelling this task) cancels the stream.
        async with sr.watch(args.group) as watch:
            async for msg in watch:
                if show(msg, args.group):
                    changes += 1
                    if changes == args.count:
                        return


if __name__ == "__main__":
    asyncio.run(main())
