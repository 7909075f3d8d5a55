"""Unit tests of the sr_client helper against an in-process fake server.

Run: PYTHONPATH=clients/python /usr/bin/python3 -m unittest discover -s clients/python/tests
(the cross-language tests against the real server are in test/crosslang/).
"""

from __future__ import annotations

import asyncio
import os
import queue
import shutil
import subprocess
import tempfile
import threading
import time
import unittest
from concurrent import futures

import grpc

import sr_client.aio
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
        self.stream_cancelled = threading.Event()  # a WatchStatus the client cancelled
        self.sets = []
        # Every RefreshLease request goes to `refreshes`; each waits for its
        # answer from `refresh_answers` (None: success, else a fail(...)).
        self.refreshes = queue.Queue()
        self.refresh_answers = queue.Queue()

    def RefreshLease(self, request, context):
        self.refreshes.put(request)
        answer = self.refresh_answers.get(timeout=TIMEOUT)
        if answer is not None:
            abort(context, answer)
        return sr_pb2.RefreshLeaseResponse(revision=8)

    def _record(self, context):
        self.metadata.append(dict(context.invocation_metadata()))

    def RegisterGroup(self, request, context):
        self._record(context)
        return sr_pb2.RegisterGroupResponse(created=request.HasField("report_capacity"), revision=7)

    def SetStatus(self, request, context):
        self._record(context)
        self.sets.append(request)
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
        context.add_callback(self.stream_cancelled.set)
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


def serve(fake):
    """Starts a grpc server for ``fake``; returns it and its port."""
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
    sr_pb2_grpc.add_StatusReportServiceServicer_to_server(fake, server)
    health_pb2_grpc.add_HealthServicer_to_server(fake, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    return server, port


def answer_refresh(fake, answer=None):
    """Waits for the publisher's next RefreshLease and answers it."""
    request = fake.refreshes.get(timeout=TIMEOUT)
    fake.refresh_answers.put(answer)
    return request


LEASE_NOT_ARMED = fail(grpc.StatusCode.FAILED_PRECONDITION, "no lease", "LEASE_NOT_ARMED")


class HelperTest(unittest.TestCase):
    def setUp(self):
        self.fake = FakeServer()
        self.server, self.port = serve(self.fake)
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


    def test_a_publisher_sets_the_status_once_then_only_refreshes_its_lease(self):
        p = self.sr.publish("g", 3, "up", ttl=0.3, identifier="db")
        began = time.monotonic()
        for _ in range(3):
            r = answer_refresh(self.fake)
            self.assertEqual((r.group, r.identifier, r.HasField("ttl")), ("g", "db", False))
        # Every ttl/3: three refreshes take about one ttl, never much less.
        self.assertGreaterEqual(time.monotonic() - began, 0.25)
        p.stop()
        self.assertIsNone(p.error)
        self.assertFalse(p.running)
        self.assertEqual(len(self.fake.sets), 1, "a publisher writes its status once")
        first = self.fake.sets[0]
        self.assertEqual((first.status, first.details, first.ttl.ToMilliseconds()), (3, "up", 300))
        self.assertTrue(self.fake.refreshes.empty(), "a refresh after stop()")

    def test_a_publisher_retries_a_transient_error_and_surfaces_a_lost_lease(self):
        lost = []
        p = self.sr.publish("g", 1, ttl=0.3, on_lost=lost.append)
        answer_refresh(self.fake, fail(grpc.StatusCode.UNAVAILABLE, "blip"))
        answer_refresh(self.fake)  # retried, and the lease lives on
        answer_refresh(self.fake, LEASE_NOT_ARMED)
        self.assertTrue(p.wait(TIMEOUT), "the publisher kept going after LEASE_NOT_ARMED")
        self.assertEqual(p.error.reason, "LEASE_NOT_ARMED")
        self.assertEqual(lost, [p.error])
        self.assertEqual(len(self.fake.sets), 1)

    def test_a_publisher_gives_up_once_no_refresh_got_through_for_a_whole_ttl(self):
        p = self.sr.publish("g", 1, ttl=0.3)
        answered = 0
        while p.running:
            try:
                self.fake.refreshes.get(timeout=0.05)
            except queue.Empty:
                continue  # between retries, or it just stopped
            self.fake.refresh_answers.put(fail(grpc.StatusCode.UNAVAILABLE, "down"))
            answered += 1
        self.assertGreater(answered, 1, "a transient error is retried")
        # It stops before the lease could be thought alive past its ttl, with the last error.
        self.assertEqual(p.error.code(), grpc.StatusCode.UNAVAILABLE)


class AsyncioTest(unittest.IsolatedAsyncioTestCase):
    """sr_client.aio against the same fake server."""

    async def asyncSetUp(self):
        self.fake = FakeServer()
        self.server, port = serve(self.fake)
        self.sr = sr_client.aio.connect(f"127.0.0.1:{port}", token="s3cret")

    async def asyncTearDown(self):
        self.fake.release.set()
        await self.sr.close()
        self.server.stop(None)

    async def in_thread(self, f, *args):
        return await asyncio.get_running_loop().run_in_executor(None, f, *args)

    async def test_calls_carry_the_token_and_errors_their_reason(self):
        self.assertTrue((await self.sr.register_group("g", report_capacity=5)).created)
        self.assertEqual(self.fake.metadata[-1].get("authorization"), "Bearer s3cret")
        with self.assertRaises(SrError) as e:
            await self.sr.check("nope")
        self.assertEqual((e.exception.code(), e.exception.reason, e.exception.resource), (grpc.StatusCode.NOT_FOUND, "GROUP_NOT_FOUND", Resource("sr.v1.Group", "nope")))

    async def test_the_watch_resumes_from_the_last_revision_after_a_drop(self):
        self.fake.scripts.put(([_snapshot(1), _changed(2, -1, 1)], fail(grpc.StatusCode.UNAVAILABLE, "dropped")))
        self.fake.scripts.put(([_changed(3, 1, -1)], "hang"))
        got = []
        async with self.sr.watch("g", initial_backoff=0.01) as w:
            async for msg in w:
                got.append(msg.revision)
                if len(got) == 3:
                    break
        self.assertEqual(got, [1, 2, 3])
        self.assertEqual([r.start_revision if r.HasField("start_revision") else None for r in self.fake.watch_requests], [None, 2])

    async def test_cancelling_the_iterating_task_cancels_the_stream(self):
        self.fake.scripts.put(([_snapshot(1)], "hang"))
        first = asyncio.Event()

        async def consume():
            async for _ in self.sr.watch("g"):
                first.set()

        task = asyncio.ensure_future(consume())
        await asyncio.wait_for(first.wait(), TIMEOUT)
        task.cancel()
        with self.assertRaises(asyncio.CancelledError):
            await task
        # The server sees the call end: the stream is freed, not left open.
        self.assertTrue(await self.in_thread(self.fake.stream_cancelled.wait, TIMEOUT))

    async def test_a_publisher_task_refreshes_and_surfaces_a_lost_lease(self):
        p = await self.sr.publish("g", 1, "up", ttl=0.3)
        await self.in_thread(answer_refresh, self.fake)
        await self.in_thread(answer_refresh, self.fake, fail(grpc.StatusCode.NOT_FOUND, "gone", "GROUP_NOT_FOUND", group="g"))
        error = await asyncio.wait_for(p.wait(), TIMEOUT)
        self.assertEqual((error.code(), error.reason), (grpc.StatusCode.NOT_FOUND, "GROUP_NOT_FOUND"))
        self.assertFalse(p.running)
        self.assertEqual(len(self.fake.sets), 1)


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
