"""The asyncio client, on ``grpc.aio``: the blocking :class:`~sr_client.Client`'s
methods as coroutines, the resuming watch as an async iterator, and a
publisher that keeps its lease alive from a task.

    from sr_client.aio import connect

    async with connect("127.0.0.1:50051") as sr:
        await sr.register_group("billing")
        await sr.set_status("billing", 1, "running")
        async with sr.watch("billing") as watch:
            async for msg in watch:
                print(msg)

The watch's decisions (resume, backoff, resync) and the publisher's timing
are the blocking client's, shared in ``_core``; see :meth:`Client.watch` and
:meth:`Client.publish` for what they guarantee. Cancelling the task that
iterates a watch (or awaits a call) cancels its gRPC call, so the server
frees the stream at once.
"""

from __future__ import annotations

import asyncio
import time
import weakref
from types import TracebackType
from typing import Any, AsyncGenerator, Callable, Optional, Type, cast

import grpc
import grpc.aio

from . import _core
from ._core import REGISTRY_ID_HEADER, ChannelOptions, RetryCallback
from .errors import SrError, error_of
from .gen.sr.v1 import sr_pb2, sr_pb2_grpc

__all__ = ["AsyncClient", "AsyncWatch", "AsyncPublisher", "connect"]


class _BearerToken(grpc.aio.UnaryUnaryClientInterceptor, grpc.aio.UnaryStreamClientInterceptor):  # type: ignore[misc]
    """Adds ``authorization: Bearer <token>`` to every call's metadata."""

    def __init__(self, token: str) -> None:
        self._header = ("authorization", "Bearer " + token)

    def _details(self, details: Any) -> Any:
        metadata = [m for m in (details.metadata or ()) if m[0] != "authorization"]
        metadata.append(self._header)
        return grpc.aio.ClientCallDetails(details.method, details.timeout, metadata, details.credentials, details.wait_for_ready)

    async def intercept_unary_unary(self, continuation: Callable[..., Any], client_call_details: Any, request: Any) -> Any:
        return await continuation(self._details(client_call_details), request)

    async def intercept_unary_stream(self, continuation: Callable[..., Any], client_call_details: Any, request: Any) -> Any:
        return await continuation(self._details(client_call_details), request)


def connect(
    target: str,
    *,
    tls: bool = False,
    root_certificates: Optional[bytes] = None,
    private_key: Optional[bytes] = None,
    certificate_chain: Optional[bytes] = None,
    token: Optional[str] = None,
    options: ChannelOptions = (),
) -> "AsyncClient":
    """Opens a ``grpc.aio`` channel and returns an :class:`AsyncClient`; the
    arguments are :func:`sr_client.connect`'s. Call it with a running event
    loop (inside a coroutine)."""
    opts = _core.channel_options(options)
    interceptors = [_BearerToken(token)] if token else None
    credentials = _core.channel_credentials(tls, root_certificates, private_key, certificate_chain)
    if credentials is not None:
        channel = grpc.aio.secure_channel(target, credentials, options=opts, interceptors=interceptors)
    else:
        channel = grpc.aio.insecure_channel(target, options=opts, interceptors=interceptors)
    return AsyncClient(channel)


