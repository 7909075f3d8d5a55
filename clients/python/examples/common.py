"""What the examples share: their command line (--target, --group, --token,
--ca), the connect() arguments it gives, and how a watch message is printed."""

import argparse
import os
from pathlib import Path
from typing import Any, Dict


def parser(doc: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=doc.splitlines()[0])
    p.add_argument("--target", default=os.environ.get("SR_TARGET", "127.0.0.1:50051"))
    p.add_argument("--group", default="billing")
    p.add_argument("--token", default=os.environ.get("SR_TOKEN"), help="bearer token (or env SR_TOKEN)")
    p.add_argument("--ca", help="PEM file of the CA to trust; turns TLS on")
    return p


def connection(args: argparse.Namespace) -> Dict[str, Any]:
    """connect()'s keyword arguments (sr_client's and sr_client.aio's alike)."""
    return {"root_certificates": Path(args.ca).read_bytes() if args.ca else None, "token": args.token}


def describe(status: Any) -> str:
    return repr(status.details) if status.HasField("details") else "no details"


def show(msg: Any, group: str) -> bool:
    """Prints a watch message; True when it was a status change."""
    event = msg.WhichOneof("event")
    if event == "snapshot":
        for s in msg.snapshot.identifiers:
            print(f"{s.group}/{s.identifier}: {s.status} ({describe(s)})")
        if msg.snapshot.last:
            print(f"watching {group} from revision {msg.revision}", flush=True)
    elif event == "status_changed":
        c = msg.status_changed
        print(f"{c.group}/{c.identifier}: {c.old_status} -> {c.status} ({describe(c)}) at revision {msg.revision}", flush=True)
        return True
    return False
