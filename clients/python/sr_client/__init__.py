"""Python client of the Status/Report (SR) gRPC service.

    from sr_client import connect

    with connect("127.0.0.1:50051") as sr:
        sr.register_group("billing")
        sr.set_status("billing", 1, "running")
        for event in sr.watch("billing"):
            print(event)

Failed calls raise ``SrError``, a ``grpc.RpcError`` carrying the reason the
server gave (``e.reason``, e.g. ``GROUP_NOT_FOUND``): act on it, not on the
message.

``sr_client.aio`` is the same client on asyncio (``grpc.aio``), and
``Client.publish`` keeps a status alive with a lease.

The generated messages and stubs are ``sr_client.sr_pb2`` and
``sr_client.sr_pb2_grpc`` (package ``sr.v1``); the generated
``grpc.health.v1`` stubs are in ``sr_client.gen.health.v1``.
"""

from .client import RETRYABLE_CODES, Client, Publisher, Watch, connect
from .errors import ERROR_DOMAIN, FieldViolation, Resource, SrError, error_of, reason_of
from .gen.sr.v1 import sr_pb2, sr_pb2_grpc

__all__ = [
    "Client",
    "Watch",
    "Publisher",
    "connect",
    "RETRYABLE_CODES",
    "SrError",
    "FieldViolation",
    "Resource",
    "error_of",
    "reason_of",
    "ERROR_DOMAIN",
    "sr_pb2",
    "sr_pb2_grpc",
]
__version__ = "0.1.0"
