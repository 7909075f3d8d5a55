"""Unit tests of the sr_client helper against an in-process fake server.

Run: PYTHONPATH=clients/python /usr/bin/python3 -m unittest discover -s clients/python/tests
(the cross-language tests against the real server are in test/crosslang/).
"""

from __future__ import annotations

import os
import queue
import shutil
import subprocess
import tempfile
import threading
import unittest
from concurrent import futures

import grpc

from sr_client import FieldViolation, Resource, SrError, connect, error_of, reason_of, sr_pb2, sr_pb2_grpc
from sr_client.errors import error_details_pb2, status_pb2
from sr_client.gen.health.v1 import health_pb2, health_pb2_grpc

TIMEOUT = 10


def fail(code, message, reason="", violations=(), resource=None, status_code=None, **metadata):
    """An error answer as the SR server sends it: code and message, and, with
    a reason, a google.rpc.Status (of ``status_code`` when given, else the
    call's code) holding an ErrorInfo, BadRequest and ResourceInfo."""
    if not reason:
        return (code, message, None)
    status = status_pb2.Status(code=(status_code or code).value[0], message=message)
    status.details.add().Pack(error_details_pb2.ErrorInfo(reason=reason, domain="sr.v1", metadata=metadata))
    if violations:
        bad = error_details_pb2.BadRequest()
        for field, description in violations:
            bad.field_violations.add(field=field, description=description)
        status.details.add().Pack(bad)
    if resource:
        status.details.add().Pack(error_details_pb2.ResourceInfo(resource_type=resource[0], resource_name=resource[1]))
    return (code, message, status.SerializeToString())


def abort(context, failure):
    code, message, rich = failure
    if rich is not None:
        context.set_trailing_metadata((("grpc-status-details-bin", rich),))
    context.abort(code, message)


def _snapshot(revision, last=True, names=("main",)):
    return sr_pb2.WatchStatusResponse(
        revision=revision,
        snapshot=sr_pb2.Snapshot(
            last=last,
            identifiers=[sr_pb2.IdentifierStatus(group="g", identifier=n, status=1, ready=True) for n in names],
        ),
    )


def _changed(revision, status, old):
    return sr_pb2.WatchStatusResponse(
        revision=revision,
        status_changed=sr_pb2.StatusChanged(group="g", identifier="main", status=status, old_status=old, ready=status > 0),
    )


class FakeServer(sr_pb2_grpc.StatusReportServiceServicer, health_pb2_grpc.HealthServicer):
    """Each WatchStatus call plays the next script: (messages, end[,
    registry id]) where end is a ``fail(...)`` to abort with, None to end the
    stream or "hang" to wait for the cancel."""

    def __init__(self):
        self.scripts = queue.Queue()
        self.watch_requests = []
        self.metadata = []
        self.release = threading.Event()

    def _record(self, context):
        self.metadata.append(dict(context.invocation_metadata()))

    def RegisterGroup(self, request, context):
        self._record(context)
        return sr_pb2.RegisterGroupResponse(created=request.HasField("report_capacity"), revision=7)

    def SetStatus(self, request, context):
        self._record(context)
        if request.status == 0:
            abort(context, fail(grpc.StatusCode.INVALID_ARGUMENT, "status: must not be 0", "STATUS_ZERO",
                                violations=[("status", "status: must not be 0")], field="status"))
        return sr_pb2.SetStatusResponse(
            changed=True, old_status=1 if request.HasField("details") else -1, revision=8
        )

    def CheckStatus(self, request, context):
        self._record(context)
        if request.group == "nope":
            abort(context, fail(grpc.StatusCode.NOT_FOUND, "group 'nope' not found", "GROUP_NOT_FOUND",
                                resource=("sr.v1.Group", "nope"), group="nope"))
        if request.group == "rewritten":  # details of another answer than the call's
            abort(context, fail(grpc.StatusCode.UNAVAILABLE, "try later", "GROUP_NOT_FOUND",
                                status_code=grpc.StatusCode.NOT_FOUND, group="rewritten"))
        if request.group == "plain":  # no details at all
            context.abort(grpc.StatusCode.INTERNAL, "internal error")
        return sr_pb2.CheckStatusResponse(ready=request.identifier == "all", status=1 if request.identifier == "all" else -3)

    def Check(self, request, context):
        self._record(context)
        return health_pb2.HealthCheckResponse(status=health_pb2.HealthCheckResponse.SERVING)

    def WatchStatus(self, request, context):
        self._record(context)
        self.watch_requests.append(request)
        script = self.scripts.get(timeout=TIMEOUT)
        messages, end = script[0], script[1]
        if len(script) > 2:
            context.send_initial_metadata((("sr-registry-id", script[2]),))
        for m in messages:
            yield m
        if end == "hang":
            self.release.wait(TIMEOUT)
            return
        if end is not None:
            abort(context, end)


