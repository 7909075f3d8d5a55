"""Watch the status changes of a group on an SR server, resuming after a
dropped connection.

    python3 examples/watch.py --target 127.0.0.1:50051 --group billing
"""

import sys

from common import connection, parser, show
from sr_client import SrError, connect


def reconnecting(error: "SrError | None", delay: float) -> None:
    print(f"reconnecting in {delay:.1f}s: {error}", file=sys.stderr)


def main() -> None:
    p = parser(__doc__)
    p.add_argument("--count", type=int, default=0, help="exit after this many changes (0: never)")
    args = p.parse_args()
    with connect(args.target, **connection(args)) as sr:
        changes = 0
        for msg in sr.watch(args.group, on_retry=reconnecting):
            if show(msg, args.group):
                changes += 1
                if changes == args.count:
                    return


if __name__ == "__main__":
    main()
