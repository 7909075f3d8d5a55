"""A small helper over the generated sr.v1 stubs: connect, write, check, watch.

Everything the helper does not wrap is one call away on ``Client.stub`` (the
generated ``StatusReportServiceStub``), with the same channel, token and
options.
"""

from __future__ import annotations

import collections
import threading
import time
import weakref
from types import TracebackType
from typing import Any, Callable, Iterator, Optional, Type, cast

import grpc

from . import _core
from ._core import REGISTRY_ID_HEADER, RETRYABLE_CODES, ChannelOptions, RetryCallback
from .errors import SrError, error_of
from .gen.sr.v1 import sr_pb2, sr_pb2_grpc

__all__ = ["Client", "Watch", "Publisher", "connect", "RETRYABLE_CODES", "REGISTRY_ID_HEADER"]


class _CallDetails(
    collections.namedtuple(
        "_CallDetails",
        ("method", "timeout", "metadata", "credentials", "wait_for_ready", "compression"),
    ),
    grpc.ClientCallDetails,  # type: ignore[misc]  # grpc has no stubs here
):
    pass


class _BearerToken(
    grpc.UnaryUnaryClientInterceptor,  # type: ignore[misc]
    grpc.UnaryStreamClientInterceptor,  # type: ignore[misc]
    grpc.StreamUnaryClientInterceptor,  # type: ignore[misc]
    grpc.StreamStreamClientInterceptor,  # type: ignore[misc]
):
    """Adds ``authorization: Bearer <token>`` to every call's metadata."""

    def __init__(self, token: str) -> None:
        self._header = ("authorization", "Bearer " + token)

    def _details(self, details: Any) -> Any:
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

    def intercept_unary_unary(self, continuation: Callable[..., Any], client_call_details: Any, request: Any) -> Any:
        return continuation(self._details(client_call_details), request)

    def intercept_unary_stream(self, continuation: Callable[..., Any], client_call_details: Any, request: Any) -> Any:
        return continuation(self._details(client_call_details), request)

    def intercept_stream_unary(self, continuation: Callable[..., Any], client_call_details: Any, request_iterator: Any) -> Any:
        return continuation(self._details(client_call_details), request_iterator)

    def intercept_stream_stream(self, continuation: Callable[..., Any], client_call_details: Any, request_iterator: Any) -> Any:
        return continuation(self._details(client_call_details), request_iterator)


