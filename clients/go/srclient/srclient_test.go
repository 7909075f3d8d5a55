package srclient

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"sync"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/status-report/sr/clients/go/srv1"
)

// script is what one WatchStatus call plays: messages, then end (nil: end
// the stream; errHang: block until the call is cancelled; else that error).
type script struct {
	msgs     []*srv1.WatchStatusResponse
	end      error
	registry string // sent as the sr-registry-id header when set
}

var errHang = errors.New("hang")

// rich is an error answer as the SR server sends it: code and message, and a
// google.rpc.Status holding an ErrorInfo (plus the details given).
func rich(code codes.Code, msg, reason string, md map[string]string, details ...*errdetails.BadRequest) error {
	st, err := status.New(code, msg).WithDetails(&errdetails.ErrorInfo{Reason: reason, Domain: ErrorDomain, Metadata: md})
	for _, d := range details {
		if err == nil {
			st, err = st.WithDetails(d)
		}
	}
	if err != nil {
		panic(err)
	}
	return st.Err()
}

type fakeServer struct {
	srv1.UnimplementedStatusReportServiceServer
	grpc_health_v1.UnimplementedHealthServer
	scripts chan script

	// refreshes gets every RefreshLease request; refreshAnswers says what
	// each answers (nil: success).
	refreshes      chan *srv1.RefreshLeaseRequest
	refreshAnswers chan error

	mu       sync.Mutex
	requests []*srv1.WatchStatusRequest
	auth     []string
	sets     []*srv1.SetStatusRequest
}

func (f *fakeServer) RefreshLease(ctx context.Context, req *srv1.RefreshLeaseRequest) (*srv1.RefreshLeaseResponse, error) {
	f.refreshes <- req
	select {
	case err := <-f.refreshAnswers:
		if err != nil {
			return nil, err
		}
		return &srv1.RefreshLeaseResponse{Revision: 8}, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (f *fakeServer) setRequests() []*srv1.SetStatusRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*srv1.SetStatusRequest(nil), f.sets...)
}

func (f *fakeServer) record(ctx context.Context) {
	md, _ := metadata.FromIncomingContext(ctx)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.auth = append(f.auth, md.Get("authorization")...)
}

func (f *fakeServer) lastAuth() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.auth) == 0 {
		return ""
	}
	return f.auth[len(f.auth)-1]
}

func (f *fakeServer) watchRequests() []*srv1.WatchStatusRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*srv1.WatchStatusRequest(nil), f.requests...)
}

func (f *fakeServer) RegisterGroup(ctx context.Context, req *srv1.RegisterGroupRequest) (*srv1.RegisterGroupResponse, error) {
	f.record(ctx)
	// Echo what was sent through created/revision so the test can see it.
	return &srv1.RegisterGroupResponse{Created: req.ReportCapacity != nil && req.Status != nil && req.GetDetails() == "starting", Revision: uint64(req.GetReportCapacity())}, nil
}

func (f *fakeServer) SetStatus(ctx context.Context, req *srv1.SetStatusRequest) (*srv1.SetStatusResponse, error) {
	f.record(ctx)
	f.mu.Lock()
	f.sets = append(f.sets, req)
	f.mu.Unlock()
	if req.GetStatus() == 0 {
		violation := &errdetails.BadRequest{FieldViolations: []*errdetails.BadRequest_FieldViolation{{Field: "status", Description: "status: must not be 0"}}}
		return nil, rich(codes.InvalidArgument, "status: must not be 0", "STATUS_ZERO", map[string]string{"field": "status"}, violation)
	}
	old := int32(-1)
	if req.Details != nil {
		old = int32(len(req.GetDetails()))
	}
	return &srv1.SetStatusResponse{Changed: true, OldStatus: old, Revision: 8}, nil
}

