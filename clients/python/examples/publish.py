"""Publish a status and a report to an SR server.

    python3 examples/publish.py --target 127.0.0.1:50051 --group billing
"""

from common import connection, parser
from sr_client import connect


def main() -> None:
    args = parser(__doc__).parse_args()
    with connect(args.target, **connection(args)) as sr:
        # Idempotent: a restarted publisher simply registers again.
        sr.register_group(args.group, status=-1, details="starting", report_capacity=100)
        sr.add_report(args.group, "connected to the database")
        r = sr.set_status(args.group, 1, "running")
        ready = sr.check(args.group).ready
        print(f"{args.group}: status 1 (ready={ready}) at revision {r.revision}")


if __name__ == "__main__":
    main()