def connect(
    target: str,
    *,
    tls: bool = False,
    root_certificates: Optional[bytes] = None,
    private_key: Optional[bytes] = None,
    certificate_chain: Optional[bytes] = None,
    token: Optional[str] = None,
    options: ChannelOptions = (),
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
    opts = _core.channel_options(options)
    credentials = _core.channel_credentials(tls, root_certificates, private_key, certificate_chain)
    if credentials is not None:
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

    def __init__(self, channel: Any, *, token: Optional[str] = None) -> None:
        self._raw_channel = channel
        self.channel = grpc.intercept_channel(channel, _BearerToken(token)) if token else channel
        #: The generated ``StatusReportServiceStub``, for every RPC.
        self.stub = sr_pb2_grpc.StatusReportServiceStub(self.channel)  # type: ignore[no-untyped-call]
        self._health: Any = None
        self._closed = threading.Event()
        self._watches: "weakref.WeakSet[Watch]" = weakref.WeakSet()
        self._publishers: "weakref.WeakSet[Publisher]" = weakref.WeakSet()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, exc_type: Optional[Type[BaseException]], exc: Optional[BaseException], tb: Optional[TracebackType]) -> None:
        self.close()

    def close(self) -> None:
        """Closes the channel; running calls, watches and publishers end."""
        self._closed.set()
        for w in list(self._watches):
            w.cancel()
        for p in list(self._publishers):
            p.stop()
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
        req = _core.registration(group, None, status, details, report_capacity)
        return cast(sr_pb2.RegisterGroupResponse, _unary(self.stub.RegisterGroup, req, timeout))

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
        req = _core.registration(group, identifier, status, details, report_capacity)
        return cast(sr_pb2.RegisterIdentifierResponse, _unary(self.stub.RegisterIdentifier, req, timeout))

    def set_status(
        self,
        group: str,
        status: int,
        details: Optional[str] = None,
        *,
        identifier: str = "",
        ttl: Optional[float] = None,
        timeout: Optional[float] = None,
    ) -> sr_pb2.SetStatusResponse:
        """Sets a status (> 0 ready, < 0 not ready, never 0) and its details;
        ``details=None`` clears them, ``""`` stores empty details. ``ttl``
        (seconds, 1 to 30 days) arms the identifier's lease: see
        :meth:`publish`, which keeps it alive."""
        req = _core.set_status_request(group, status, details, identifier, ttl)
        return cast(sr_pb2.SetStatusResponse, _unary(self.stub.SetStatus, req, timeout))

    def refresh_lease(self, group: str, identifier: str = "", *, timeout: Optional[float] = None) -> sr_pb2.RefreshLeaseResponse:
        """Restarts the identifier's armed lease without writing anything
        (no revision); ``LEASE_NOT_ARMED`` when none is armed."""
        req = sr_pb2.RefreshLeaseRequest(group=group, identifier=identifier)
        return cast(sr_pb2.RefreshLeaseResponse, _unary(self.stub.RefreshLease, req, timeout))

    def publish(
        self,
        group: str,
        status: int,
        details: Optional[str] = None,
        *,
        ttl: float,
        identifier: str = "",
        on_lost: Optional[Callable[[SrError], None]] = None,
        timeout: Optional[float] = None,
    ) -> "Publisher":
        """Sets the status once with a lease of ``ttl`` seconds, then keeps
        the lease alive from a daemon thread (:class:`Publisher`) until
        stopped. The SetStatus error, if any, is raised here."""
        response = self.set_status(group, status, details, identifier=identifier, ttl=ttl, timeout=timeout)
        p = Publisher(self, group, identifier, ttl, response, on_lost)
        self._publishers.add(p)
        return p

    def add_report(
        self, group: str, text: str, *, identifier: str = "", timeout: Optional[float] = None
    ) -> sr_pb2.AddReportResponse:
        """Appends a report to an identifier's ring (the oldest is dropped
        when full)."""
        req = sr_pb2.AddReportRequest(group=group, identifier=identifier, text=text)
        return cast(sr_pb2.AddReportResponse, _unary(self.stub.AddReport, req, timeout))

    # -- reads ----------------------------------------------------------------

    def check(
        self, group: str, identifier: str = "", *, timeout: Optional[float] = None
    ) -> sr_pb2.CheckStatusResponse:
        """Whether an identifier (or, with ``identifier="all"``, the group
        aggregated) is ready: ``.ready`` and ``.status``."""
        req = sr_pb2.CheckStatusRequest(group=group, identifier=identifier)
        return cast(sr_pb2.CheckStatusResponse, _unary(self.stub.CheckStatus, req, timeout))

    def get_status(
        self, group: str, identifier: str = "", *, timeout: Optional[float] = None
    ) -> sr_pb2.GetStatusResponse:
        """One identifier's full status (``.status``) and the registry
        revision the answer reflects (``.revision``)."""
        req = sr_pb2.GetStatusRequest(group=group, identifier=identifier)
        return cast(sr_pb2.GetStatusResponse, _unary(self.stub.GetStatus, req, timeout))

    def health_check(self, service: str = "", *, timeout: Optional[float] = None) -> Any:
        """``grpc.health.v1.Health/Check``: ``""`` is the server itself,
        ``"group"`` a group aggregated, ``"group/identifier"`` one identifier.
        Returns the ``HealthCheckResponse`` (``.status`` is ``SERVING`` = 1 or
        ``NOT_SERVING`` = 2)."""
        # Imported on first use: these generated grpc.health.v1 messages clash
        # in protobuf's default pool with grpcio-health-checking's copy, so a
        # program that loads that package can still use the rest of sr_client.
        from .gen.health.v1 import health_pb2, health_pb2_grpc

        if self._health is None:
            self._health = health_pb2_grpc.HealthStub(self.channel)  # type: ignore[no-untyped-call]
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
        on_retry: Optional[RetryCallback] = None,
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
        w = Watch(
            self,
            _core.Resumer(
                _core.watch_request(group, identifier, include_details, include_reports, include_registrations),
                start_revision, resume, initial_backoff, max_backoff, max_retries, on_retry,
            ),
        )
        self._watches.add(w)
        return w


