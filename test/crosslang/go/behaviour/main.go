// Command behaviour is the Go runner of the behaviour table
// (test/crosslang/behaviour/scenarios.json): it carries out every scenario
// with the srclient helper and prints one JSON line each.
//
//	behaviour -target ADDR -proxy ADDR -control URL
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/status-report/sr/clients/go/srclient"
	"github.com/status-report/sr/clients/go/srv1"

	"sr-crosslang/shape"
)

type result = map[string]interface{}

type runner struct {
	ctx      context.Context
	sr       *srclient.Client
	viaProxy *srclient.Client
	control  string
}

func main() {
	target := flag.String("target", "", "server address")
	proxy := flag.String("proxy", "", "the proxy's address, for the resume scenario")
	control := flag.String("control", "", "the harness's URL (POST /drop, /accept)")
	flag.Parse()
	if err := run(*target, *proxy, *control); err != nil {
		fmt.Fprintln(os.Stderr, "behaviour:", err)
		os.Exit(1)
	}
}

func run(target, proxy, control string) error {
	sr, err := srclient.Dial(target)
	if err != nil {
		return err
	}
	defer sr.Close()
	// Reconnect quickly: the resume scenario drops connections on purpose.
	fast := grpc.ConnectParams{Backoff: backoff.Config{BaseDelay: 50 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: 300 * time.Millisecond}, MinConnectTimeout: 5 * time.Second}
	viaProxy, err := srclient.Dial(proxy, srclient.WithDialOptions(grpc.WithConnectParams(fast)))
	if err != nil {
		return err
	}
	defer viaProxy.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	r := &runner{ctx: ctx, sr: sr, viaProxy: viaProxy, control: control}
	scenarios := []struct {
		name string
		run  func() (result, error)
	}{
		{"connect", r.connect}, {"publish_read", r.publishRead}, {"errors", r.errors}, {"watch", r.watch},
		{"resume", r.resume}, {"resync", r.resync}, {"lease", r.lease},
	}
	enc := json.NewEncoder(os.Stdout)
	for _, s := range scenarios {
		res, err := s.run()
		if err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
		if err := enc.Encode(result{"scenario": s.name, "result": res}); err != nil {
			return err
		}
	}
	return nil
}

// errorResult is the table's shape of an error: never its message.
func errorResult(err error) result {
	e := srclient.ErrorOf(err)
	if e == nil {
		return result{"not_an_sr_error": fmt.Sprint(err)}
	}
	fields := []string{}
	for _, v := range e.FieldViolations {
		fields = append(fields, v.Field)
	}
	var resource interface{}
	if e.Resource != nil {
		resource = result{"type": e.Resource.Type, "name": e.Resource.Name}
	}
	metadata := e.Metadata
	if metadata == nil {
		metadata = map[string]string{}
	}
	return result{"code": shape.Code(err), "reason": e.Reason, "domain": e.Domain, "metadata": metadata, "resource": resource, "fields": fields}
}

var errSucceeded = errors.New("the call succeeded")

func failure(err error) (result, error) {
	if err == nil {
		return nil, errSucceeded
	}
	return errorResult(err), nil
}

func details(s *srv1.IdentifierStatus) interface{} {
	if s.Details == nil {
		return nil
	}
	return s.GetDetails()
}

// watched is a watch read one message at a time, with revisions relative
// to its first message.
type watched struct {
	messages chan *srv1.WatchStatusResponse
	ended    chan error
	stop     context.CancelFunc
	base     *uint64
}