class AsyncClient:
    """An SR client over one ``grpc.aio`` channel, with the methods of
    :class:`sr_client.Client` as coroutines. Use it as an async context
    manager or await :meth:`close`. Failed calls raise
    :class:`~sr_client.SrError` with the server's reason."""

    def __init__(self, channel: Any) -> None:
        self.channel = channel
        #: The generated ``StatusReportServiceStub`` on this channel, for every RPC.
        self.stub = sr_pb2_grpc.StatusReportServiceStub(channel)  # type: ignore[no-untyped-call]
        self._health: Any = None
        self._closed = False
        self._watches: "weakref.WeakSet[AsyncWatch]" = weakref.WeakSet()
        self._publishers: "weakref.WeakSet[AsyncPublisher]" = weakref.WeakSet()

    async def __aenter__(self) -> "AsyncClient":
        return self

    async def __aexit__(self, exc_type: Optional[Type[BaseException]], exc: Optional[BaseException], tb: Optional[TracebackType]) -> None:
        await self.close()

    async def close(self) -> None:
        """Stops the publishers, ends the watches and closes the channel."""
        self._closed = True
        for p in list(self._publishers):
            await p.stop()
        for w in list(self._watches):
            w.cancel()
        await self.channel.close()

    async def register_group(
        self,
        group: str,
        *,
        status: Optional[int] = None,
        details: Optional[str] = None,
        report_capacity: Optional[int] = None,
        timeout: Optional[float] = None,
    ) -> sr_pb2.RegisterGroupResponse:
        """See :meth:`sr_client.Client.register_group`."""
        req = _core.registration(group, None, status, details, report_capacity)
        return cast(sr_pb2.RegisterGroupResponse, await _unary(self.stub.RegisterGroup, req, timeout))

    async def register_identifier(
        self,
        group: str,
        identifier: str,
        *,
        status: Optional[int] = None,
        details: Optional[str] = None,
        report_capacity: Optional[int] = None,
        timeout: Optional[float] = None,
    ) -> sr_pb2.RegisterIdentifierResponse:
        """See :meth:`sr_client.Client.register_identifier`."""
        req = _core.registration(group, identifier, status, details, report_capacity)
        return cast(sr_pb2.RegisterIdentifierResponse, await _unary(self.stub.RegisterIdentifier, req, timeout))

    async def set_status(
        self,
        group: str,
        status: int,
        details: Optional[str] = None,
        *,
        identifier: str = "",
        ttl: Optional[float] = None,
        timeout: Optional[float] = None,
    ) -> sr_pb2.SetStatusResponse:
        """See :meth:`sr_client.Client.set_status`."""
        req = _core.set_status_request(group, status, details, identifier, ttl)
        return cast(sr_pb2.SetStatusResponse, await _unary(self.stub.SetStatus, req, timeout))

    async def refresh_lease(self, group: str, identifier: str = "", *, timeout: Optional[float] = None) -> sr_pb2.RefreshLeaseResponse:
        """See :meth:`sr_client.Client.refresh_lease`."""
        req = sr_pb2.RefreshLeaseRequest(group=group, identifier=identifier)
        return cast(sr_pb2.RefreshLeaseResponse, await _unary(self.stub.RefreshLease, req, timeout))

    async def add_report(self, group: str, text: str, *, identifier: str = "", timeout: Optional[float] = None) -> sr_pb2.AddReportResponse:
        """See :meth:`sr_client.Client.add_report`."""
        req = sr_pb2.AddReportRequest(group=group, identifier=identifier, text=text)
        return cast(sr_pb2.AddReportResponse, await _unary(self.stub.AddReport, req, timeout))

    async def check(self, group: str, identifier: str = "", *, timeout: Optional[float] = None) -> sr_pb2.CheckStatusResponse:
        """See :meth:`sr_client.Client.check`."""
        req = sr_pb2.CheckStatusRequest(group=group, identifier=identifier)
        return cast(sr_pb2.CheckStatusResponse, await _unary(self.stub.CheckStatus, req, timeout))

    async def get_status(self, group: str, identifier: str = "", *, timeout: Optional[float] = None) -> sr_pb2.GetStatusResponse:
        """See :meth:`sr_client.Client.get_status`."""
        req = sr_pb2.GetStatusRequest(group=group, identifier=identifier)
        return cast(sr_pb2.GetStatusResponse, await _unary(self.stub.GetStatus, req, timeout))

    async def health_check(self, service: str = "", *, timeout: Optional[float] = None) -> Any:
        """See :meth:`sr_client.Client.health_check`."""
        # Imported on first use, as in the blocking client (a clash with
        # grpcio-health-checking's copy in protobuf's default pool).
        from .gen.health.v1 import health_pb2, health_pb2_grpc

        if self._health is None:
            self._health = health_pb2_grpc.HealthStub(self.channel)  # type: ignore[no-untyped-call]
        return await _unary(self._health.Check, health_pb2.HealthCheckRequest(service=service), timeout)

    async def publish(
        self,
        group: str,
        status: int,
        details: Optional[str] = None,
        *,
        ttl: float,
        identifier: str = "",
        on_lost: Optional[Callable[[SrError], None]] = None,
        timeout: Optional[float] = None,
    ) -> "AsyncPublisher":
        """Sets the status once with a lease of ``ttl`` seconds, then keeps
        the lease alive from a task (:class:`AsyncPublisher`); see
        :meth:`sr_client.Client.publish`."""
        response = await self.set_status(group, status, details, identifier=identifier, ttl=ttl, timeout=timeout)
        p = AsyncPublisher(self, group, identifier, ttl, response, on_lost)
        self._publishers.add(p)
        return p

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
    ) -> "AsyncWatch":
        """Streams changes, reconnecting after a dropped connection: an
        :class:`AsyncWatch` to iterate with ``async for``. Arguments and
        guarantees are :meth:`sr_client.Client.watch`'s."""
        w = AsyncWatch(
            self,
            _core.Resumer(
                _core.watch_request(group, identifier, include_details, include_reports, include_registrations),
                start_revision, resume, initial_backoff, max_backoff, max_retries, on_retry,
            ),
        )
        self._watches.add(w)
        return w


