// Command publish publishes a status and a report to an SR server. With
// -ttl it sets the status with a lease and keeps the lease alive (a
// srclient.Publisher) until interrupted, -for passes, or the lease is lost.
//
//	go run ./examples/publish -target 127.0.0.1:50051 -group billing [-ttl 15s]
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/status-report/sr/clients/go/srclient"
)

func main() {
	target := flag.String("target", envOr("SR_TARGET", "127.0.0.1:50051"), "server address")
	group := flag.String("group", "billing", "group to publish")
	token := flag.String("token", os.Getenv("SR_TOKEN"), "bearer token (or env SR_TOKEN)")
	ca := flag.String("ca", "", "PEM file of the CA to trust; turns TLS on")
	ttl := flag.Duration("ttl", 0, "publish with a lease of this long (1s or more) and keep it alive")
	hold := flag.Duration("for", 0, "with -ttl: stop after this long (0: when interrupted)")
	flag.Parse()

	sr, err := srclient.Dial(*target, options(*token, *ca)...)
	if err != nil {
		log.Fatal(err)
	}
	defer sr.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	// Idempotent: a restarted publisher simply registers again.
	if _, err := sr.RegisterGroup(ctx, *group, srclient.InitialStatus(-1, "starting"), srclient.ReportCapacity(100)); err != nil {
		log.Fatal(err)
	}
	if _, err := sr.AddReport(ctx, *group, "", "connected to the database"); err != nil {
		log.Fatal(err)
	}
	if *ttl > 0 {
		keepAlive(sr, *group, *ttl, *hold)
		return
	}
	r, err := sr.SetStatus(ctx, *group, "", 1, "running")
	if err != nil {
		log.Fatal(err)
	}
	ready, _, err := sr.Check(ctx, *group, "")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s: status 1 (ready=%v) at revision %d\n", *group, ready, r.GetRevision())
}

// keepAlive sets the status once with a lease, then only refreshes it: should
// this process die, the server marks the status expired after ttl.
func keepAlive(sr *srclient.Client, group string, ttl, hold time.Duration) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if hold > 0 {
		ctx, stop = context.WithTimeout(ctx, hold)
		defer stop()
	}
	p, err := sr.Publish(ctx, group, "", 1, ttl, "running")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s: status 1 at revision %d, lease %v\n", group, p.Response.GetRevision(), ttl)
	<-p.Done()
	if err := p.Err(); err != nil {
		log.Fatal(err) // the lease was lost: ReasonOf(err) says why
	}
}

func options(token, caFile string) []srclient.Option {
	var opts []srclient.Option
	if token != "" {
		opts = append(opts, srclient.WithToken(token))
	}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			log.Fatal(err)
		}
		roots := x509.NewCertPool()
		if !roots.AppendCertsFromPEM(pem) {
			log.Fatalf("%s: no PEM certificate", caFile)
		}
		opts = append(opts, srclient.WithTLS(&tls.Config{RootCAs: roots}))
	}
	return opts
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