func (f *fakeServer) CheckStatus(ctx context.Context, req *srv1.CheckStatusRequest) (*srv1.CheckStatusResponse, error) {
	f.record(ctx)
	switch req.GetGroup() {
	case "nope":
		st, _ := status.New(codes.NotFound, "group 'nope' not found").WithDetails(
			&errdetails.ErrorInfo{Reason: "GROUP_NOT_FOUND", Domain: ErrorDomain, Metadata: map[string]string{"group": "nope"}},
			&errdetails.ResourceInfo{ResourceType: "sr.v1.Group", ResourceName: "nope"})
		return nil, st.Err()
	case "elsewhere": // an ErrorInfo of another domain
		st, _ := status.New(codes.NotFound, "not here").WithDetails(&errdetails.ErrorInfo{Reason: "GROUP_NOT_FOUND", Domain: "example.com"})
		return nil, st.Err()
	case "plain": // no details at all
		return nil, status.Error(codes.Internal, "internal error")
	}
	return &srv1.CheckStatusResponse{Ready: false, Status: -4}, nil
}

func (f *fakeServer) ListReports(ctx context.Context, req *srv1.ListReportsRequest) (*srv1.ListReportsResponse, error) {
	rep := func(seq uint64) *srv1.Report { return &srv1.Report{Sequence: seq, Text: "r"} }
	switch req.GetPageToken() {
	case "":
		return &srv1.ListReportsResponse{Revision: 11, NextPageToken: "p2", Groups: []*srv1.GroupReports{
			{Group: "a", Identifiers: []*srv1.IdentifierReports{{Identifier: "main", Reports: []*srv1.Report{rep(1), rep(2)}}}},
		}}, nil
	case "p2":
		return &srv1.ListReportsResponse{Revision: 12, Groups: []*srv1.GroupReports{
			{Group: "a", Identifiers: []*srv1.IdentifierReports{{Identifier: "main", Reports: []*srv1.Report{rep(3)}}, {Identifier: "x"}}},
			{Group: "b", Identifiers: []*srv1.IdentifierReports{{Identifier: "main"}}},
		}}, nil
	}
	return nil, status.Error(codes.InvalidArgument, "page_token: malformed")
}

func (f *fakeServer) Check(ctx context.Context, req *grpc_health_v1.HealthCheckRequest) (*grpc_health_v1.HealthCheckResponse, error) {
	f.record(ctx)
	return &grpc_health_v1.HealthCheckResponse{Status: grpc_health_v1.HealthCheckResponse_NOT_SERVING}, nil
}

func (f *fakeServer) WatchStatus(req *srv1.WatchStatusRequest, stream srv1.StatusReportService_WatchStatusServer) error {
	f.record(stream.Context())
	f.mu.Lock()
	f.requests = append(f.requests, req)
	f.mu.Unlock()
	var s script
	select {
	case s = <-f.scripts:
	case <-time.After(10 * time.Second):
		return status.Error(codes.Internal, "test: no script left")
	}
	if s.registry != "" {
		stream.SendHeader(metadata.Pairs(RegistryIDHeader, s.registry))
	}
	for _, m := range s.msgs {
		if err := stream.Send(m); err != nil {
			return err
		}
	}
	if s.end == errHang {
		<-stream.Context().Done()
		return nil
	}
	return s.end
}

func start(t *testing.T, creds credentials.TransportCredentials) (*fakeServer, string) {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var opts []grpc.ServerOption
	if creds != nil {
		opts = append(opts, grpc.Creds(creds))
	}
	srv := grpc.NewServer(opts...)
	f := &fakeServer{scripts: make(chan script, 16), refreshes: make(chan *srv1.RefreshLeaseRequest, 16), refreshAnswers: make(chan error, 16)}
	srv1.RegisterStatusReportServiceServer(srv, f)
	grpc_health_v1.RegisterHealthServer(srv, f)
	go srv.Serve(lis)
	t.Cleanup(srv.Stop)
	return f, lis.Addr().String()
}