class AsyncWatch:
    """An async iterator of ``WatchStatusResponse``, resuming by itself (see
    :meth:`AsyncClient.watch`). :meth:`cancel` (or :meth:`aclose`, or leaving
    ``async with``) ends the iteration and cancels the stream; cancelling the
    iterating task does too, and the task sees its ``CancelledError``.
    ``last_revision`` is where it would resume."""

    def __init__(self, client: AsyncClient, resumer: _core.Resumer) -> None:
        self._client = client
        self._resumer = resumer
        self._call: Any = None
        self._cancelled = False
        self._wakeup: Optional[asyncio.Event] = None  # created in the loop that iterates
        self._messages = self._run()

    @property
    def last_revision(self) -> Optional[int]:
        return self._resumer.last_revision

    def cancel(self) -> None:
        self._cancelled = True
        if self._call is not None:
            self._call.cancel()
        if self._wakeup is not None:
            self._wakeup.set()

    async def aclose(self) -> None:
        self.cancel()
        await self._messages.aclose()

    def __aiter__(self) -> "AsyncWatch":
        return self

    async def __anext__(self) -> sr_pb2.WatchStatusResponse:
        return await self._messages.__anext__()

    async def __aenter__(self) -> "AsyncWatch":
        return self

    async def __aexit__(self, exc_type: Optional[Type[BaseException]], exc: Optional[BaseException], tb: Optional[TracebackType]) -> None:
        await self.aclose()

    def _stopped(self) -> bool:
        return self._cancelled or self._client._closed

    async def _run(self) -> AsyncGenerator[sr_pb2.WatchStatusResponse, None]:
        r = self._resumer
        self._wakeup = asyncio.Event()
        while not self._stopped():
            call = self._client.stub.WatchStatus(r.request())
            self._call = call
            delay: Optional[float] = 0.0
            try:
                first = True
                while True:
                    msg = await call.read()
                    if msg is grpc.aio.EOF:
                        delay = r.after_end()
                        break
                    if first:
                        first = False
                        if r.switched_registry(_core.header(await call.initial_metadata(), REGISTRY_ID_HEADER)):
                            break  # a fresh snapshot at once
                    yield r.deliver(msg)
            except asyncio.CancelledError:
                if not self._stopped():
                    raise  # the iterating task was cancelled: finally frees the stream
                return  # our own cancel() ended the read
            except grpc.RpcError as e:
                if self._stopped():
                    return
                delay = r.after_error(e)
            finally:
                self._call = None
                call.cancel()
            if delay is None or self._stopped():
                return
            if delay > 0:
                # Ask the channel to reconnect meanwhile rather than on the next call.
                self._client.channel.get_state(try_to_connect=True)
                try:
                    await asyncio.wait_for(self._wakeup.wait(), delay)
                except asyncio.TimeoutError:
                    pass


class AsyncPublisher:
    """Keeps one identifier's status alive with a lease from a task: see
    :class:`sr_client.Publisher`, whose rules it follows. ``await wait()``
    returns once it stopped by itself, with the lost lease's
    :class:`~sr_client.SrError` (``error``); ``await stop()`` ends it."""

    def __init__(
        self,
        client: AsyncClient,
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
        self._task = asyncio.ensure_future(self._run(client, group, identifier, on_lost))

    async def _run(self, client: AsyncClient, group: str, identifier: str, on_lost: Optional[Callable[[SrError], None]]) -> None:
        delay = self._timer.interval
        while True:
            await asyncio.sleep(delay)
            sent = time.monotonic()
            error: Optional[grpc.RpcError] = None
            try:
                # A hung call must not outlive the lease: bound it by the interval.
                await client.refresh_lease(group, identifier, timeout=self._timer.interval)
            except grpc.RpcError as e:
                error = e
            try:
                delay = self._timer.after(sent, error)
            except SrError as lost:
                self.error = lost
                if on_lost is not None:
                    on_lost(lost)
                return

    @property
    def running(self) -> bool:
        return not self._task.done()

    async def wait(self) -> Optional[SrError]:
        """Waits until the publisher stopped; returns ``error``."""
        try:
            await asyncio.shield(self._task)
        except asyncio.CancelledError:
            if not self._task.cancelled():
                raise  # our caller was cancelled, not the publisher
        return self.error

    async def stop(self) -> None:
        """Stops refreshing (cancelling a refresh under way); the lease then
        runs out ttl after the last refresh."""
        self._task.cancel()
        try:
            await self._task
        except asyncio.CancelledError:
            pass

    async def __aenter__(self) -> "AsyncPublisher":
        return self

    async def __aexit__(self, exc_type: Optional[Type[BaseException]], exc: Optional[BaseException], tb: Optional[TracebackType]) -> None:
        await self.stop()


async def _unary(method: Any, request: Any, timeout: Optional[float]) -> Any:
    """Awaits a generated stub's method (untyped: grpc has no stubs here)."""
    try:
        return await method(request, timeout=timeout)
    except grpc.RpcError as e:
        raise error_of(e) from None
