"""Python side of the cross-language tests (test/crosslang/*.test.ts).

    srtest.py publish TARGET GROUP   the scenario's writes, one JSON line each
    srtest.py watch TARGET GROUP [--start R]
                                      every watch message as a JSON line (see
                                      event_json), and {"retry": CODE} lines
    srtest.py errors TARGET GROUP --start R
                                      the errors of an unknown group, of
                                      status 0 in GROUP and of watching GROUP
                                      from R without resume, one JSON line each
                                      (see error_json)

Run with /usr/bin/python3 and PYTHONPATH=clients/python.
"""

import argparse
import json
import sys

import grpc

from sr_client import SrError, connect


def out(obj) -> None:
    print(json.dumps(obj), flush=True)


def opt(msg, field):
    return getattr(msg, field) if msg.HasField(field) else None


def status_json(s):
    return {"group": s.group, "identifier": s.identifier, "status": s.status, "details": opt(s, "details")}


def event_json(m):
    """The shape every language prints (and test/crosslang/support.ts builds)."""
    kind = m.WhichOneof("event")
    e = {"revision": m.revision, "type": kind}
    if kind == "snapshot":
        e.update(last=m.snapshot.last, resync=m.snapshot.resync, identifiers=[status_json(s) for s in m.snapshot.identifiers])
    elif kind == "status_changed":
        c = m.status_changed
        e.update(group=c.group, identifier=c.identifier, status=c.status, old_status=c.old_status, details=opt(c, "details"), ready=c.ready)
    elif kind == "report_added":
        r = m.report_added
        e.update(group=r.group, identifier=r.identifier, sequence=r.report.sequence, text=r.report.text)
    elif kind == "registered":
        e.update(status_json(m.registered))
    elif kind == "unregistered":
        e.update(group=m.unregistered.group, identifier=m.unregistered.identifier)
    return e


def error_json(e: SrError):
    """The shape both languages print for an error of the helper."""
    return {
        "code": e.code().name,
        "message": e.details(),
        "reason": e.reason,
        "domain": e.domain,
        "metadata": e.metadata,
        "oldest_revision": e.oldest_revision,
        "field_violations": [{"field": v.field, "description": v.description} for v in e.field_violations],
        "resource": {"type": e.resource.type, "name": e.resource.name} if e.resource else None,
    }


def errors(sr, g: str, start) -> None:
    """Calls that fail, and how the helper's error describes each failure."""
    calls = (
        ("unknown_group", lambda: sr.check("nope")),
        ("status_zero", lambda: sr.set_status(g, 0)),
        ("history_compacted", lambda: next(iter(sr.watch(g, start_revision=start, resume=False)))),
    )
    for op, call in calls:
        try:
            call()
            out({"op": op, "error": None})
        except SrError as e:
            out({"op": op, "error": error_json(e)})


def publish(sr, g: str) -> None:
    """Registers, sets statuses and adds reports; prints what each returned."""
    r = sr.register_group(g, status=-1, details="starting", report_capacity=5)
    out({"op": "register_group", "created": r.created, "revision": r.revision})
    r = sr.register_identifier(g, "db", status=1, report_capacity=2)
    out({"op": "register_identifier", "created": r.created, "revision": r.revision})
    r = sr.register_group(g, report_capacity=5)  # idempotent: nothing changes
    out({"op": "register_group_again", "created": r.created, "revision": r.revision})
    r = sr.add_report(g, "starting up")
    out({"op": "add_report", "identifier": "main", "sequence": r.sequence, "revision": r.revision})
    r = sr.set_status(g, 1, "running")
    out({"op": "set_status", "identifier": "main", "changed": r.changed, "old_status": r.old_status, "revision": r.revision})
    r = sr.set_status(g, -7, "db down: grüße ✓", identifier="db")
    out({"op": "set_status", "identifier": "db", "changed": r.changed, "old_status": r.old_status, "revision": r.revision})
    for text in ("lost connection", "retrying", "reconnected"):  # capacity 2: the first is dropped
        r = sr.add_report(g, text, identifier="db")
        out({"op": "add_report", "identifier": "db", "sequence": r.sequence, "revision": r.revision})
    r = sr.set_status(g, 1, identifier="db")  # no details: clears them
    out({"op": "set_status", "identifier": "db", "changed": r.changed, "old_status": r.old_status, "revision": r.revision})
    r = sr.set_status(g, 1, "running")  # same status and details: no change
    out({"op": "set_status_same", "identifier": "main", "changed": r.changed, "old_status": r.old_status, "revision": r.revision})
    r = sr.set_status(g, 1, "")  # details only: "" is not "no details"
    out({"op": "set_details", "identifier": "main", "changed": r.changed, "old_status": r.old_status, "revision": r.revision})
    c = sr.check(g, "all")
    out({"op": "check_all", "ready": c.ready, "status": c.status})
    try:
        sr.set_status(g, 0)
    except grpc.RpcError as e:
        out({"op": "set_status_zero", "code": e.code().name})


def watch(sr, g: str, start) -> None:
    def retry(error, delay):
        out({"retry": error.code().name if error is not None else "ENDED", "details": error.details() if error is not None else None})

    for m in sr.watch(g, include_details=True, include_reports=True, include_registrations=True,
                      start_revision=start, initial_backoff=0.05, max_backoff=0.5, on_retry=retry):
        out(event_json(m))


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("command", choices=("publish", "watch", "errors"))
    p.add_argument("target")
    p.add_argument("group")
    p.add_argument("--start", type=int)
    p.add_argument("--token")
    args = p.parse_args()
    # Reconnect quickly: the tests drop connections on purpose.
    fast = [("grpc.initial_reconnect_backoff_ms", 50), ("grpc.min_reconnect_backoff_ms", 50), ("grpc.max_reconnect_backoff_ms", 300)]
    with connect(args.target, token=args.token, options=fast) as sr:
        if args.command == "publish":
            publish(sr, args.group)
        elif args.command == "errors":
            errors(sr, args.group, args.start)
        else:
            watch(sr, args.group, args.start)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(130)
