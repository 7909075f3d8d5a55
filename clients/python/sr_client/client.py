"""A small helper over the generated sr.v1 stubs: connect, write, check, watch.

Everything the helper does not wrap is one call away on ``Client.stub`` (the
generated ``StatusReportServiceStub``), with the same channel, token and
options.
"""

from __future__ import annotations

import collections
import random
import threading
import weakref
from typing import Iterator, Optional, Sequence, Tuple

import grpc

from .errors import error_of, reason_of
from .gen.sr.v1 import sr_pb2, sr_pb2_grpc

__all__ = ["Client", "Watch", "connect", "RETRYABLE_CODES", "REGISTRY_ID_HEADER"]

#: Initial metadata of a WatchStatus stream naming the registry instance
#: behind it; a resume point is only used with the registry it came from.
REGISTRY_ID_HEADER = "sr-registry-id"

#: Status codes after which a watch reconnects (with backoff) instead of
#: raising: the connection or the server went away, or a limit was hit that
#: may clear. Anything else (INVALID_ARGUMENT, PERMISSION_DENIED,
#: UNAUTHENTICATED, ...) is the caller's to handle and is raised.
RETRYABLE_CODES = frozenset(
    {
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.DEADLINE_EXCEEDED,
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        grpc.StatusCode.ABORTED,
        grpc.StatusCode.INTERNAL,
        grpc.StatusCode.UNKNOWN,
        grpc.StatusCode.CANCELLED,  # by the server (a forced stop); our own cancel ends the watch
    }
)


class _CallDetails(
    collections.namedtuple(
        "_CallDetails",
        ("method", "timeout", "metadata", "credentials", "wait_for_ready", "compression"),
    ),
    grpc.ClientCallDetails,
):
    pass


class _BearerToken(
    grpc.UnaryUnaryClientInterceptor,
    grpc.UnaryStreamClientInterceptor,
    grpc.StreamUnaryClientInterceptor,
    grpc.StreamStreamClientInterceptor,
):
    """Adds ``authorization: Bearer <token>`` to every call's metadata."""

    def __init__(self, token: str) -> None:
        self._header = ("authorization", "Bearer " + token)

    def _details(self, details: grpc.ClientCallDetails) -> grpc.ClientCallDetails:
        metadata = [m for m in (details.metadata or ()) if m[0] != "authorization"]
        metadata.append(self._header)
        return _CallDetails(
            details.method,
            details.timeout,
            metadata,
            details.credentials,
            getattr(details, "wait_for_ready", None),
            getattr(details, "compression", None),
        )

    def intercept_unary_unary(self, continuation, client_call_details, request):
        return continuation(self._details(client_call_details), request)

    def intercept_unary_stream(self, continuation, client_call_details, request):
        return continuation(self._details(client_call_details), request)

    def intercept_stream_unary(self, continuation, client_call_details, request_iterator):
        return continuation(self._details(client_call_details), request_iterator)

    def intercept_stream_stream(self, continuation, client_call_details, request_iterator):
        return continuation(self._details(client_call_details), request_iterator)


def connect(
    target: str,
    *,
    tls: bool = False,
    root_certificates: Optional[bytes] = None,
    private_key: Optional[bytes] = None,
    certificate_chain: Optional[bytes] = None,
    token: Optional[str] = None,
    options: Sequence[Tuple[str, object]] = (),
) -> "Client":
    """Opens a channel to an SR server and returns a :class:`Client`.

    ``target`` is ``host:port``. The channel is plaintext unless ``tls`` is
    true or certificates are given: ``root_certificates`` (PEM) to trust a
    private CA (default: the system roots), ``private_key`` and
    ``certificate_chain`` (PEM) for a client certificate. ``token``, when
    given, is sent as ``authorization: Bearer <token>`` on every call (over a
    plaintext channel it crosses the network in clear: use TLS off-host).
    The channel connects lazily; the first call reports an unreachable
    server as ``UNAVAILABLE``. ``options`` are gRPC channel arguments; by
    default reconnection attempts are at most 10 s apart (gRPC's own default
    is 120 s, which would hold a watch back long after the server is back).
    """
    opts = list(options)
    if not any(name == "grpc.max_reconnect_backoff_ms" for name, _ in opts):
        opts.append(("grpc.max_reconnect_backoff_ms", 10_000))
    if tls or root_certificates or private_key or certificate_chain:
        credentials = grpc.ssl_channel_credentials(
            root_certificates=root_certificates,
            private_key=private_key,
            certificate_chain=certificate_chain,
        )
        channel = grpc.secure_channel(target, credentials, options=opts)
    else:
        channel = grpc.insecure_channel(target, options=opts)
    return Client(channel, token=token)