func dial(t *testing.T, addr string, opts ...Option) *Client {
	t.Helper()
	c, err := Dial(addr, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func snapshot(rev uint64, last bool) *srv1.WatchStatusResponse {
	return &srv1.WatchStatusResponse{Revision: rev, Event: &srv1.WatchStatusResponse_Snapshot{Snapshot: &srv1.Snapshot{Last: last}}}
}

func changed(rev uint64, st int32) *srv1.WatchStatusResponse {
	return &srv1.WatchStatusResponse{Revision: rev, Event: &srv1.WatchStatusResponse_StatusChanged{StatusChanged: &srv1.StatusChanged{Group: "g", Identifier: "main", Status: st}}}
}

func starts(reqs []*srv1.WatchStatusRequest) []int64 {
	var out []int64
	for _, r := range reqs {
		if r.StartRevision == nil {
			out = append(out, -1)
		} else {
			out = append(out, int64(r.GetStartRevision()))
		}
	}
	return out
}

func equal(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

var errDone = errors.New("done")

func TestCallsSendTheirFieldsAndTheBearerToken(t *testing.T) {
	f, addr := start(t, nil)
	c := dial(t, addr, WithToken("s3cret"))
	ctx := ctxT(t)
	created, err := c.RegisterGroup(ctx, "g", InitialStatus(-1, "starting"), ReportCapacity(0))
	if err != nil || !created {
		t.Fatalf("RegisterGroup: created=%v err=%v (options not sent)", created, err)
	}
	if got := f.lastAuth(); got != "Bearer s3cret" {
		t.Fatalf("authorization = %q", got)
	}
	if r, err := c.SetStatus(ctx, "g", "", 1); err != nil || r.GetOldStatus() != -1 {
		t.Fatalf("SetStatus without details sent details: %v %v", r, err)
	}
	if r, err := c.SetStatus(ctx, "g", "", 1, ""); err != nil || r.GetOldStatus() != 0 {
		t.Fatalf("SetStatus with empty details did not send them: %v %v", r, err)
	}
	if _, err := c.SetStatus(ctx, "g", "", 1, "a", "b"); err == nil {
		t.Fatal("SetStatus accepted two details")
	}
	if ready, st, err := c.Check(ctx, "g", "all"); err != nil || ready || st != -4 {
		t.Fatalf("Check = %v %v %v", ready, st, err)
	}
	if _, _, err := c.Check(ctx, "nope", ""); status.Code(err) != codes.NotFound {
		t.Fatalf("Check of an unknown group: %v", err)
	}
	if st, err := c.HealthCheck(ctx, "g/main"); err != nil || st != grpc_health_v1.HealthCheckResponse_NOT_SERVING {
		t.Fatalf("HealthCheck = %v %v", st, err)
	}
	if got := f.lastAuth(); got != "Bearer s3cret" {
		t.Fatalf("authorization on health = %q", got)
	}
}

func TestListReportsJoinsPages(t *testing.T) {
	_, addr := start(t, nil)
	c := dial(t, addr)
	groups, rev, err := c.ListReports(ctxT(t), "", "")
	if err != nil {
		t.Fatal(err)
	}
	if rev != 11 || len(groups) != 2 || groups[0].GetGroup() != "a" || groups[1].GetGroup() != "b" {
		t.Fatalf("rev %d groups %v", rev, groups)
	}
	ids := groups[0].GetIdentifiers()
	if len(ids) != 2 || len(ids[0].GetReports()) != 3 || ids[0].GetReports()[2].GetSequence() != 3 || ids[1].GetIdentifier() != "x" {
		t.Fatalf("group a not joined: %v", ids)
	}
}

func TestWatchResumesFromTheLastRevisionAfterADrop(t *testing.T) {
	f, addr := start(t, nil)
	c := dial(t, addr)
	f.scripts <- script{msgs: []*srv1.WatchStatusResponse{snapshot(5, true), changed(6, -1)}, end: status.Error(codes.Unavailable, "connection lost")}
	f.scripts <- script{msgs: []*srv1.WatchStatusResponse{changed(9, 1)}, end: errHang}
	var got []uint64
	var retries []time.Duration
	req := &srv1.WatchStatusRequest{Group: "g", IncludeReports: true}
	err := c.Watch(ctxT(t), req, func(m *srv1.WatchStatusResponse) error {
		got = append(got, m.GetRevision())
		if len(got) == 3 {
			return errDone
		}
		return nil
	}, WithBackoff(10*time.Millisecond, time.Second), OnRetry(func(err error, d time.Duration) {
		if status.Code(err) != codes.Unavailable {
			t.Errorf("retry after %v", err)
		}
		retries = append(retries, d)
	}))
	if err != errDone {
		t.Fatalf("Watch returned %v, want the handler's error", err)
	}
	if !equal([]int64{int64(got[0]), int64(got[1]), int64(got[2])}, []int64{5, 6, 9}) {
		t.Fatalf("got revisions %v", got)
	}
	reqs := f.watchRequests()
	if !equal(starts(reqs), []int64{-1, 6}) || !reqs[1].GetIncludeReports() || reqs[1].GetGroup() != "g" {
		t.Fatalf("requests %v", reqs)
	}
	if len(retries) != 1 || retries[0] < 0 || retries[0] > 10*time.Millisecond {
		t.Fatalf("retry delays %v", retries)
	}
	if req.StartRevision != nil {
		t.Fatal("Watch modified the caller's request")
	}
}

func TestWatchDropInsideASnapshotBringsAWholeNewOne(t *testing.T) {
	f, addr := start(t, nil)
	c := dial(t, addr)
	f.scripts <- script{msgs: []*srv1.WatchStatusResponse{snapshot(5, false)}, end: status.Error(codes.Unavailable, "gone")}
	f.scripts <- script{msgs: []*srv1.WatchStatusResponse{snapshot(5, false), snapshot(5, true)}, end: errHang}
	var resync []bool
	err := c.Watch(ctxT(t), &srv1.WatchStatusRequest{}, func(m *srv1.WatchStatusResponse) error {
		resync = append(resync, m.GetSnapshot().GetResync())
		if m.GetSnapshot().GetLast() {
			return errDone
		}
		return nil
	}, WithBackoff(time.Millisecond, time.Millisecond))
	// The parts of the second snapshot say it replaces what came before.
	if err != errDone || len(resync) != 3 || resync[0] || !resync[1] || !resync[2] || !equal(starts(f.watchRequests()), []int64{-1, -1}) {
		t.Fatalf("err %v, resync flags %v, starts %v", err, resync, starts(f.watchRequests()))
	}
}

func TestWatchFallsBackToAFreshSnapshot(t *testing.T) {
	f, addr := start(t, nil)
	c := dial(t, addr)
	// Caller's start revision too old; later, a restarted server is behind.
	f.scripts <- script{msgs: nil, end: rich(codes.OutOfRange, "too old", "HISTORY_COMPACTED", map[string]string{"oldest_revision": "40"})}
	f.scripts <- script{msgs: []*srv1.WatchStatusResponse{snapshot(90, true)}, end: nil}
	f.scripts <- script{msgs: nil, end: rich(codes.InvalidArgument, "too new", "REVISION_AHEAD", map[string]string{"field": "start_revision"})}
	f.scripts <- script{msgs: []*srv1.WatchStatusResponse{snapshot(4, true)}, end: errHang}
	start := uint64(3)
	var got []uint64
	var ended []error
	err := c.Watch(ctxT(t), &srv1.WatchStatusRequest{StartRevision: &start}, func(m *srv1.WatchStatusResponse) error {
		if !m.GetSnapshot().GetResync() {
			t.Errorf("fallback snapshot at %d not marked resync", m.GetRevision())
		}
		got = append(got, m.GetRevision())
		if len(got) == 2 {
			return errDone
		}
		return nil
	}, WithBackoff(time.Millisecond, time.Millisecond), OnRetry(func(err error, _ time.Duration) { ended = append(ended, err) }))
	if err != errDone || len(got) != 2 || got[0] != 90 || got[1] != 4 {
		t.Fatalf("err %v got %v", err, got)
	}
	if want := []int64{3, -1, 90, -1}; !equal(starts(f.watchRequests()), want) {
		t.Fatalf("start revisions %v, want %v", starts(f.watchRequests()), want)
	}
	if len(ended) != 1 || ended[0] != ErrStreamEnded {
		t.Fatalf("retries %v", ended)
	}
}

func TestWatchFallbackGoesByTheReasonNeverTheCodeOrMessage(t *testing.T) {
	f, addr := start(t, nil)
	c := dial(t, addr)
	// A resumed watch meets the old codes and words without a reason: returned, no fresh snapshot.
	for _, end := range []error{
		status.Error(codes.InvalidArgument, "start_revision: 90 is above the current revision 4"),
		status.Error(codes.OutOfRange, "start_revision: 3 is older than the history"),
	} {
		f.scripts <- script{msgs: []*srv1.WatchStatusResponse{snapshot(90, true)}, end: nil}
		f.scripts <- script{msgs: nil, end: end}
		err := c.Watch(ctxT(t), &srv1.WatchStatusRequest{}, func(*srv1.WatchStatusResponse) error { return nil }, WithBackoff(time.Millisecond, time.Millisecond))
		if status.Code(err) != status.Code(end) || ReasonOf(err) != "" {
			t.Fatalf("after %v the watch returned %v", end, err)
		}
	}
	// REVISION_AHEAD on the caller's own start revision is the caller's mistake.
	f.scripts <- script{msgs: nil, end: rich(codes.InvalidArgument, "too new", "REVISION_AHEAD", nil)}
	ahead := uint64(99)
	err := c.Watch(ctxT(t), &srv1.WatchStatusRequest{StartRevision: &ahead}, func(*srv1.WatchStatusResponse) error { return nil })
	if ReasonOf(err) != "REVISION_AHEAD" || len(f.watchRequests()) != 5 {
		t.Fatalf("err %v after %d calls", err, len(f.watchRequests()))
	}
}

func TestWatchWithoutResumeReturnsACompactedHistoryWithItsOldestRevision(t *testing.T) {
	f, addr := start(t, nil)
	c := dial(t, addr)
	f.scripts <- script{msgs: nil, end: rich(codes.OutOfRange, "too old", "HISTORY_COMPACTED", map[string]string{"field": "start_revision", "oldest_revision": "40"})}
	old := uint64(3)
	err := c.Watch(ctxT(t), &srv1.WatchStatusRequest{StartRevision: &old}, func(*srv1.WatchStatusResponse) error { return nil }, WithResume(false))
	var e *Error
	if !errors.As(err, &e) || e.Reason != "HISTORY_COMPACTED" || e.OldestRevision != 40 || e.Code != codes.OutOfRange {
		t.Fatalf("Watch returned %#v", err)
	}
	// A stream the server ends, or a dropped one, is not called again either.
	f.scripts <- script{msgs: []*srv1.WatchStatusResponse{snapshot(5, true)}, end: nil}
	var got []uint64
	err = c.Watch(ctxT(t), &srv1.WatchStatusRequest{}, func(m *srv1.WatchStatusResponse) error { got = append(got, m.GetRevision()); return nil }, WithResume(false))
	if err != ErrStreamEnded || len(got) != 1 || got[0] != 5 {
		t.Fatalf("err %v, revisions %v", err, got)
	}
	f.scripts <- script{msgs: nil, end: status.Error(codes.Unavailable, "gone")}
	err = c.Watch(ctxT(t), &srv1.WatchStatusRequest{}, func(*srv1.WatchStatusResponse) error { return nil }, WithResume(false))
	if status.Code(err) != codes.Unavailable || len(f.watchRequests()) != 3 {
		t.Fatalf("err %v after %d calls", err, len(f.watchRequests()))
	}
}

func TestErrorsCarryTheReasonAndFactsTheServerSent(t *testing.T) {
	_, addr := start(t, nil)
	c := dial(t, addr)
	ctx := ctxT(t)
	_, _, err := c.Check(ctx, "nope", "")
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("Check returned %T %v, not an *Error", err, err)
	}
	if e.Code != codes.NotFound || e.Message != "group 'nope' not found" || e.Reason != "GROUP_NOT_FOUND" || e.Domain != ErrorDomain ||
		len(e.Metadata) != 1 || e.Metadata["group"] != "nope" || e.Resource == nil || *e.Resource != (Resource{"sr.v1.Group", "nope"}) || e.OldestRevision != 0 {
		t.Fatalf("error %#v", e)
	}
	if status.Code(err) != codes.NotFound || status.Convert(err).Message() != e.Message || len(status.Convert(err).Details()) != 2 ||
		!errors.Is(err, status.Convert(err).Err()) {
		t.Fatalf("not a gRPC status error any more: %v", err)
	}
	if got := err.Error(); got != "rpc error: code = NotFound reason = GROUP_NOT_FOUND desc = group 'nope' not found" {
		t.Fatalf("Error() = %q", got)
	}
	_, err = c.SetStatus(ctx, "g", "", 0)
	if e := ErrorOf(err); e == nil || e.Reason != "STATUS_ZERO" || len(e.FieldViolations) != 1 || e.FieldViolations[0] != (FieldViolation{"status", "status: must not be 0"}) {
		t.Fatalf("SetStatus 0: %#v", e)
	}
	// The generated client on the same connection fails the same way.
	if _, err := c.SR.CheckStatus(ctx, &srv1.CheckStatusRequest{Group: "nope"}); ReasonOf(err) != "GROUP_NOT_FOUND" || !errors.As(err, &e) {
		t.Fatalf("SR.CheckStatus: %T %v", err, err)
	}
	// ReasonOf reads any gRPC status error, wrapped too; only the SR domain's reasons count.
	plain, _ := status.New(codes.OutOfRange, "x").WithDetails(&errdetails.ErrorInfo{Reason: "HISTORY_COMPACTED", Domain: ErrorDomain})
	if got := ReasonOf(fmt.Errorf("watching: %w", plain.Err())); got != "HISTORY_COMPACTED" {
		t.Fatalf("ReasonOf a wrapped status error = %q", got)
	}
	if _, _, err := c.Check(ctx, "elsewhere", ""); ReasonOf(err) != "" || ErrorOf(err).Reason != "GROUP_NOT_FOUND" || ErrorOf(err).Domain != "example.com" {
		t.Fatalf("another domain's reason: %#v", ErrorOf(err))
	}
	_, _, err = c.Check(ctx, "plain", "")
	if e := ErrorOf(err); e == nil || e.Code != codes.Internal || e.Reason != "" || e.Error() != "rpc error: code = Internal desc = internal error" {
		t.Fatalf("an error without details: %#v", e)
	}
	if ReasonOf(nil) != "" || ErrorOf(nil) != nil || ErrorOf(errors.New("not a call")) != nil {
		t.Fatal("an error that is not a gRPC status error has a reason")
	}
}

func TestWatchStartsOverWhenAnotherRegistryAnswers(t *testing.T) {
	f, addr := start(t, nil)
	c := dial(t, addr)
	f.scripts <- script{msgs: []*srv1.WatchStatusResponse{snapshot(5, true), changed(6, -1)}, end: status.Error(codes.Unavailable, "gone"), registry: "reg-A"}
	f.scripts <- script{msgs: []*srv1.WatchStatusResponse{changed(7, 1)}, end: errHang, registry: "reg-B"} // revision 7 of another registry
	f.scripts <- script{msgs: []*srv1.WatchStatusResponse{snapshot(3, true)}, end: errHang, registry: "reg-B"}
	var got []uint64
	err := c.Watch(ctxT(t), &srv1.WatchStatusRequest{}, func(m *srv1.WatchStatusResponse) error {
		got = append(got, m.GetRevision())
		if len(got) == 3 {
			if !m.GetSnapshot().GetResync() {
				t.Errorf("the other registry's snapshot is not marked resync: %v", m)
			}
			return errDone
		}
		return nil
	}, WithBackoff(time.Millisecond, time.Millisecond))
	if err != errDone || len(got) != 3 || got[0] != 5 || got[1] != 6 || got[2] != 3 {
		t.Fatalf("err %v, revisions %v", err, got)
	}
	if want := []int64{-1, 6, -1}; !equal(starts(f.watchRequests()), want) {
		t.Fatalf("start revisions %v, want %v", starts(f.watchRequests()), want)
	}
}

func TestWatchEndsWhenTheClientCloses(t *testing.T) {
	f, addr := start(t, nil)
	c, err := Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	f.scripts <- script{msgs: []*srv1.WatchStatusResponse{snapshot(1, true)}, end: errHang}
	done := make(chan error, 1)
	first := make(chan struct{})
	go func() {
		done <- c.Watch(context.Background(), &srv1.WatchStatusRequest{}, func(*srv1.WatchStatusResponse) error { close(first); return nil })
	}()
	<-first
	c.Close()
	select {
	case err := <-done:
		if status.Code(err) != codes.Canceled {
			t.Fatalf("Watch returned %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Watch did not end when its Client closed")
	}
}

func TestWatchReturnsACallersMistakeAndStopsAfterMaxRetries(t *testing.T) {
	f, addr := start(t, nil)
	c := dial(t, addr)
	f.scripts <- script{msgs: nil, end: rich(codes.InvalidArgument, "identifier: `all` is not allowed", "NAME_RESERVED", nil)}
	err := c.Watch(ctxT(t), &srv1.WatchStatusRequest{Group: "g", Identifier: "all"}, func(*srv1.WatchStatusResponse) error { return nil })
	if status.Code(err) != codes.InvalidArgument || ReasonOf(err) != "NAME_RESERVED" || len(f.watchRequests()) != 1 {
		t.Fatalf("err %v after %d calls", err, len(f.watchRequests()))
	}
	for i := 0; i < 4; i++ {
		f.scripts <- script{msgs: nil, end: status.Error(codes.Unavailable, "down")}
	}
	var delays []time.Duration
	err = c.Watch(ctxT(t), &srv1.WatchStatusRequest{}, func(*srv1.WatchStatusResponse) error { return nil },
		WithBackoff(4*time.Millisecond, 10*time.Millisecond), WithMaxRetries(3),
		OnRetry(func(_ error, d time.Duration) { delays = append(delays, d) }))
	if status.Code(err) != codes.Unavailable || len(f.watchRequests()) != 5 || len(delays) != 3 {
		t.Fatalf("err %v, %d calls, delays %v", err, len(f.watchRequests()), delays)
	}
	for i, limit := range []time.Duration{4, 8, 10} {
		if delays[i] < 0 || delays[i] > limit*time.Millisecond {
			t.Fatalf("delay %d = %v, above %vms", i, delays[i], limit)
		}
	}
}

func TestWatchEndsWithItsContext(t *testing.T) {
	f, addr := start(t, nil)
	c := dial(t, addr)
	f.scripts <- script{msgs: []*srv1.WatchStatusResponse{snapshot(1, true)}, end: errHang}
	ctx, cancel := context.WithCancel(ctxT(t))
	done := make(chan error, 1)
	first := make(chan struct{})
	go func() {
		done <- c.Watch(ctx, &srv1.WatchStatusRequest{}, func(*srv1.WatchStatusResponse) error { close(first); return nil })
	}()
	<-first
	cancel()
	select {
	case err := <-done:
		if err != context.Canceled {
			t.Fatalf("Watch returned %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Watch did not end with its context")
	}
}

func TestTLSWithAPrivateCA(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "localhost"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, IsCA: true, BasicConstraintsValid: true,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	f, addr := start(t, credentials.NewTLS(&tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}))
	roots := x509.NewCertPool()
	roots.AddCert(leaf)
	c := dial(t, addr, WithTLS(&tls.Config{RootCAs: roots}), WithToken("t"))
	if _, err := c.RegisterGroup(ctxT(t), "g"); err != nil {
		t.Fatalf("over TLS: %v", err)
	}
	if f.lastAuth() != "Bearer t" {
		t.Fatalf("authorization = %q", f.lastAuth())
	}
	pemCA := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	if _, err := dial(t, addr, WithRootCAs(pemCA)).RegisterGroup(ctxT(t), "g"); err != nil {
		t.Fatalf("over TLS with WithRootCAs: %v", err)
	}
	if _, err := Dial(addr, WithRootCAs([]byte("not a certificate"))); err == nil {
		t.Fatal("WithRootCAs accepted no certificate")
	}
	plain := dial(t, addr) // plaintext to a TLS server
	if _, err := plain.RegisterGroup(ctxT(t), "g"); status.Code(err) != codes.Unavailable {
		t.Fatalf("plaintext to TLS: %v", err)
	}
}

// refreshed waits for the publisher's next RefreshLease and answers it.
func refreshed(t *testing.T, f *fakeServer, answer error) *srv1.RefreshLeaseRequest {
	t.Helper()
	select {
	case req := <-f.refreshes:
		f.refreshAnswers <- answer
		return req
	case <-time.After(10 * time.Second):
		t.Fatal("no RefreshLease came")
		return nil
	}
}

func TestPublisherSetsTheStatusOnceThenOnlyRefreshesTheLease(t *testing.T) {
	f, addr := start(t, nil)
	c := dial(t, addr)
	p, err := c.Publish(ctxT(t), "g", "db", 3, 300*time.Millisecond, "up")
	if err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	for i := 0; i < 3; i++ {
		if req := refreshed(t, f, nil); req.GetGroup() != "g" || req.GetIdentifier() != "db" || req.Ttl != nil {
			t.Fatalf("RefreshLease %v", req)
		}
	}
	// Every ttl/3: three refreshes take about one ttl, never much less.
	if elapsed := time.Since(began); elapsed < 250*time.Millisecond {
		t.Fatalf("three refreshes in %v: faster than every ttl/3", elapsed)
	}
	p.Stop()
	if p.Err() != nil {
		t.Fatalf("Err after Stop = %v", p.Err())
	}
	sets := f.setRequests()
	if len(sets) != 1 || sets[0].GetTtl().AsDuration() != 300*time.Millisecond || sets[0].GetDetails() != "up" || sets[0].GetStatus() != 3 {
		t.Fatalf("SetStatus requests %v: want exactly one, with the ttl", sets)
	}
	select {
	case req := <-f.refreshes:
		t.Fatalf("a refresh after Stop: %v", req)
	default:
	}
}

func TestPublisherRetriesATransientErrorAndSurfacesALostLease(t *testing.T) {
	f, addr := start(t, nil)
	c := dial(t, addr)
	p, err := c.Publish(ctxT(t), "g", "", 1, 300*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	refreshed(t, f, status.Error(codes.Unavailable, "blip"))
	refreshed(t, f, nil) // retried, and the lease lives on
	refreshed(t, f, rich(codes.FailedPrecondition, "no lease", "LEASE_NOT_ARMED", nil))
	select {
	case <-p.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the publisher kept going after LEASE_NOT_ARMED")
	}
	if err := p.Err(); !errors.Is(err, ErrLeaseLost) || ReasonOf(err) != "LEASE_NOT_ARMED" {
		t.Fatalf("Err = %v (reason %q)", err, ReasonOf(err))
	}
	if n := len(f.setRequests()); n != 1 {
		t.Fatalf("%d SetStatus calls: a publisher writes its status once", n)
	}
}