func (r *runner) watchFrom(c *srclient.Client, req *srv1.WatchStatusRequest, opts ...srclient.WatchOption) *watched {
	ctx, stop := context.WithCancel(r.ctx)
	w := &watched{messages: make(chan *srv1.WatchStatusResponse), ended: make(chan error, 1), stop: stop}
	opts = append(opts, srclient.WithBackoff(50*time.Millisecond, 500*time.Millisecond))
	go func() {
		w.ended <- c.Watch(ctx, req, func(m *srv1.WatchStatusResponse) error {
			select {
			case w.messages <- m:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}, opts...)
	}()
	return w
}

func (w *watched) next() (map[string]interface{}, error) {
	select {
	case m := <-w.messages:
		if w.base == nil {
			b := m.GetRevision()
			w.base = &b
		}
		e := shape.Event(m)
		e["revision"] = m.GetRevision() - *w.base
		return e, nil
	case err := <-w.ended:
		return nil, err
	case <-time.After(20 * time.Second):
		return nil, errors.New("no watch message within 20 s")
	}
}

func (w *watched) take(n int) ([]map[string]interface{}, error) {
	var out []map[string]interface{}
	for len(out) < n {
		e, err := w.next()
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

func (r *runner) harness(action string) error {
	resp, err := http.Post(r.control+"/"+action, "text/plain", nil)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode >= 300 {
		return fmt.Errorf("harness %s: %s", action, resp.Status)
	}
	return nil
}

func (r *runner) connect() (result, error) {
	ready, st, err := r.sr.Check(r.ctx, "core", "")
	if err != nil {
		return nil, err
	}
	created, err := r.sr.RegisterGroup(r.ctx, "bt-connect", srclient.InitialStatus(-1, "starting"), srclient.ReportCapacity(5))
	if err != nil {
		return nil, err
	}
	again, err := r.sr.RegisterGroup(r.ctx, "bt-connect", srclient.ReportCapacity(5))
	if err != nil {
		return nil, err
	}
	one := int32(1)
	id, err := r.sr.SR.RegisterIdentifier(r.ctx, &srv1.RegisterIdentifierRequest{Group: "bt-connect", Identifier: "db", Status: &one})
	if err != nil {
		return nil, err
	}
	return result{"server": result{"ready": ready, "status": st}, "created": created, "created_again": again, "identifier_created": id.GetCreated()}, nil
}

func (r *runner) publishRead() (result, error) {
	sr, ctx, g := r.sr, r.ctx, "bt-read"
	if _, err := sr.RegisterGroup(ctx, g, srclient.InitialStatus(-1, "starting"), srclient.ReportCapacity(2)); err != nil {
		return nil, err
	}
	set, err := sr.SetStatus(ctx, g, "", 1, "running")
	if err != nil {
		return nil, err
	}
	same, err := sr.SetStatus(ctx, g, "", 1, "running")
	if err != nil {
		return nil, err
	}
	sequences := []uint64{}
	for _, text := range []string{"one", "two", "three"} {
		rep, err := sr.AddReport(ctx, g, "", text)
		if err != nil {
			return nil, err
		}
		sequences = append(sequences, rep.GetSequence())
	}
	read, err := sr.GetStatus(ctx, g, "")
	if err != nil {
		return nil, err
	}
	if _, err := sr.SetStatus(ctx, g, "", 1); err != nil {
		return nil, err
	}
	cleared, err := sr.GetStatus(ctx, g, "")
	if err != nil {
		return nil, err
	}
	ready, st, err := sr.Check(ctx, g, "all")
	if err != nil {
		return nil, err
	}
	return result{
		"set":              result{"changed": set.GetChanged(), "old_status": set.GetOldStatus()},
		"set_same":         result{"changed": same.GetChanged(), "same_revision": same.GetRevision() == set.GetRevision()},
		"report_sequences": sequences,
		"read":             result{"status": read.GetStatus(), "details": details(read), "ready": read.GetReady()},
		"cleared_details":  details(cleared),
		"check_all":        result{"ready": ready, "status": st},
	}, nil
}

func (r *runner) errors() (result, error) {
	sr, ctx, g := r.sr, r.ctx, "bt-errors"
	if _, err := sr.RegisterGroup(ctx, g, srclient.ReportCapacity(0)); err != nil {
		return nil, err
	}
	calls := []struct {
		name string
		call func() error
	}{
		{"group_not_found", func() error { _, err := sr.GetStatus(ctx, "bt-nope", ""); return err }},
		{"identifier_not_found", func() error { _, err := sr.GetStatus(ctx, g, "nope"); return err }},
		{"status_zero", func() error { _, err := sr.SetStatus(ctx, g, "", 0); return err }},
		{"name_reserved", func() error { _, err := sr.RegisterIdentifier(ctx, g, "all"); return err }},
		{"reports_disabled", func() error { _, err := sr.AddReport(ctx, g, "", "x"); return err }},
		{"internal_group", func() error { _, err := sr.SetStatus(ctx, "core", "", 1); return err }},
		{"capacity_mismatch", func() error { _, err := sr.RegisterGroup(ctx, g, srclient.ReportCapacity(7)); return err }},
	}
	out := result{}
	for _, c := range calls {
		res, err := failure(c.call())
		if err != nil {
			return nil, fmt.Errorf("%s: %w", c.name, err)
		}
		out[c.name] = res
	}
	return out, nil
}

func (r *runner) watch() (result, error) {
	sr, ctx, g := r.sr, r.ctx, "bt-watch"
	if _, err := sr.RegisterGroup(ctx, g, srclient.InitialStatus(-1, "starting")); err != nil {
		return nil, err
	}
	w := r.watchFrom(sr, &srv1.WatchStatusRequest{Group: g, IncludeDetails: true, IncludeReports: true, IncludeRegistrations: true})
	defer w.stop()
	snapshot, err := w.next()
	if err != nil {
		return nil, err
	}
	two := int32(2)
	writes := []func() error{
		func() error { _, err := sr.SetStatus(ctx, g, "", 1, "up"); return err },
		func() error { _, err := sr.AddReport(ctx, g, "", "hello"); return err },
		func() error {
			_, err := sr.SR.RegisterIdentifier(ctx, &srv1.RegisterIdentifierRequest{Group: g, Identifier: "db", Status: &two})
			return err
		},
		func() error { _, err := sr.SetStatus(ctx, g, "", 1, ""); return err },
	}
	for _, write := range writes {
		if err := write(); err != nil {
			return nil, err
		}
	}
	events, err := w.take(4)
	if err != nil {
		return nil, err
	}
	return result{"snapshot": snapshot, "events": events}, nil
}

func (r *runner) resume() (result, error) {
	sr, ctx, g := r.sr, r.ctx, "bt-resume"
	if _, err := sr.RegisterGroup(ctx, g); err != nil {
		return nil, err
	}
	w := r.watchFrom(r.viaProxy, &srv1.WatchStatusRequest{Group: g, IncludeReports: true})
	defer w.stop()
	if _, err := w.next(); err != nil { // the snapshot
		return nil, err
	}
	if _, err := sr.SetStatus(ctx, g, "", -2, "one"); err != nil {
		return nil, err
	}
	before, err := w.take(1)
	if err != nil {
		return nil, err
	}
	if err := r.harness("drop"); err != nil {
		return nil, err
	}
	if _, err := sr.SetStatus(ctx, g, "", -3, "two"); err != nil {
		return nil, err
	}
	if _, err := sr.AddReport(ctx, g, "", "while away"); err != nil {
		return nil, err
	}
	if err := r.harness("accept"); err != nil {
		return nil, err
	}
	after, err := w.take(2)
	if err != nil {
		return nil, err
	}
	return result{"before_drop": before, "after_drop": after}, nil
}

func (r *runner) resync() (result, error) {
	sr, ctx, g := r.sr, r.ctx, "bt-resync"
	reg, err := sr.SR.RegisterGroup(ctx, &srv1.RegisterGroupRequest{Group: g})
	if err != nil {
		return nil, err
	}
	start := reg.GetRevision()
	for n := int32(1); n <= 6; n++ {
		if _, err := sr.SetStatus(ctx, g, "", -n, fmt.Sprintf("n%d", n)); err != nil {
			return nil, err
		}
	}
	once := r.watchFrom(sr, &srv1.WatchStatusRequest{Group: g, StartRevision: &start}, srclient.WithResume(false))
	defer once.stop()
	if _, err := once.next(); err == nil {
		return nil, errors.New("the watch from a compacted revision succeeded")
	} else {
		e := errorResult(err)
		compacted := result{"code": e["code"], "reason": e["reason"], "domain": e["domain"]}
		oldest := uint64(0)
		if se := srclient.ErrorOf(err); se != nil {
			oldest = se.OldestRevision
		}
		compacted["oldest_after_start"] = oldest > start
		resumed := r.watchFrom(sr, &srv1.WatchStatusRequest{Group: g, StartRevision: &start})
		defer resumed.stop()
		first, err := resumed.next()
		if err != nil {
			return nil, err
		}
		return result{"compacted": compacted, "first": first}, nil
	}
}

func (r *runner) lease() (result, error) {
	sr, ctx, g := r.sr, r.ctx, "bt-lease"
	minusOne := int32(-1)
	if _, err := sr.SR.RegisterGroup(ctx, &srv1.RegisterGroupRequest{Group: g, Status: &minusOne}); err != nil {
		return nil, err
	}
	shortTTL, err := failure(func() error {
		_, err := sr.SR.SetStatus(ctx, &srv1.SetStatusRequest{Group: g, Status: 1, Ttl: durationpb.New(500 * time.Millisecond)})
		return err
	}())
	if err != nil {
		return nil, err
	}
	notArmed, err := failure(func() error { _, err := sr.RefreshLease(ctx, g, ""); return err }())
	if err != nil {
		return nil, err
	}
	publisher, err := sr.Publish(ctx, g, "", 1, time.Second, "leased")
	if err != nil {
		return nil, err
	}
	defer publisher.Stop()
	refreshed, err := r.deadlineMoves(g)
	if err != nil {
		return nil, err
	}
	if _, err := sr.SetStatus(ctx, g, "", 2, "other"); err != nil { // another writer
		return nil, err
	}
	if _, err := r.deadlineMoves(g); err != nil { // the publisher refreshed after that write...
		return nil, err
	}
	kept, err := sr.GetStatus(ctx, g, "") // ...and did not overwrite it
	if err != nil {
		return nil, err
	}
	rev := kept.GetRevision()
	w := r.watchFrom(sr, &srv1.WatchStatusRequest{Group: g, StartRevision: &rev})
	defer w.stop()
	publisher.Stop()
	e, err := w.next()
	if err != nil {
		return nil, err
	}
	return result{
		"short_ttl": result{"code": shortTTL["code"], "reason": shortTTL["reason"]},
		"not_armed": result{"code": notArmed["code"], "reason": notArmed["reason"]},
		"refreshed": refreshed,
		"kept":      result{"status": kept.GetStatus(), "details": details(kept)},
		"expired":   result{"type": e["type"], "status": e["status"], "old_status": e["old_status"], "details": e["details"], "ready": e["ready"]},
	}, nil
}

// deadlineMoves polls the lease's deadline until a refresh moves it past
// where it is now (true), or 10 s pass.
func (r *runner) deadlineMoves(group string) (bool, error) {
	deadline := func() (time.Time, error) {
		s, err := r.sr.GetStatus(r.ctx, group, "")
		return s.GetLeaseExpireTime().AsTime(), err
	}
	now, err := deadline()
	if err != nil {
		return false, err
	}
	for giveUp := time.Now().Add(10 * time.Second); time.Now().Before(giveUp); time.Sleep(25 * time.Millisecond) {
		later, err := deadline()
		if err != nil {
			return false, err
		}
		if later.After(now) {
			return true, nil
		}
	}
	return false, nil
}