class HelperTest(unittest.TestCase):
    def setUp(self):
        self.fake = FakeServer()
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
        sr_pb2_grpc.add_StatusReportServiceServicer_to_server(self.fake, self.server)
        health_pb2_grpc.add_HealthServicer_to_server(self.fake, self.server)
        self.port = self.server.add_insecure_port("127.0.0.1:0")
        self.server.start()
        self.sr = connect(f"127.0.0.1:{self.port}", token="s3cret")

    def tearDown(self):
        self.fake.release.set()
        self.sr.close()
        self.server.stop(None)

    def test_writes_send_the_fields_given_and_the_bearer_token(self):
        r = self.sr.register_group("g", report_capacity=5)
        self.assertTrue(r.created)
        self.assertEqual(self.fake.metadata[-1].get("authorization"), "Bearer s3cret")
        # details None is absent (clears), "" is present and empty.
        self.assertEqual(self.sr.set_status("g", 2).old_status, -1)
        self.assertEqual(self.sr.set_status("g", 2, "").old_status, 1)
        with self.assertRaises(grpc.RpcError) as e:
            self.sr.set_status("g", 0)
        self.assertEqual(e.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
        self.assertEqual(e.exception.reason, "STATUS_ZERO")
        self.assertEqual(self.sr.check("g", "all").ready, True)
        self.assertEqual(self.sr.check("g").status, -3)
        self.assertEqual(self.sr.health_check("g").status, health_pb2.HealthCheckResponse.SERVING)
        self.assertEqual(self.fake.metadata[-1].get("authorization"), "Bearer s3cret")

    def test_watch_resumes_from_the_last_revision_after_a_drop(self):
        self.fake.scripts.put(([_snapshot(5), _changed(6, -1, 1)], fail(grpc.StatusCode.UNAVAILABLE, "connection lost")))
        self.fake.scripts.put(([_changed(9, 1, -1)], "hang"))
        retries = []
        w = self.sr.watch("g", include_reports=True, initial_backoff=0.01, on_retry=lambda e, d: retries.append((e, d)))
        got = []
        for msg in w:
            got.append((msg.WhichOneof("event"), msg.revision))
            if len(got) == 3:
                w.cancel()
        self.assertEqual(got, [("snapshot", 5), ("status_changed", 6), ("status_changed", 9)])
        first, second = self.fake.watch_requests
        self.assertFalse(first.HasField("start_revision"))
        self.assertEqual(second.start_revision, 6)
        self.assertTrue(second.include_reports)
        self.assertEqual(second.group, "g")
        self.assertEqual(len(retries), 1)
        self.assertIsInstance(retries[0][0], SrError)
        self.assertEqual(retries[0][0].code(), grpc.StatusCode.UNAVAILABLE)
        self.assertTrue(0 <= retries[0][1] <= 0.01)

    def test_a_drop_inside_a_snapshot_brings_a_whole_new_snapshot(self):
        self.fake.scripts.put(([_snapshot(5, last=False, names=("main", "a"))], fail(grpc.StatusCode.UNAVAILABLE, "gone")))
        self.fake.scripts.put(([_snapshot(5, last=False, names=("main", "a")), _snapshot(5, names=("b",))], "hang"))
        w = self.sr.watch("g", initial_backoff=0.01)
        got = []
        for msg in w:
            got.append((msg.snapshot.last, msg.snapshot.resync))
            if msg.snapshot.last:
                w.cancel()
        # The parts of the second snapshot say it replaces what came before.
        self.assertEqual(got, [(False, False), (False, True), (True, True)])
        self.assertFalse(self.fake.watch_requests[1].HasField("start_revision"))
        self.assertEqual(w.last_revision, 5)

    def test_a_compacted_history_falls_back_to_a_fresh_snapshot(self):
        self.fake.scripts.put(([], fail(grpc.StatusCode.OUT_OF_RANGE, "too old", "HISTORY_COMPACTED", oldest_revision="40")))
        self.fake.scripts.put(([_snapshot(50)], "hang"))
        w = self.sr.watch("g", start_revision=3)
        msg = next(iter(w))
        w.cancel()
        self.assertEqual(msg.WhichOneof("event"), "snapshot")
        self.assertTrue(msg.snapshot.resync)
        self.assertEqual(self.fake.watch_requests[0].start_revision, 3)
        self.assertFalse(self.fake.watch_requests[1].HasField("start_revision"))

    def test_a_restarted_server_behind_our_revision_brings_a_fresh_snapshot(self):
        self.fake.scripts.put(([_snapshot(90)], None))  # server ends the stream (graceful stop)
        self.fake.scripts.put(([], fail(grpc.StatusCode.INVALID_ARGUMENT, "too new", "REVISION_AHEAD", field="start_revision")))
        self.fake.scripts.put(([_snapshot(4)], "hang"))
        w = self.sr.watch("g", initial_backoff=0.01)
        it = iter(w)
        self.assertEqual(next(it).revision, 90)
        fresh = next(it)
        self.assertEqual((fresh.revision, fresh.snapshot.resync), (4, True))
        w.cancel()
        starts = [r.start_revision if r.HasField("start_revision") else None for r in self.fake.watch_requests]
        self.assertEqual(starts, [None, 90, None])

    def test_another_registry_answering_a_resume_brings_a_fresh_snapshot(self):
        self.fake.scripts.put(([_snapshot(5), _changed(6, -1, 1)], fail(grpc.StatusCode.UNAVAILABLE, "gone"), "reg-A"))
        self.fake.scripts.put(([_changed(7, 1, -1)], "hang", "reg-B"))  # revision 7 of another registry
        self.fake.scripts.put(([_snapshot(3)], "hang", "reg-B"))
        w = self.sr.watch("g", initial_backoff=0.01)
        got = []
        for msg in w:
            got.append((msg.WhichOneof("event"), msg.revision, msg.snapshot.resync))
            if len(got) == 3:
                w.cancel()
        self.assertEqual(got, [("snapshot", 5, False), ("status_changed", 6, False), ("snapshot", 3, True)])
        starts = [r.start_revision if r.HasField("start_revision") else None for r in self.fake.watch_requests]
        self.assertEqual(starts, [None, 6, None])

    def test_a_callers_mistake_is_raised_not_retried(self):
        self.fake.scripts.put(([], fail(grpc.StatusCode.INVALID_ARGUMENT, "identifier: `all` is not allowed", "NAME_RESERVED")))
        with self.assertRaises(SrError) as e:
            for _ in self.sr.watch("g", "all"):
                pass
        self.assertEqual(e.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
        self.assertEqual(e.exception.reason, "NAME_RESERVED")
        self.assertEqual(len(self.fake.watch_requests), 1)

    def test_the_fallback_goes_by_the_reason_never_the_code_or_message(self):
        # A resumed watch meets the old codes and words without a reason: raised, no fresh snapshot.
        for code, message in (
            (grpc.StatusCode.INVALID_ARGUMENT, "start_revision: 90 is above the current revision 4"),
            (grpc.StatusCode.OUT_OF_RANGE, "start_revision: 3 is older than the history"),
        ):
            self.fake.scripts.put(([_snapshot(90)], None))
            self.fake.scripts.put(([], fail(code, message)))
            it = iter(self.sr.watch("g", initial_backoff=0.01))
            self.assertEqual(next(it).revision, 90)
            with self.assertRaises(SrError) as e:
                next(it)
            self.assertEqual((e.exception.code(), e.exception.reason), (code, ""))
        # REVISION_AHEAD on the caller's own start_revision is the caller's mistake.
        self.fake.scripts.put(([], fail(grpc.StatusCode.INVALID_ARGUMENT, "too new", "REVISION_AHEAD")))
        with self.assertRaises(SrError) as e:
            next(iter(self.sr.watch("g", start_revision=99)))
        self.assertEqual(e.exception.reason, "REVISION_AHEAD")
        self.assertEqual(len(self.fake.watch_requests), 5)

    def test_without_resume_a_compacted_history_is_raised_with_its_oldest_revision(self):
        self.fake.scripts.put(([], fail(grpc.StatusCode.OUT_OF_RANGE, "too old", "HISTORY_COMPACTED",
                                        field="start_revision", oldest_revision="40")))
        with self.assertRaises(SrError) as e:
            next(iter(self.sr.watch("g", start_revision=3, resume=False)))
        self.assertEqual((e.exception.reason, e.exception.oldest_revision), ("HISTORY_COMPACTED", 40))
        # A stream the server ends, or a dropped one, is not called again either.
        self.fake.scripts.put(([_snapshot(5)], None))
        self.assertEqual([m.revision for m in self.sr.watch("g", resume=False)], [5])
        self.fake.scripts.put(([], fail(grpc.StatusCode.UNAVAILABLE, "gone")))
        with self.assertRaises(SrError) as e:
            list(self.sr.watch("g", resume=False))
        self.assertEqual(e.exception.code(), grpc.StatusCode.UNAVAILABLE)
        self.assertEqual(len(self.fake.watch_requests), 3)

    def test_errors_carry_the_reason_and_facts_the_server_sent(self):
        with self.assertRaises(SrError) as e:
            self.sr.check("nope")
        err = e.exception
        self.assertIsInstance(err, grpc.RpcError)
        self.assertEqual((err.code(), err.details()), (grpc.StatusCode.NOT_FOUND, "group 'nope' not found"))
        self.assertEqual((err.reason, err.domain, err.metadata), ("GROUP_NOT_FOUND", "sr.v1", {"group": "nope"}))
        self.assertEqual(err.resource, Resource("sr.v1.Group", "nope"))
        self.assertIsNone(err.oldest_revision)
        self.assertEqual(str(err), "NOT_FOUND (GROUP_NOT_FOUND): group 'nope' not found")
        self.assertIn(("grpc-status-details-bin", err.error.trailing_metadata()[0][1]), err.trailing_metadata())
        with self.assertRaises(SrError) as e:
            self.sr.set_status("g", 0)
        self.assertEqual(e.exception.field_violations, [FieldViolation("status", "status: must not be 0")])
        self.assertEqual(e.exception.metadata, {"field": "status"})
        # The raw stub raises grpc's own errors: reason_of and error_of read them.
        with self.assertRaises(grpc.RpcError) as e:
            self.sr.stub.CheckStatus(sr_pb2.CheckStatusRequest(group="nope"), timeout=TIMEOUT)
        self.assertNotIsInstance(e.exception, SrError)
        self.assertEqual(reason_of(e.exception), "GROUP_NOT_FOUND")
        self.assertEqual(error_of(e.exception).metadata, {"group": "nope"})
        self.assertIs(error_of(err), err)
        # Details describing another answer than the call's, or none at all: no reason.
        for group, code in (("rewritten", grpc.StatusCode.UNAVAILABLE), ("plain", grpc.StatusCode.INTERNAL)):
            with self.assertRaises(SrError) as e:
                self.sr.check(group)
            self.assertEqual((e.exception.code(), e.exception.reason, e.exception.metadata), (code, "", {}))
        self.assertEqual(str(e.exception), "INTERNAL: internal error")
        self.assertEqual(reason_of(ValueError("not a call")), "")

    def test_max_retries_bounds_consecutive_failures_with_growing_capped_jittered_delays(self):
        for _ in range(4):
            self.fake.scripts.put(([], fail(grpc.StatusCode.UNAVAILABLE, "down")))
        delays = []
        with self.assertRaises(grpc.RpcError) as e:
            for _ in self.sr.watch("g", initial_backoff=0.004, max_backoff=0.01, max_retries=3, on_retry=lambda _e, d: delays.append(d)):
                pass
        self.assertEqual(e.exception.code(), grpc.StatusCode.UNAVAILABLE)
        self.assertEqual(len(self.fake.watch_requests), 4)
        self.assertEqual(len(delays), 3)
        for d, cap in zip(delays, (0.004, 0.008, 0.01)):
            self.assertTrue(0 <= d <= cap, (d, cap))

    def test_close_ends_a_blocked_watch(self):
        self.fake.scripts.put(([_snapshot(1)], "hang"))
        w = self.sr.watch("g")
        first, done = threading.Event(), threading.Event()
        got = []

        def consume():
            for msg in w:
                got.append(msg.revision)
                first.set()
            done.set()

        threading.Thread(target=consume, daemon=True).start()
        self.assertTrue(first.wait(TIMEOUT))
        self.sr.close()
        self.assertTrue(done.wait(TIMEOUT), "the watch did not end after close()")
        self.assertEqual(got, [1])


# Skipped locally without openssl; in CI (CI=true) a missing openssl fails instead.
_IN_CI = os.environ.get("CI", "") not in ("", "0", "false", "False", "FALSE")


@unittest.skipUnless(shutil.which("openssl") or _IN_CI, "skipped: install openssl to test TLS")
class TlsTest(unittest.TestCase):
    def test_tls_with_a_private_ca_and_a_token(self):
        with tempfile.TemporaryDirectory() as d:
            key, crt = os.path.join(d, "key.pem"), os.path.join(d, "crt.pem")
            subprocess.run(
                ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
                 "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-keyout", key, "-out", crt],
                check=True, capture_output=True,
            )
            with open(key, "rb") as f:
                key_pem = f.read()
            with open(crt, "rb") as f:
                crt_pem = f.read()
        fake = FakeServer()
        server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
        sr_pb2_grpc.add_StatusReportServiceServicer_to_server(fake, server)
        port = server.add_secure_port("127.0.0.1:0", grpc.ssl_server_credentials([(key_pem, crt_pem)]))
        server.start()
        try:
            with connect(f"localhost:{port}", root_certificates=crt_pem, token="t") as sr:
                self.assertEqual(sr.register_group("g").revision, 7)
            self.assertEqual(fake.metadata[-1].get("authorization"), "Bearer t")
            with connect(f"localhost:{port}", tls=True) as plain:  # the system roots do not trust it
                with self.assertRaises(grpc.RpcError) as e:
                    plain.register_group("g", timeout=TIMEOUT)
                self.assertEqual(e.exception.code(), grpc.StatusCode.UNAVAILABLE)
        finally:
            server.stop(None)


if __name__ == "__main__":
    unittest.main()
