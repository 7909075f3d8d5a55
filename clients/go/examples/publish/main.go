// Command publish publishes a status and a report to an SR server.
//
//	go run ./examples/publish -target 127.0.0.1:50051 -group billing
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"flag"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/status-report/sr/clients/go/srclient"
)

func main() {
	target := flag.String("target", envOr("SR_TARGET", "127.0.0.1:50051"), "server address")
	group := flag.String("group", "billing", "group to publish")
	token := flag.String("token", os.Getenv("SR_TOKEN"), "bearer token (or env SR_TOKEN)")
	ca := flag.String("ca", "", "PEM file of the CA to trust; turns TLS on")
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
