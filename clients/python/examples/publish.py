"""Publish a status and a report to an SR server.

    PYTHONPATH=clients/python python3 clients/python/examples/publish.py \
        --target 127.0.0.1:50051 --group billing
"""

import argparse
import os
from pathlib import Path

from sr_client import connect


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--target", default=os.environ.get("SR_TARGET", "127.0.0.1:50051"))
    p.add_argument("--group", default="billing")
    p.add_argument("--token", default=os.environ.get("SR_TOKEN"), help="bearer token (or env SR_TOKEN)")
    p.add_argument("--ca", help="PEM file of the CA to trust; turns TLS on")
    args = p.parse_args()

    root = Path(args.ca).read_bytes() if args.ca else None
    with connect(args.target, root_certificates=root, token=args.token) as sr:
        # Idempotent: a restarted publisher simply registers again.
        sr.register_group(args.group, status=-1, details="starting", report_capacity=100)
        sr.add_report(args.group, "connected to the database")
        r = sr.set_status(args.group, 1, "running")
        ready = sr.check(args.group).ready
        print(f"{args.group}: status 1 (ready={ready}) at revision {r.revision}")


if __name__ == "__main__":
    main()
