// Command srtest is the Go side of the cross-language tests
// (test/crosslang/*.test.ts), built with the srclient helper.
//
//	srtest probe -target T -group G -from R -until U
//	    reads G back (GetStatus, ListReports, CheckStatus, grpc.health.v1),
//	    watches it from revision R up to U and once from a snapshot, and
//	    prints one JSON document
//	srtest watch -target T -group G [-from R]
//	    prints every watch message as a JSON line, and {"retry": CODE} lines
//	srtest errors -target T -group G -from R
//	    prints the errors of an unknown group, of status 0 in G and of
//	    watching G from R without resume, one JSON line each (see errorJSON)
//	srtest mkcert -dir D
//	    writes a self-signed cert.pem/key.pem for localhost and 127.0.0.1
package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"

	"github.com/status-report/sr/clients/go/srclient"
	"github.com/status-report/sr/clients/go/srv1"

	"sr-crosslang/shape"
)

func main() {
	if len(os.Args) < 2 {
		fail(errors.New("usage: srtest probe|watch|errors|mkcert ..."))
	}
	fs := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	target := fs.String("target", "", "server address")
	group := fs.String("group", "", "group")
	from := fs.Int64("from", -1, "start revision (-1: snapshot)")
	until := fs.Uint64("until", 0, "probe: watch up to this revision")
	dir := fs.String("dir", "", "mkcert: output directory")
	fs.Parse(os.Args[2:])
	var err error
	switch os.Args[1] {
	case "probe":
		err = withClient(*target, func(ctx context.Context, sr *srclient.Client) error { return probe(ctx, sr, *group, *from, *until) })
	case "watch":
		err = watch(*target, *group, *from)
	case "errors":
		err = withClient(*target, func(ctx context.Context, sr *srclient.Client) error { return errorsOf(ctx, sr, *group, *from) })
	case "mkcert":
		err = mkcert(*dir)
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "srtest:", err)
	os.Exit(1)
}

// withClient runs f with a Client of target and a deadline that ends a hung probe.
func withClient(target string, f func(context.Context, *srclient.Client) error) error {
	sr, err := srclient.Dial(target)
	if err != nil {
		return err
	}
	defer sr.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	return f(ctx, sr)
}

func watchRequest(group string, from int64) *srv1.WatchStatusRequest {
	req := &srv1.WatchStatusRequest{Group: group, IncludeDetails: true, IncludeReports: true, IncludeRegistrations: true}
	if from >= 0 {
		r := uint64(from)
		req.StartRevision = &r
	}
	return req
}

var errDone = errors.New("done")

// errorJSON is the shape both languages print for an error of the helper.
func errorJSON(err error) (map[string]interface{}, error) {
	var e *srclient.Error
	if !errors.As(err, &e) {
		return nil, fmt.Errorf("not an *srclient.Error: %T %v", err, err)
	}
	violations := []map[string]string{}
	for _, v := range e.FieldViolations {
		violations = append(violations, map[string]string{"field": v.Field, "description": v.Description})
	}
	var resource interface{}
	if e.Resource != nil {
		resource = map[string]string{"type": e.Resource.Type, "name": e.Resource.Name}
	}
	var oldest interface{}
	if e.OldestRevision != 0 {
		oldest = e.OldestRevision
	}
	metadata := e.Metadata
	if metadata == nil {
		metadata = map[string]string{}
	}
	return map[string]interface{}{
		"code": shape.Code(err), "message": e.Message, "reason": e.Reason, "domain": e.Domain, "metadata": metadata,
		"oldest_revision": oldest, "field_violations": violations, "resource": resource,
	}, nil
}

// errorsOf makes calls that fail and prints how the helper's error describes each failure.
func errorsOf(ctx context.Context, sr *srclient.Client, group string, from int64) error {
	calls := []struct {
		op   string
		call func() error
	}{
		{"unknown_group", func() error { _, _, err := sr.Check(ctx, "nope", ""); return err }},
		{"status_zero", func() error { _, err := sr.SetStatus(ctx, group, "", 0); return err }},
		{"history_compacted", func() error {
			return sr.Watch(ctx, watchRequest(group, from), func(*srv1.WatchStatusResponse) error { return errDone }, srclient.WithResume(false))
		}},
	}
	enc := json.NewEncoder(os.Stdout)
	for _, c := range calls {
		line := map[string]interface{}{"op": c.op, "error": nil}
		if err := c.call(); err != nil && err != errDone {
			if line["error"], err = errorJSON(err); err != nil {
				return fmt.Errorf("%s: %w", c.op, err)
			}
		}
		if err := enc.Encode(line); err != nil {
			return err
		}
	}
	return nil
}