class Watch:
    """An iterable, resuming WatchStatus stream (see :meth:`Client.watch`).

    ``last_revision`` is the revision it would resume from (None before the
    first complete snapshot). :meth:`cancel`, from any thread, ends the
    iteration.
    """

    def __init__(self, client: Client, resumer: _core.Resumer) -> None:
        self._client = client
        self._resumer = resumer
        self._cancelled = threading.Event()
        self._lock = threading.Lock()
        self._call: Any = None

    @property
    def last_revision(self) -> Optional[int]:
        return self._resumer.last_revision

    def cancel(self) -> None:
        self._cancelled.set()
        with self._lock:
            call = self._call
        if call is not None:
            call.cancel()

    def _stopped(self) -> bool:
        return self._cancelled.is_set() or self._client._closed.is_set()

    def __iter__(self) -> Iterator[sr_pb2.WatchStatusResponse]:
        r = self._resumer
        while not self._stopped():
            call = self._client.stub.WatchStatus(r.request())
            with self._lock:
                self._call = call
            if self._stopped():
                call.cancel()
            delay: Optional[float] = 0.0
            try:
                first = True
                for msg in call:
                    if first:
                        first = False
                        if r.switched_registry(_header(call, REGISTRY_ID_HEADER)):
                            break  # a fresh snapshot at once
                    yield r.deliver(msg)
                else:
                    delay = r.after_end()
            except grpc.RpcError as e:
                if self._stopped():
                    return
                delay = r.after_error(e)
            finally:
                with self._lock:
                    self._call = None
                call.cancel()
            if delay is None or self._stopped() or (delay > 0 and self._wait(delay)):
                return

    def _wait(self, delay: float) -> bool:
        """Waits ``delay`` seconds (True when cancelled meanwhile) while
        the channel reconnects: grpcio only makes progress on a connection
        while something polls the channel, and a call failing fast on a
        channel in TRANSIENT_FAILURE does not, which would leave the new
        connection to gRPC's 5 s backup poller."""
        channel = self._client._raw_channel

        def connectivity(_state: Any) -> None:
            pass

        try:
            channel.subscribe(connectivity, try_to_connect=True)
        except ValueError:  # closed channel
            return True
        try:
            return self._cancelled.wait(delay)
        finally:
            channel.unsubscribe(connectivity)


class Publisher:
    """Keeps one identifier's status alive with a lease (see
    :meth:`Client.publish`): a daemon thread calls RefreshLease every ttl/3
    and never writes the status again, so it never overwrites what another
    writer set meanwhile. When the process dies the refreshes stop with it
    and the server marks the status expired after ttl.

    It stops by itself when the lease is lost (``LEASE_NOT_ARMED``: the lease
    ran out or another writer disarmed it; ``NOT_FOUND``: the identifier was
    unregistered; or no successful refresh for a whole ttl): ``error`` is then
    that :class:`~sr_client.SrError` and ``on_lost(error)`` is called from
    its thread. Transient errors (``UNAVAILABLE``, ...) are retried while the
    lease still runs. Use it as a context manager, or call :meth:`stop`.
    """

    def __init__(
        self,
        client: Client,
        group: str,
        identifier: str,
        ttl: float,
        response: sr_pb2.SetStatusResponse,
        on_lost: Optional[Callable[[SrError], None]],
    ) -> None:
        #: The answer to the SetStatus that armed the lease.
        self.response = response
        #: Why it stopped by itself (None while running, or after stop()).
        self.error: Optional[SrError] = None
        self._timer = _core.LeaseTimer(ttl)
        self._stopping = threading.Event()
        self._thread = threading.Thread(
            target=self._run, args=(client, group, identifier, on_lost), name=f"sr-publisher {group}/{identifier or 'main'}", daemon=True
        )
        self._thread.start()

    def _run(self, client: Client, group: str, identifier: str, on_lost: Optional[Callable[[SrError], None]]) -> None:
        delay = self._timer.interval
        while not self._stopping.wait(delay):
            sent = time.monotonic()
            error: Optional[grpc.RpcError] = None
            try:
                # A hung call must not outlive the lease: bound it by the interval.
                client.refresh_lease(group, identifier, timeout=self._timer.interval)
            except grpc.RpcError as e:
                error = e
            if self._stopping.is_set():
                return
            try:
                delay = self._timer.after(sent, error)
            except SrError as lost:
                self.error = lost
                if on_lost is not None:
                    on_lost(lost)
                return

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def wait(self, timeout: Optional[float] = None) -> bool:
        """Waits until the publisher stopped (True) or ``timeout`` passed."""
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def stop(self) -> None:
        """Stops refreshing (the lease then runs out ttl after the last
        refresh, unless another write re-arms it) and waits for the thread."""
        self._stopping.set()
        if threading.current_thread() is not self._thread:
            self._thread.join()

    def __enter__(self) -> "Publisher":
        return self

    def __exit__(self, exc_type: Optional[Type[BaseException]], exc: Optional[BaseException], tb: Optional[TracebackType]) -> None:
        self.stop()


def _unary(method: Any, request: Any, timeout: Optional[float]) -> Any:
    """Calls a generated stub's method (untyped: grpc has no stubs here)."""
    try:
        return method(request, timeout=timeout)
    except grpc.RpcError as e:
        raise error_of(e) from None


def _header(call: Any, name: str) -> Optional[str]:
    try:
        metadata = call.initial_metadata()
    except Exception:  # no metadata on this call object: skip the check
        return None
    return _core.header(metadata, name)
