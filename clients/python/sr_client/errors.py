"""Errors with their reason: the gRPC rich error model as the SR server sends it.

Every error the server answers of its own carries, in the
``grpc-status-details-bin`` trailer, a ``google.rpc.Status`` (the call's code
and message) holding a ``google.rpc.ErrorInfo``: a stable ``reason`` such as
``GROUP_NOT_FOUND`` or ``HISTORY_COMPACTED``, the domain ``sr.v1`` and
metadata (``group``, ``identifier``, ``field``, ``limit``,
``oldest_revision``, each when it applies), plus ``google.rpc.BadRequest``
field violations for ``INVALID_ARGUMENT`` and ``google.rpc.ResourceInfo`` for
``NOT_FOUND``. Act on the reason, never on the message: the words may change.
"""

from __future__ import annotations

from typing import Any, Dict, List, NamedTuple, Optional

import grpc
from google.protobuf.message import DecodeError

try:
    # googleapis-common-protos (grpcio-status depends on it), when installed:
    # protobuf refuses a second file of the same name in its default pool, so
    # a program that loads that package cannot load the copy below as well.
    from google.rpc import error_details_pb2, status_pb2
except ImportError:
    from .gen.google.rpc import error_details_pb2, status_pb2

__all__ = ["SrError", "FieldViolation", "Resource", "error_of", "reason_of", "ERROR_DOMAIN", "STATUS_DETAILS_KEY"]

#: The ``ErrorInfo.domain`` of the SR server's own errors.
ERROR_DOMAIN = "sr.v1"

#: The binary trailer holding the serialized ``google.rpc.Status``.
STATUS_DETAILS_KEY = "grpc-status-details-bin"


class FieldViolation(NamedTuple):
    """A ``google.rpc.BadRequest`` field violation: which field, and why."""

    field: str
    description: str


class Resource(NamedTuple):
    """A ``google.rpc.ResourceInfo``: what was not found (``sr.v1.Group``,
    ``sr.v1.Identifier``) and its name (``group``, ``group/identifier``)."""

    type: str
    name: str


class SrError(grpc.RpcError):  # type: ignore[misc]  # grpc has no stubs here
    """A failed call, with the reason the server gave.

    A ``grpc.RpcError`` with the methods of grpc's own (``code()``,
    ``details()``, ``trailing_metadata()``, ``initial_metadata()``), so code
    written against those keeps working, plus what the error details say:

    - ``reason``: e.g. ``"GROUP_NOT_FOUND"``; ``""`` when the answer carried
      none (the server was not reached, or gRPC itself answered),
    - ``domain``: ``"sr.v1"`` for the SR server's own errors,
    - ``metadata``: ``ErrorInfo.metadata`` (``group``, ``identifier``,
      ``field``, ``limit``, ``oldest_revision``, each when it applies),
    - ``oldest_revision``: on ``HISTORY_COMPACTED``, the oldest
      ``start_revision`` still resumable (an int; None otherwise),
    - ``field_violations``: ``FieldViolation`` list, for ``INVALID_ARGUMENT``,
    - ``resource``: a ``Resource``, for ``NOT_FOUND``.

    ``error`` is the ``grpc.RpcError`` it was made from.
    """

    def __init__(self, error: grpc.RpcError) -> None:
        super().__init__()
        self.error = error
        self._code = _ask(error, "code") or grpc.StatusCode.UNKNOWN
        self._details = _ask(error, "details") or ""
        self.reason = ""
        self.domain = ""
        self.metadata: Dict[str, str] = {}
        self.field_violations: List[FieldViolation] = []
        self.resource: Optional[Resource] = None
        self._read_details(_ask(error, "trailing_metadata") or ())

    def code(self) -> grpc.StatusCode:
        return self._code

    def details(self) -> str:
        return self._details

    def trailing_metadata(self) -> Any:
        return _ask(self.error, "trailing_metadata")

    def initial_metadata(self) -> Any:
        return _ask(self.error, "initial_metadata")

    @property
    def oldest_revision(self) -> Optional[int]:
        value = self.metadata.get("oldest_revision")
        return int(value) if value is not None and value.isdigit() else None

    def __str__(self) -> str:
        reason = f" ({self.reason})" if self.reason else ""
        return f"{self._code.name}{reason}: {self._details}"

    def __repr__(self) -> str:
        return f"SrError(code={self._code.name}, reason={self.reason!r}, details={self._details!r})"

    def _read_details(self, trailers: Any) -> None:
        raw = next((value for key, value in trailers if key == STATUS_DETAILS_KEY), None)
        if not isinstance(raw, bytes):
            return
        status = status_pb2.Status()
        try:
            status.ParseFromString(raw)
        except DecodeError:
            return
        if status.code != self._code.value[0] or status.message != self._details:
            return  # details of another answer (rewritten on the way): not this call's
        for detail in status.details:
            if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR) and not self.reason:
                info = error_details_pb2.ErrorInfo()
                detail.Unpack(info)
                self.reason, self.domain, self.metadata = info.reason, info.domain, dict(info.metadata)
            elif detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
                bad = error_details_pb2.BadRequest()
                detail.Unpack(bad)
                self.field_violations.extend(FieldViolation(v.field, v.description) for v in bad.field_violations)
            elif detail.Is(error_details_pb2.ResourceInfo.DESCRIPTOR):
                info = error_details_pb2.ResourceInfo()
                detail.Unpack(info)
                self.resource = Resource(info.resource_type, info.resource_name)


def error_of(error: grpc.RpcError) -> SrError:
    """``error`` as an :class:`SrError` (itself when it is one): for the
    errors of ``Client.stub``, which raises grpc's own."""
    return error if isinstance(error, SrError) else SrError(error)


def reason_of(error: BaseException) -> str:
    """The reason of an SR server's error (its ``ErrorInfo.reason`` in the
    ``sr.v1`` domain), or ``""`` when ``error`` carries none."""
    if not isinstance(error, grpc.RpcError):
        return ""
    e = error_of(error)
    return e.reason if e.domain == ERROR_DOMAIN else ""


def _ask(error: Any, method: str) -> Any:
    """``error.method()``, or None: a bare ``grpc.RpcError`` has no call methods."""
    try:
        return getattr(error, method)()
    except Exception:
        return None