func probe(ctx context.Context, sr *srclient.Client, group string, from int64, until uint64) error {
	out := map[string]interface{}{}

	statuses := map[string]interface{}{}
	for _, id := range []string{"", "db", "all"} {
		s, err := sr.GetStatus(ctx, group, id)
		if err != nil {
			return fmt.Errorf("GetStatus %q: %w", id, err)
		}
		statuses[id] = map[string]interface{}{"status": shape.Status(s), "ready": s.GetReady(), "revision": s.GetRevision(), "update_time_ms": s.GetUpdateTime().AsTime().UnixMilli()}
	}
	out["get_status"] = statuses
	if _, err := sr.GetStatus(ctx, group, "nope"); err != nil {
		out["get_status_unknown"] = shape.Code(err)
	}
	ready, st, err := sr.Check(ctx, group, "db")
	if err != nil {
		return err
	}
	out["check_db"] = map[string]interface{}{"ready": ready, "status": st}

	groups, _, err := sr.ListReports(ctx, group, "")
	if err != nil {
		return err
	}
	var reports []map[string]interface{}
	for _, g := range groups {
		for _, id := range g.GetIdentifiers() {
			texts, seqs := []string{}, []uint64{}
			for _, r := range id.GetReports() {
				texts, seqs = append(texts, r.GetText()), append(seqs, r.GetSequence())
				if r.GetTime().AsTime().Before(time.Now().Add(-time.Minute)) {
					return fmt.Errorf("report %q has an old time %v", r.GetText(), r.GetTime().AsTime())
				}
			}
			reports = append(reports, map[string]interface{}{"group": g.GetGroup(), "identifier": id.GetIdentifier(), "capacity": id.GetCapacity(), "texts": texts, "sequences": seqs})
		}
	}
	out["list_reports"] = reports

	health := map[string]string{}
	for _, name := range []string{"", "sr.v1.StatusReportService", group, group + "/db", strings.ToUpper(group) + "/DB", group + "/nope"} {
		s, err := sr.HealthCheck(ctx, name)
		if err != nil {
			health[name] = shape.Code(err)
		} else {
			health[name] = s.String()
		}
	}
	out["health"] = health

	// Resume from a revision: exactly the changes after it, no snapshot.
	var resumed []map[string]interface{}
	err = sr.Watch(ctx, watchRequest(group, from), func(m *srv1.WatchStatusResponse) error {
		resumed = append(resumed, shape.Event(m))
		if m.GetRevision() >= until {
			return errDone
		}
		return nil
	}, srclient.WithMaxRetries(0))
	if err != errDone {
		return fmt.Errorf("watch from %d: %w", from, err)
	}
	out["watch_resumed"] = resumed

	var snap []map[string]interface{}
	err = sr.Watch(ctx, watchRequest(group, -1), func(m *srv1.WatchStatusResponse) error {
		snap = append(snap, shape.Event(m))
		if m.GetSnapshot().GetLast() {
			return errDone
		}
		return nil
	}, srclient.WithMaxRetries(0))
	if err != errDone {
		return fmt.Errorf("watch snapshot: %w", err)
	}
	out["watch_snapshot"] = snap
	return json.NewEncoder(os.Stdout).Encode(out)
}

func watch(target, group string, from int64) error {
	// Reconnect quickly: the tests drop connections on purpose.
	fast := grpc.ConnectParams{Backoff: backoff.Config{BaseDelay: 50 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: 300 * time.Millisecond}, MinConnectTimeout: 5 * time.Second}
	sr, err := srclient.Dial(target, srclient.WithDialOptions(grpc.WithConnectParams(fast)))
	if err != nil {
		return err
	}
	defer sr.Close()
	enc := json.NewEncoder(os.Stdout)
	return sr.Watch(context.Background(), watchRequest(group, from), func(m *srv1.WatchStatusResponse) error {
		return enc.Encode(shape.Event(m))
	}, srclient.WithBackoff(50*time.Millisecond, 500*time.Millisecond), srclient.OnRetry(func(err error, _ time.Duration) {
		enc.Encode(map[string]string{"retry": shape.Code(err)})
	}))
}

func mkcert(dir string) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: "localhost"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, IsCA: true, BasicConstraintsValid: true,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "cert.pem"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "key.pem"), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600)
}
