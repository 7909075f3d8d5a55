"""Watch the status changes of a group on an SR server, resuming after a
dropped connection.

    PYTHONPATH=clients/python python3 clients/python/examples/watch.py \
        --target 127.0.0.1:50051 --group billing
"""

import argparse
import os
from pathlib import Path
import sys

from sr_client import connect


def describe(status) -> str:
    return repr(status.details) if status.HasField("details") else "no details"


def reconnecting(error, delay: float) -> None:
    print(f"reconnecting in {delay:.1f}s: {error}", file=sys.stderr)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--target", default=os.environ.get("SR_TARGET", "127.0.0.1:50051"))
    p.add_argument("--group", default="billing")
    p.add_argument("--token", default=os.environ.get("SR_TOKEN"), help="bearer token (or env SR_TOKEN)")
    p.add_argument("--ca", help="PEM file of the CA to trust; turns TLS on")
    p.add_argument("--count", type=int, default=0, help="exit after this many changes (0: never)")
    args = p.parse_args()

    root = Path(args.ca).read_bytes() if args.ca else None
    with connect(args.target, root_certificates=root, token=args.token) as sr:
        changes = 0
        for msg in sr.watch(args.group, on_retry=reconnecting):
            event = msg.WhichOneof("event")
            if event == "snapshot":
                for s in msg.snapshot.identifiers:
                    print(f"{s.group}/{s.identifier}: {s.status} ({describe(s)})")
                if msg.snapshot.last:
                    print(f"watching {args.group} from revision {msg.revision}", flush=True)
            elif event == "status_changed":
                c = msg.status_changed
                print(f"{c.group}/{c.identifier}: {c.old_status} -> {c.status} ({describe(c)}) at revision {msg.revision}", flush=True)
                changes += 1
                if changes == args.count:
                    return


if __name__ == "__main__":
    main()
