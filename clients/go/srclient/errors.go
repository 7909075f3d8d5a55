package srclient

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// ErrorDomain is the ErrorInfo domain of the SR server's own errors.
const ErrorDomain = "sr.v1"

// Error is a failed call with what the server said about it: every error the
// SR server answers of its own carries a google.rpc.Status (the rich error
// model) whose ErrorInfo gives a stable reason. Act on Reason, never on
// Message: the words may change.
//
// Every call made through a Client's connection (its helpers, SR, Health)
// fails with an *Error. It is a gRPC status error: status.Code,
// status.Convert and status.FromError work on it as before.
type Error struct {
	Code    codes.Code
	Message string
	// Reason is ErrorInfo.reason, e.g. "GROUP_NOT_FOUND" or
	// "HISTORY_COMPACTED"; "" when the answer carried none (the server was
	// not reached, or gRPC itself answered).
	Reason string
	// Domain is ErrorInfo.domain: ErrorDomain for the SR server's errors.
	Domain string
	// Metadata is ErrorInfo.metadata: group, identifier, field, limit and
	// oldest_revision, each when it applies.
	Metadata map[string]string
	// OldestRevision is, for HISTORY_COMPACTED, the oldest start_revision
	// still resumable (metadata oldest_revision); 0 otherwise.
	OldestRevision uint64
	// FieldViolations are google.rpc.BadRequest's, sent with InvalidArgument.
	FieldViolations []FieldViolation
	// Resource is google.rpc.ResourceInfo, sent with NotFound.
	Resource *Resource

	status *status.Status
}

// FieldViolation is one google.rpc.BadRequest field violation.
type FieldViolation struct {
	Field, Description string
}

// Resource is a google.rpc.ResourceInfo: Type "sr.v1.Group" or
// "sr.v1.Identifier", Name "group" or "group/identifier".
type Resource struct {
	Type, Name string
}

func (e *Error) Error() string {
	if e.Reason == "" {
		return fmt.Sprintf("rpc error: code = %s desc = %s", e.Code, e.Message)
	}
	return fmt.Sprintf("rpc error: code = %s reason = %s desc = %s", e.Code, e.Reason, e.Message)
}

// GRPCStatus makes an *Error a gRPC status error (status.Code, status.Convert).
func (e *Error) GRPCStatus() *status.Status { return e.status }

// Unwrap gives errors.Is the plain gRPC status error, as grpc-go returned it.
func (e *Error) Unwrap() error { return e.status.Err() }

// ErrorOf returns err as an *Error when it is (or wraps) a gRPC status error,
// reading its details; nil otherwise. Errors of a Client already are.
func ErrorOf(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	var se interface{ GRPCStatus() *status.Status }
	if !errors.As(err, &se) {
		return nil
	}
	return errorOf(se.GRPCStatus())
}

// ReasonOf returns the reason of an SR server's error (its ErrorInfo reason
// in the ErrorDomain), or "" when err carries none.
func ReasonOf(err error) string {
	if e := ErrorOf(err); e != nil && e.Domain == ErrorDomain {
		return e.Reason
	}
	return ""
}

func errorOf(st *status.Status) *Error {
	e := &Error{Code: st.Code(), Message: st.Message(), status: st}
	for _, detail := range st.Details() {
		switch d := detail.(type) {
		case *errdetails.ErrorInfo:
			if e.Reason == "" {
				e.Reason, e.Domain, e.Metadata = d.GetReason(), d.GetDomain(), d.GetMetadata()
			}
		case *errdetails.BadRequest:
			for _, v := range d.GetFieldViolations() {
				e.FieldViolations = append(e.FieldViolations, FieldViolation{v.GetField(), v.GetDescription()})
			}
		case *errdetails.ResourceInfo:
			e.Resource = &Resource{d.GetResourceType(), d.GetResourceName()}
		}
	}
	if r, err := strconv.ParseUint(e.Metadata["oldest_revision"], 10, 64); err == nil {
		e.OldestRevision = r
	}
	return e
}

// withReason turns a call's gRPC status error into an *Error; nil, io.EOF
// (the end of a stream) and anything else pass unchanged.
func withReason(err error) error {
	if err == nil || err == io.EOF {
		return err
	}
	if e := ErrorOf(err); e != nil {
		return e
	}
	return err
}

// The interceptors that give every call of a Client's connection *Error
// failures, the generated clients' included.

func unaryErrors(ctx context.Context, method string, req, reply interface{}, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	return withReason(invoker(ctx, method, req, reply, cc, opts...))
}

func streamErrors(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	s, err := streamer(ctx, desc, cc, method, opts...)
	if err != nil {
		return nil, withReason(err)
	}
	return errorStream{s}, nil
}

type errorStream struct{ grpc.ClientStream }

func (s errorStream) RecvMsg(m interface{}) error { return withReason(s.ClientStream.RecvMsg(m)) }
