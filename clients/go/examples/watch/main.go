// Command watch prints the status changes of a group on an SR server,
// resuming after a dropped connection.
//
//	go run ./examples/watch -target 127.0.0.1:50051 -group billing
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"time"

	"github.com/status-report/sr/clients/go/srclient"
	"github.com/status-report/sr/clients/go/srv1"
)

var errEnough = errors.New("enough changes")

func main() {
	target := flag.String("target", envOr("SR_TARGET", "127.0.0.1:50051"), "server address")
	group := flag.String("group", "billing", "group to watch")
	token := flag.String("token", os.Getenv("SR_TOKEN"), "bearer token (or env SR_TOKEN)")
	ca := flag.String("ca", "", "PEM file of the CA to trust; turns TLS on")
	count := flag.Int("count", 0, "exit after this many changes (0: never)")
	flag.Parse()

	sr, err := srclient.Dial(*target, options(*token, *ca)...)
	if err != nil {
		log.Fatal(err)
	}
	defer sr.Close()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	changes := 0
	err = sr.Watch(ctx, &srv1.WatchStatusRequest{Group: *group}, func(m *srv1.WatchStatusResponse) error {
		switch ev := m.Event.(type) {
		case *srv1.WatchStatusResponse_Snapshot:
			for _, s := range ev.Snapshot.GetIdentifiers() {
				fmt.Printf("%s/%s: %d (%s)\n", s.GetGroup(), s.GetIdentifier(), s.GetStatus(), describe(s.Details))
			}
			if ev.Snapshot.GetLast() {
				fmt.Printf("watching %s from revision %d\n", *group, m.GetRevision())
			}
		case *srv1.WatchStatusResponse_StatusChanged:
			c := ev.StatusChanged
			fmt.Printf("%s/%s: %d -> %d (%s) at revision %d\n", c.GetGroup(), c.GetIdentifier(), c.GetOldStatus(), c.GetStatus(), describe(c.Details), m.GetRevision())
			if changes++; changes == *count {
				return errEnough
			}
		}
		return nil
	}, srclient.OnRetry(func(err error, delay time.Duration) {
		log.Printf("reconnecting in %v: %v", delay.Round(time.Millisecond), err)
	}))
	if err != nil && err != errEnough && err != context.Canceled {
		log.Fatal(err)
	}
}

func describe(details *string) string {
	if details == nil {
		return "no details"
	}
	return fmt.Sprintf("%q", *details)
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
