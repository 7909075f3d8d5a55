"""What the blocking client (``client.py``) and the asyncio client (``aio.py``)
share: the connection options, the requests, the resuming watch's decisions
and the publisher's lease timing. No I/O here: each client drives these with
its own calls, waits and cancellation.
"""

from __future__ import annotations

import random
import time
from typing import Any, Callable, List, Optional, Sequence, Tuple

import grpc
from google.protobuf.duration_pb2 import Duration

from .errors import SrError, error_of, reason_of
from .gen.sr.v1 import sr_pb2

#: Initial metadata of a WatchStatus stream naming the registry instance
#: behind it; a resume point is only used with the registry it came from.
REGISTRY_ID_HEADER = "sr-registry-id"

#: Status codes after which a watch reconnects (with backoff) instead of
#: raising, and a publisher retries its refresh: the connection or the server
#: went away, or a limit was hit that may clear. Anything else
#: (INVALID_ARGUMENT, PERMISSION_DENIED, UNAUTHENTICATED, ...) is the
#: caller's to handle and is raised.
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

#: ``on_retry(error, delay)``: ``error`` is None when the server ended the stream.
RetryCallback = Callable[[Optional[SrError], float], None]

ChannelOptions = Sequence[Tuple[str, Any]]


def channel_options(options: ChannelOptions) -> List[Tuple[str, Any]]:
    """``options`` plus a 10 s cap on reconnection attempts unless given
    (gRPC's own default is 120 s, which would hold a watch back long after
    the server is back)."""
    opts = list(options)
    if not any(name == "grpc.max_reconnect_backoff_ms" for name, _ in opts):
        opts.append(("grpc.max_reconnect_backoff_ms", 10_000))
    return opts


def channel_credentials(
    tls: bool,
    root_certificates: Optional[bytes],
    private_key: Optional[bytes],
    certificate_chain: Optional[bytes],
) -> Optional[grpc.ChannelCredentials]:
    """TLS credentials when asked for (or certificates are given); None: plaintext."""
    if not (tls or root_certificates or private_key or certificate_chain):
        return None
    return grpc.ssl_channel_credentials(
        root_certificates=root_certificates, private_key=private_key, certificate_chain=certificate_chain
    )


def token_metadata(token: Optional[str]) -> Optional[Tuple[Tuple[str, str], ...]]:
    return (("authorization", "Bearer " + token),) if token else None


def duration(seconds: float) -> Duration:
    d = Duration()
    d.FromNanoseconds(round(seconds * 1e9))
    return d


def set_optional(req: Any, **fields: Any) -> None:
    for name, value in fields.items():
        if value is not None:
            setattr(req, name, value)


def registration(
    group: str,
    identifier: Optional[str],
    status: Optional[int],
    details: Optional[str],
    report_capacity: Optional[int],
) -> Any:
    """A RegisterGroupRequest (identifier None) or RegisterIdentifierRequest."""
    req: Any = sr_pb2.RegisterGroupRequest(group=group) if identifier is None else sr_pb2.RegisterIdentifierRequest(group=group, identifier=identifier)
    set_optional(req, status=status, details=details, report_capacity=report_capacity)
    return req


def set_status_request(group: str, status: int, details: Optional[str], identifier: str, ttl: Optional[float]) -> sr_pb2.SetStatusRequest:
    req = sr_pb2.SetStatusRequest(group=group, identifier=identifier, status=status)
    if details is not None:
        req.details = details
    if ttl is not None:
        req.ttl.CopyFrom(duration(ttl))
    return req


def watch_request(group: str, identifier: str, include_details: bool, include_reports: bool, include_registrations: bool) -> sr_pb2.WatchStatusRequest:
    return sr_pb2.WatchStatusRequest(
        group=group,
        identifier=identifier,
        include_details=include_details,
        include_reports=include_reports,
        include_registrations=include_registrations,
    )


