from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class AddReportRequest(_message.Message):
    __slots__ = ["group", "identifier", "text"]
    GROUP_FIELD_NUMBER: _ClassVar[int]
    IDENTIFIER_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    group: str
    identifier: str
    text: str
    def __init__(self, group: _Optional[str] = ..., identifier: _Optional[str] = ..., text: _Optional[str] = ...) -> None: ...

class AddReportResponse(_message.Message):
    __slots__ = ["revision", "sequence"]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    revision: int
    sequence: int
    def __init__(self, sequence: _Optional[int] = ..., revision: _Optional[int] = ...) -> None: ...

class CheckStatusRequest(_message.Message):
    __slots__ = ["group", "identifier"]
    GROUP_FIELD_NUMBER: _ClassVar[int]
    IDENTIFIER_FIELD_NUMBER: _ClassVar[int]
    group: str
    identifier: str
    def __init__(self, group: _Optional[str] = ..., identifier: _Optional[str] = ...) -> None: ...

class CheckStatusResponse(_message.Message):
    __slots__ = ["ready", "status"]
    READY_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    ready: bool
    status: int
    def __init__(self, ready: bool = ..., status: _Optional[int] = ...) -> None: ...

class GetStatusRequest(_message.Message):
    __slots__ = ["group", "identifier"]
    GROUP_FIELD_NUMBER: _ClassVar[int]
    IDENTIFIER_FIELD_NUMBER: _ClassVar[int]
    group: str
    identifier: str
    def __init__(self, group: _Optional[str] = ..., identifier: _Optional[str] = ...) -> None: ...

class GetStatusResponse(_message.Message):
    __slots__ = ["revision", "status"]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    revision: int
    status: IdentifierStatus
    def __init__(self, status: _Optional[_Union[IdentifierStatus, _Mapping]] = ..., revision: _Optional[int] = ...) -> None: ...

class GroupIdentifiers(_message.Message):
    __slots__ = ["group", "identifiers", "internal"]
    GROUP_FIELD_NUMBER: _ClassVar[int]
    IDENTIFIERS_FIELD_NUMBER: _ClassVar[int]
    INTERNAL_FIELD_NUMBER: _ClassVar[int]
    group: str
    identifiers: _containers.RepeatedScalarFieldContainer[str]
    internal: bool
    def __init__(self, group: _Optional[str] = ..., internal: bool = ..., identifiers: _Optional[_Iterable[str]] = ...) -> None: ...

class GroupReports(_message.Message):
    __slots__ = ["group", "identifiers"]
    GROUP_FIELD_NUMBER: _ClassVar[int]
    IDENTIFIERS_FIELD_NUMBER: _ClassVar[int]
    group: str
    identifiers: _containers.RepeatedCompositeFieldContainer[IdentifierReports]
    def __init__(self, group: _Optional[str] = ..., identifiers: _Optional[_Iterable[_Union[IdentifierReports, _Mapping]]] = ...) -> None: ...

class GroupStatus(_message.Message):
    __slots__ = ["group", "identifiers", "internal"]
    GROUP_FIELD_NUMBER: _ClassVar[int]
    IDENTIFIERS_FIELD_NUMBER: _ClassVar[int]
    INTERNAL_FIELD_NUMBER: _ClassVar[int]
    group: str
    identifiers: _containers.RepeatedCompositeFieldContainer[IdentifierStatus]
    internal: bool
    def __init__(self, group: _Optional[str] = ..., internal: bool = ..., identifiers: _Optional[_Iterable[_Union[IdentifierStatus, _Mapping]]] = ...) -> None: ...

class IdentifierReports(_message.Message):
    __slots__ = ["capacity", "identifier", "reports"]
    CAPACITY_FIELD_NUMBER: _ClassVar[int]
    IDENTIFIER_FIELD_NUMBER: _ClassVar[int]
    REPORTS_FIELD_NUMBER: _ClassVar[int]
    capacity: int
    identifier: str
    reports: _containers.RepeatedCompositeFieldContainer[Report]
    def __init__(self, identifier: _Optional[str] = ..., capacity: _Optional[int] = ..., reports: _Optional[_Iterable[_Union[Report, _Mapping]]] = ...) -> None: ...