class Client:
    """An SR client over one gRPC channel. Use it as a context manager or call
    :meth:`close`. Methods are thread-safe; failed calls raise
    :class:`~sr_client.SrError`, a ``grpc.RpcError`` (``e.code()``,
    ``e.details()``) with the reason the server gave (``e.reason``).

    ``identifier`` defaults to ``""``, which the server reads as ``main``.
    """

    def __init__(self, channel: grpc.Channel, *, token: Optional[str] = None) -> None:
        self._raw_channel = channel
        self.channel = grpc.intercept_channel(channel, _BearerToken(token)) if token else channel
        #: The generated ``StatusReportServiceStub``, for every RPC.
        self.stub = sr_pb2_grpc.StatusReportServiceStub(self.channel)
        self._health = None
        self._closed = threading.Event()
        self._watches: "weakref.WeakSet[Watch]" = weakref.WeakSet()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Closes the channel; running calls and watches end."""
        self._closed.set()
        for w in list(self._watches):
            w.cancel()
        self._raw_channel.close()

    # -- writes ---------------------------------------------------------------

    def register_group(
        self,
        group: str,
        *,
        status: Optional[int] = None,
        details: Optional[str] = None,
        report_capacity: Optional[int] = None,
        timeout: Optional[float] = None,
    ) -> sr_pb2.RegisterGroupResponse:
        """Registers a public group with its ``main`` identifier. Idempotent:
        ``created`` is false when it existed (``status``/``details`` then do
        not apply)."""
        req = sr_pb2.RegisterGroupRequest(group=group)
        _set_optional(req, status=status, details=details, report_capacity=report_capacity)
        return _unary(self.stub.RegisterGroup, req, timeout)

    def register_identifier(
        self,
        group: str,
        identifier: str,
        *,
        status: Optional[int] = None,
        details: Optional[str] = None,
        report_capacity: Optional[int] = None,
        timeout: Optional[float] = None,
    ) -> sr_pb2.RegisterIdentifierResponse:
        """Registers an identifier in a public group. Idempotent, like
        :meth:`register_group`."""
        req = sr_pb2.RegisterIdentifierRequest(group=group, identifier=identifier)
        _set_optional(req, status=status, details=details, report_capacity=report_capacity)
        return _unary(self.stub.RegisterIdentifier, req, timeout)

    def set_status(
        self,
        group: str,
        status: int,
        details: Optional[str] = None,
        *,
        identifier: str = "",
        timeout: Optional[float] = None,
    ) -> sr_pb2.SetStatusResponse:
        """Sets a status (> 0 ready, < 0 not ready, never 0) and its details;
        ``details=None`` clears them, ``""`` stores empty details."""
        req = sr_pb2.SetStatusRequest(group=group, identifier=identifier, status=status)
        if details is not None:
            req.details = details
        return _unary(self.stub.SetStatus, req, timeout)

    def add_report(
        self, group: str, text: str, *, identifier: str = "", timeout: Optional[float] = None
    ) -> sr_pb2.AddReportResponse:
        """Appends a report to an identifier's ring (the oldest is dropped
        when full)."""
        req = sr_pb2.AddReportRequest(group=group, identifier=identifier, text=text)
        return _unary(self.stub.AddReport, req, timeout)

    # -- reads ----------------------------------------------------------------

    def check(
        self, group: str, identifier: str = "", *, timeout: Optional[float] = None
    ) -> sr_pb2.CheckStatusResponse:
        """Whether an identifier (or, with ``identifier="all"``, the group
        aggregated) is ready: ``.ready`` and ``.status``."""
        req = sr_pb2.CheckStatusRequest(group=group, identifier=identifier)
        return _unary(self.stub.CheckStatus, req, timeout)

    def get_status(
        self, group: str, identifier: str = "", *, timeout: Optional[float] = None
    ) -> sr_pb2.GetStatusResponse:
        """One identifier's full status (``.status``) and the registry
        revision the answer reflects (``.revision``)."""
        req = sr_pb2.GetStatusRequest(group=group, identifier=identifier)
        return _unary(self.stub.GetStatus, req, timeout)

    def health_check(self, service: str = "", *, timeout: Optional[float] = None):
        """``grpc.health.v1.Health/Check``: ``""`` is the server itself,
        ``"group"`` a group aggregated, ``"group/identifier"`` one identifier.
        Returns the ``HealthCheckResponse`` (``.status`` is ``SERVING`` = 1 or
        ``NOT_SERVING`` = 2)."""
        # Imported on first use: these generated grpc.health.v1 messages clash
        # in protobuf's default pool with grpcio-health-checking's copy, so a
        # program that loads that package can still use the rest of sr_client.
        from .gen.health.v1 import health_pb2, health_pb2_grpc

        if self._health is None:
            self._health = health_pb2_grpc.HealthStub(self.channel)
        return _unary(self._health.Check, health_pb2.HealthCheckRequest(service=service), timeout)

    def watch(
        self,
        group: str = "",
        identifier: str = "",
        *,
        include_details: bool = False,
        include_reports: bool = False,
        include_registrations: bool = False,
        start_revision: Optional[int] = None,
        resume: bool = True,
        initial_backoff: float = 0.2,
        max_backoff: float = 10.0,
        max_retries: Optional[int] = None,
        on_retry=None,
    ) -> "Watch":
        """Streams changes, reconnecting after a dropped connection.

        Returns a :class:`Watch`: iterate it for ``WatchStatusResponse``
        messages. Without ``start_revision`` a snapshot comes first (one or
        more ``snapshot`` messages, the final one with ``last`` true), then
        the changes.

        When the stream fails with a code in :data:`RETRYABLE_CODES` (or the
        server ends it), the watch waits a random delay (full jitter: between
        0 and ``initial_backoff`` seconds, doubling with each consecutive
        failure up to ``max_backoff``) and calls WatchStatus again with
        ``start_revision`` = the last revision it delivered, so no change is
        missed or repeated.

        When that is impossible it starts over with a fresh snapshot whose
        parts carry ``resync`` true: drop what you built and rebuild from it.
        That happens when the server no longer holds the history (reason
        ``HISTORY_COMPACTED``), when a restarted server is behind that
        revision (``REVISION_AHEAD``, after a resume of its own) or is another
        registry instance (its ``sr-registry-id`` header differs), and when
        the connection dropped in the middle of a snapshot.

        Other errors (a bad request, a missing permission) are raised as
        :class:`~sr_client.SrError`. With ``resume=False`` it makes one call
        only: every error is raised (``HISTORY_COMPACTED`` with its
        ``oldest_revision`` included) and a stream the server ends ends the
        iteration.
        ``max_retries`` (default: forever) bounds consecutive failed attempts;
        ``on_retry(error, delay)`` is called before each wait (``error`` is
        None when the server ended the stream). :meth:`Watch.cancel` or
        :meth:`close` end the iteration.
        """
        req = sr_pb2.WatchStatusRequest(
            group=group,
            identifier=identifier,
            include_details=include_details,
            include_reports=include_reports,
            include_registrations=include_registrations,
        )
        w = Watch(
            self,
            req,
            start_revision=start_revision,
            resume=resume,
            initial_backoff=initial_backoff,
            max_backoff=max_backoff,
            max_retries=max_retries,
            on_retry=on_retry,
        )
        self._watches.add(w)
        return w


class Watch:
    """An iterable, resuming WatchStatus stream (see :meth:`Client.watch`).

    ``last_revision`` is the revision it would resume from (None before the
    first complete snapshot). :meth:`cancel`, from any thread, ends the
    iteration.
    """

    def __init__(
        self,
        client: Client,
        request: sr_pb2.WatchStatusRequest,
        *,
        start_revision: Optional[int],
        resume: bool,
        initial_backoff: float,
        max_backoff: float,
        max_retries: Optional[int],
        on_retry,
    ) -> None:
        self._client = client
        self._request = request
        self.last_revision: Optional[int] = start_revision
        self._resume = resume
        self._initial_backoff = initial_backoff
        self._max_backoff = max_backoff
        self._max_retries = max_retries
        self._on_retry = on_retry
        self._cancelled = threading.Event()
        self._lock = threading.Lock()
        self._call = None
        self._random = random.Random()

    def cancel(self) -> None:
        self._cancelled.set()
        with self._lock:
            call = self._call
        if call is not None:
            call.cancel()

    def _stopped(self) -> bool:
        return self._cancelled.is_set() or self._client._closed.is_set()

    def __iter__(self) -> Iterator[sr_pb2.WatchStatusResponse]:
        failures = 0
        # True once last_revision came from this stream (not the caller): a
        # REVISION_AHEAD on resuming then means the server's history no
        # longer reaches it (a restarted, in-memory server).
        resumed_by_us = False
        registry_id = None  # the sr-registry-id the resume point belongs to
        in_snapshot = False
        resync = False  # the next snapshot replaces what was delivered
        while not self._stopped():
            req = sr_pb2.WatchStatusRequest()
            req.CopyFrom(self._request)
            if self.last_revision is not None:
                req.start_revision = self.last_revision
            call = self._client.stub.WatchStatus(req)
            with self._lock:
                self._call = call
            if self._stopped():
                call.cancel()
            error = None
            first = True
            try:
                for msg in call:
                    if first:
                        first = False
                        answered_by = _header(call, REGISTRY_ID_HEADER)
                        if registry_id is not None and answered_by is not None and answered_by != registry_id and self.last_revision is not None:
                            # Another registry (a restarted server): its
                            # revisions mean something else. Start over.
                            registry_id, self.last_revision, resumed_by_us, resync = None, None, False, True
                            break
                        registry_id = answered_by or registry_id
                    failures = 0
                    if msg.WhichOneof("event") == "snapshot":
                        in_snapshot = not msg.snapshot.last
                        if resync:
                            msg.snapshot.resync = True
                        if msg.snapshot.last:
                            resync = False
                            self.last_revision, resumed_by_us = msg.revision, True
                    elif not in_snapshot:
                        self.last_revision, resumed_by_us = msg.revision, True
                    yield msg
                else:
                    if not self._resume:
                        return
                    error = _ENDED
            except grpc.RpcError as e:
                if self._stopped():
                    return
                error = error_of(e)
                if not self._resume:
                    raise error from None
                reason = reason_of(error)
                if self.last_revision is not None and (
                    reason == "HISTORY_COMPACTED" or (reason == "REVISION_AHEAD" and resumed_by_us)
                ):
                    # The history no longer reaches the resume point: start
                    # again from a snapshot, now.
                    self.last_revision, resumed_by_us, resync = None, False, True
                    continue
                if error.code() not in RETRYABLE_CODES:
                    raise error from None
            finally:
                with self._lock:
                    self._call = None
                call.cancel()
            if self._stopped():
                return
            if error is None:
                continue  # switched registries: a fresh snapshot at once
            if in_snapshot:
                # Dropped inside a snapshot: its parts so far are not a whole
                # state, so a whole new one (marked resync) must come.
                in_snapshot, self.last_revision, resumed_by_us, resync = False, None, False, True
            failures += 1
            if self._max_retries is not None and failures > self._max_retries:
                if error is not _ENDED:
                    raise error
                return
            cap = min(self._max_backoff, self._initial_backoff * (2 ** min(failures - 1, 30)))
            delay = self._random.uniform(0, cap)
            if self._on_retry is not None:
                self._on_retry(None if error is _ENDED else error, delay)
            if self._wait(delay):
                return

    def _wait(self, delay: float) -> bool:
        """Waits ``delay`` seconds (True when cancelled meanwhile) while
        the channel reconnects: grpcio only makes progress on a connection
        while something polls the channel, and a call failing fast on a
        channel in TRANSIENT_FAILURE does not, which would leave the new
        connection to gRPC's 5 s backup poller."""
        channel = self._client._raw_channel

        def connectivity(_state) -> None:
            pass

        try:
            channel.subscribe(connectivity, try_to_connect=True)
        except ValueError:  # closed channel
            return True
        try:
            return self._cancelled.wait(delay)
        finally:
            channel.unsubscribe(connectivity)


_ENDED = object()  # the server ended the stream (a graceful stop)


def _unary(method, request, timeout: Optional[float]):
    try:
        return method(request, timeout=timeout)
    except grpc.RpcError as e:
        raise error_of(e) from None


def _header(call, name: str) -> Optional[str]:
    try:
        for key, value in call.initial_metadata() or ():
            if key == name:
                return value if isinstance(value, str) else None
    except Exception:  # no metadata on this call object: skip the check
        return None
    return None


def _set_optional(req, **fields) -> None:
    for name, value in fields.items():
        if value is not None:
            setattr(req, name, value)