class Resumer:
    """A resuming watch's memory from one WatchStatus call to the next, and
    its decisions (documented on ``Client.watch``)."""

    def __init__(
        self,
        request: sr_pb2.WatchStatusRequest,
        start_revision: Optional[int],
        resume: bool,
        initial_backoff: float,
        max_backoff: float,
        max_retries: Optional[int],
        on_retry: Optional[RetryCallback],
    ) -> None:
        self._request = request
        self.last_revision: Optional[int] = start_revision
        self.resume = resume
        self._initial_backoff = initial_backoff
        self._max_backoff = max_backoff
        self._max_retries = max_retries
        self._on_retry = on_retry
        self._random = random.Random()
        self._failures = 0
        # True once last_revision came from this stream (not the caller): a
        # REVISION_AHEAD on resuming then means the server's history no
        # longer reaches it (a restarted, in-memory server).
        self._resumed_by_us = False
        self._registry_id: Optional[str] = None  # the sr-registry-id the resume point belongs to
        self._in_snapshot = False
        self._resync = False  # the next snapshot replaces what was delivered

    def request(self) -> sr_pb2.WatchStatusRequest:
        req = sr_pb2.WatchStatusRequest()
        req.CopyFrom(self._request)
        if self.last_revision is not None:
            req.start_revision = self.last_revision
        return req

    def _restart(self) -> None:
        self.last_revision, self._resumed_by_us, self._registry_id, self._in_snapshot, self._resync = None, False, None, False, True

    def switched_registry(self, answered_by: Optional[str]) -> bool:
        """Called with the first message's registry id: True when another
        registry answered a resume (a restarted server, whose revisions mean
        something else): end this call and start over at once."""
        if self._registry_id is not None and answered_by is not None and answered_by != self._registry_id and self.last_revision is not None:
            self._restart()
            return True
        self._registry_id = answered_by or self._registry_id
        return False

    def deliver(self, msg: sr_pb2.WatchStatusResponse) -> sr_pb2.WatchStatusResponse:
        self._failures = 0
        if msg.WhichOneof("event") == "snapshot":
            self._in_snapshot = not msg.snapshot.last
            if self._resync:
                msg.snapshot.resync = True
            if msg.snapshot.last:
                self._resync = False
                self.last_revision, self._resumed_by_us = msg.revision, True
        elif not self._in_snapshot:
            self.last_revision, self._resumed_by_us = msg.revision, True
        return msg

    def after_error(self, e: grpc.RpcError) -> float:
        """The delay before the next call after ``e`` (0: at once, from a
        fresh snapshot); raises it as an SrError when a retry cannot help."""
        error = error_of(e)
        if not self.resume:
            raise error
        reason = reason_of(error)
        if self.last_revision is not None and (reason == "HISTORY_COMPACTED" or (reason == "REVISION_AHEAD" and self._resumed_by_us)):
            # The history no longer reaches the resume point: start again
            # from a snapshot, now.
            self._restart()
            return 0.0
        if error.code() not in RETRYABLE_CODES:
            raise error
        delay = self._backoff(error)
        if delay is None:
            raise error
        return delay

    def after_end(self) -> Optional[float]:
        """The delay before the next call after the server ended the stream;
        None: the watch ends."""
        return self._backoff(None) if self.resume else None

    def _backoff(self, error: Optional[SrError]) -> Optional[float]:
        if self._in_snapshot:
            # Dropped inside a snapshot: its parts so far are not a whole
            # state, so a whole new one (marked resync) must come.
            self._restart()
        self._failures += 1
        if self._max_retries is not None and self._failures > self._max_retries:
            return None
        cap = min(self._max_backoff, self._initial_backoff * (2 ** min(self._failures - 1, 30)))
        delay = self._random.uniform(0, cap)
        if self._on_retry is not None:
            self._on_retry(error, delay)
        return delay


def header(metadata: Any, name: str) -> Optional[str]:
    for key, value in metadata or ():
        if key == name:
            return value if isinstance(value, str) else None
    return None


class LeaseTimer:
    """When a publisher refreshes its lease: every ttl/3 and, after a
    transient failure, sooner (so several attempts fit before the lease runs
    out). A lost lease (LEASE_NOT_ARMED, NOT_FOUND, any error a retry cannot
    fix, or no successful refresh for a whole ttl) is raised as SrError."""

    def __init__(self, ttl: float) -> None:
        if ttl <= 0:
            raise ValueError("ttl must be positive")
        self.ttl = ttl
        self.interval = ttl / 3
        self.retry = self.interval / 4
        self._alive = time.monotonic()  # the lease runs until _alive + ttl

    def after(self, sent: float, error: Optional[grpc.RpcError]) -> float:
        """The delay before the next refresh, given how the one sent at
        ``sent`` (time.monotonic()) ended."""
        if error is None:
            self._alive = sent
            return self.interval
        e = error_of(error)
        if e.code() not in RETRYABLE_CODES or time.monotonic() - self._alive + self.retry >= self.ttl:
            raise e
        return self.retry