class IdentifierStatus(_message.Message):
    __slots__ = ["details", "group", "identifier", "lease_expire_time", "lease_ttl", "ready", "revision", "status", "update_time"]
    DETAILS_FIELD_NUMBER: _ClassVar[int]
    GROUP_FIELD_NUMBER: _ClassVar[int]
    IDENTIFIER_FIELD_NUMBER: _ClassVar[int]
    LEASE_EXPIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    LEASE_TTL_FIELD_NUMBER: _ClassVar[int]
    READY_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    details: str
    group: str
    identifier: str
    lease_expire_time: _timestamp_pb2.Timestamp
    lease_ttl: _duration_pb2.Duration
    ready: bool
    revision: int
    status: int
    update_time: _timestamp_pb2.Timestamp
    def __init__(self, group: _Optional[str] = ..., identifier: _Optional[str] = ..., status: _Optional[int] = ..., details: _Optional[str] = ..., ready: bool = ..., revision: _Optional[int] = ..., update_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., lease_ttl: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ..., lease_expire_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ListIdentifiersRequest(_message.Message):
    __slots__ = ["group", "page_size", "page_token"]
    GROUP_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    group: str
    page_size: int
    page_token: str
    def __init__(self, group: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListIdentifiersResponse(_message.Message):
    __slots__ = ["groups", "next_page_token", "revision"]
    GROUPS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    groups: _containers.RepeatedCompositeFieldContainer[GroupIdentifiers]
    next_page_token: str
    revision: int
    def __init__(self, groups: _Optional[_Iterable[_Union[GroupIdentifiers, _Mapping]]] = ..., revision: _Optional[int] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ListReportsRequest(_message.Message):
    __slots__ = ["group", "identifier", "page_size", "page_token"]
    GROUP_FIELD_NUMBER: _ClassVar[int]
    IDENTIFIER_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    group: str
    identifier: str
    page_size: int
    page_token: str
    def __init__(self, group: _Optional[str] = ..., identifier: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListReportsResponse(_message.Message):
    __slots__ = ["groups", "next_page_token", "revision"]
    GROUPS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    groups: _containers.RepeatedCompositeFieldContainer[GroupReports]
    next_page_token: str
    revision: int
    def __init__(self, groups: _Optional[_Iterable[_Union[GroupReports, _Mapping]]] = ..., revision: _Optional[int] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ListStatusRequest(_message.Message):
    __slots__ = ["group", "page_size", "page_token"]
    GROUP_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    group: str
    page_size: int
    page_token: str
    def __init__(self, group: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListStatusResponse(_message.Message):
    __slots__ = ["groups", "next_page_token", "revision"]
    GROUPS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    groups: _containers.RepeatedCompositeFieldContainer[GroupStatus]
    next_page_token: str
    revision: int
    def __init__(self, groups: _Optional[_Iterable[_Union[GroupStatus, _Mapping]]] = ..., revision: _Optional[int] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class Progress(_message.Message):
    __slots__ = []
    def __init__(self) -> None: ...

class RefreshLeaseRequest(_message.Message):
    __slots__ = ["group", "identifier", "ttl"]
    GROUP_FIELD_NUMBER: _ClassVar[int]
    IDENTIFIER_FIELD_NUMBER: _ClassVar[int]
    TTL_FIELD_NUMBER: _ClassVar[int]
    group: str
    identifier: str
    ttl: _duration_pb2.Duration
    def __init__(self, group: _Optional[str] = ..., identifier: _Optional[str] = ..., ttl: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class RefreshLeaseResponse(_message.Message):
    __slots__ = ["lease_expire_time", "lease_ttl", "revision"]
    LEASE_EXPIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    LEASE_TTL_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    lease_expire_time: _timestamp_pb2.Timestamp
    lease_ttl: _duration_pb2.Duration
    revision: int
    def __init__(self, lease_expire_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., lease_ttl: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ..., revision: _Optional[int] = ...) -> None: ...

class RegisterGroupRequest(_message.Message):
    __slots__ = ["details", "group", "remove_after", "report_capacity", "status", "ttl"]
    DETAILS_FIELD_NUMBER: _ClassVar[int]
    GROUP_FIELD_NUMBER: _ClassVar[int]
    REMOVE_AFTER_FIELD_NUMBER: _ClassVar[int]
    REPORT_CAPACITY_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    TTL_FIELD_NUMBER: _ClassVar[int]
    details: str
    group: str
    remove_after: _duration_pb2.Duration
    report_capacity: int
    status: int
    ttl: _duration_pb2.Duration
    def __init__(self, group: _Optional[str] = ..., status: _Optional[int] = ..., details: _Optional[str] = ..., report_capacity: _Optional[int] = ..., ttl: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ..., remove_after: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class RegisterGroupResponse(_message.Message):
    __slots__ = ["created", "revision"]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    created: bool
    revision: int
    def __init__(self, created: bool = ..., revision: _Optional[int] = ...) -> None: ...

class RegisterIdentifierRequest(_message.Message):
    __slots__ = ["details", "group", "identifier", "remove_after", "report_capacity", "status", "ttl"]
    DETAILS_FIELD_NUMBER: _ClassVar[int]
    GROUP_FIELD_NUMBER: _ClassVar[int]
    IDENTIFIER_FIELD_NUMBER: _ClassVar[int]
    REMOVE_AFTER_FIELD_NUMBER: _ClassVar[int]
    REPORT_CAPACITY_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    TTL_FIELD_NUMBER: _ClassVar[int]
    details: str
    group: str
    identifier: str
    remove_after: _duration_pb2.Duration
    report_capacity: int
    status: int
    ttl: _duration_pb2.Duration
    def __init__(self, group: _Optional[str] = ..., identifier: _Optional[str] = ..., status: _Optional[int] = ..., details: _Optional[str] = ..., report_capacity: _Optional[int] = ..., ttl: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ..., remove_after: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class RegisterIdentifierResponse(_message.Message):
    __slots__ = ["created", "revision", "status"]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    created: bool
    revision: int
    status: IdentifierStatus
    def __init__(self, created: bool = ..., status: _Optional[_Union[IdentifierStatus, _Mapping]] = ..., revision: _Optional[int] = ...) -> None: ...

class Report(_message.Message):
    __slots__ = ["sequence", "text", "time"]
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    sequence: int
    text: str
    time: _timestamp_pb2.Timestamp
    def __init__(self, sequence: _Optional[int] = ..., time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., text: _Optional[str] = ...) -> None: ...

class ReportAdded(_message.Message):
    __slots__ = ["group", "identifier", "report"]
    GROUP_FIELD_NUMBER: _ClassVar[int]
    IDENTIFIER_FIELD_NUMBER: _ClassVar[int]
    REPORT_FIELD_NUMBER: _ClassVar[int]
    group: str
    identifier: str
    report: Report
    def __init__(self, group: _Optional[str] = ..., identifier: _Optional[str] = ..., report: _Optional[_Union[Report, _Mapping]] = ...) -> None: ...

class SetStatusRequest(_message.Message):
    __slots__ = ["details", "group", "identifier", "remove_after", "status", "ttl"]
    DETAILS_FIELD_NUMBER: _ClassVar[int]
    GROUP_FIELD_NUMBER: _ClassVar[int]
    IDENTIFIER_FIELD_NUMBER: _ClassVar[int]
    REMOVE_AFTER_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    TTL_FIELD_NUMBER: _ClassVar[int]
    details: str
    group: str
    identifier: str
    remove_after: _duration_pb2.Duration
    status: int
    ttl: _duration_pb2.Duration
    def __init__(self, group: _Optional[str] = ..., identifier: _Optional[str] = ..., status: _Optional[int] = ..., details: _Optional[str] = ..., ttl: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ..., remove_after: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class SetStatusResponse(_message.Message):
    __slots__ = ["changed", "old_status", "revision"]
    CHANGED_FIELD_NUMBER: _ClassVar[int]
    OLD_STATUS_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    changed: bool
    old_status: int
    revision: int
    def __init__(self, changed: bool = ..., old_status: _Optional[int] = ..., revision: _Optional[int] = ...) -> None: ...

class Snapshot(_message.Message):
    __slots__ = ["identifiers", "last", "reports", "resync"]
    IDENTIFIERS_FIELD_NUMBER: _ClassVar[int]
    LAST_FIELD_NUMBER: _ClassVar[int]
    REPORTS_FIELD_NUMBER: _ClassVar[int]
    RESYNC_FIELD_NUMBER: _ClassVar[int]
    identifiers: _containers.RepeatedCompositeFieldContainer[IdentifierStatus]
    last: bool
    reports: _containers.RepeatedCompositeFieldContainer[GroupReports]
    resync: bool
    def __init__(self, identifiers: _Optional[_Iterable[_Union[IdentifierStatus, _Mapping]]] = ..., resync: bool = ..., last: bool = ..., reports: _Optional[_Iterable[_Union[GroupReports, _Mapping]]] = ...) -> None: ...

class StatusChanged(_message.Message):
    __slots__ = ["details", "group", "identifier", "old_status", "ready", "status"]
    DETAILS_FIELD_NUMBER: _ClassVar[int]
    GROUP_FIELD_NUMBER: _ClassVar[int]
    IDENTIFIER_FIELD_NUMBER: _ClassVar[int]
    OLD_STATUS_FIELD_NUMBER: _ClassVar[int]
    READY_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    details: str
    group: str
    identifier: str
    old_status: int
    ready: bool
    status: int
    def __init__(self, group: _Optional[str] = ..., identifier: _Optional[str] = ..., status: _Optional[int] = ..., old_status: _Optional[int] = ..., details: _Optional[str] = ..., ready: bool = ...) -> None: ...

class UnregisterGroupRequest(_message.Message):
    __slots__ = ["group"]
    GROUP_FIELD_NUMBER: _ClassVar[int]
    group: str
    def __init__(self, group: _Optional[str] = ...) -> None: ...

class UnregisterGroupResponse(_message.Message):
    __slots__ = ["revision"]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    revision: int
    def __init__(self, revision: _Optional[int] = ...) -> None: ...

class UnregisterIdentifierRequest(_message.Message):
    __slots__ = ["group", "identifier"]
    GROUP_FIELD_NUMBER: _ClassVar[int]
    IDENTIFIER_FIELD_NUMBER: _ClassVar[int]
    group: str
    identifier: str
    def __init__(self, group: _Optional[str] = ..., identifier: _Optional[str] = ...) -> None: ...

class UnregisterIdentifierResponse(_message.Message):
    __slots__ = ["revision"]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    revision: int
    def __init__(self, revision: _Optional[int] = ...) -> None: ...

class Unregistered(_message.Message):
    __slots__ = ["group", "identifier"]
    GROUP_FIELD_NUMBER: _ClassVar[int]
    IDENTIFIER_FIELD_NUMBER: _ClassVar[int]
    group: str
    identifier: str
    def __init__(self, group: _Optional[str] = ..., identifier: _Optional[str] = ...) -> None: ...

class WatchStatusRequest(_message.Message):
    __slots__ = ["group", "identifier", "include_details", "include_registrations", "include_reports", "start_revision"]
    GROUP_FIELD_NUMBER: _ClassVar[int]
    IDENTIFIER_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_DETAILS_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_REGISTRATIONS_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_REPORTS_FIELD_NUMBER: _ClassVar[int]
    START_REVISION_FIELD_NUMBER: _ClassVar[int]
    group: str
    identifier: str
    include_details: bool
    include_registrations: bool
    include_reports: bool
    start_revision: int
    def __init__(self, group: _Optional[str] = ..., identifier: _Optional[str] = ..., start_revision: _Optional[int] = ..., include_details: bool = ..., include_reports: bool = ..., include_registrations: bool = ...) -> None: ...

class WatchStatusResponse(_message.Message):
    __slots__ = ["progress", "registered", "report_added", "revision", "snapshot", "status_changed", "unregistered"]
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    REGISTERED_FIELD_NUMBER: _ClassVar[int]
    REPORT_ADDED_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    SNAPSHOT_FIELD_NUMBER: _ClassVar[int]
    STATUS_CHANGED_FIELD_NUMBER: _ClassVar[int]
    UNREGISTERED_FIELD_NUMBER: _ClassVar[int]
    progress: Progress
    registered: IdentifierStatus
    report_added: ReportAdded
    revision: int
    snapshot: Snapshot
    status_changed: StatusChanged
    unregistered: Unregistered
    def __init__(self, revision: _Optional[int] = ..., snapshot: _Optional[_Union[Snapshot, _Mapping]] = ..., status_changed: _Optional[_Union[StatusChanged, _Mapping]] = ..., report_added: _Optional[_Union[ReportAdded, _Mapping]] = ..., registered: _Optional[_Union[IdentifierStatus, _Mapping]] = ..., unregistered: _Optional[_Union[Unregistered, _Mapping]] = ..., progress: _Optional[_Union[Progress, _Mapping]] = ...) -> None: ...
