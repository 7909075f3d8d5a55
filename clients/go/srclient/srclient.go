// Package srclient is a small helper over the generated sr.v1 stubs (package
// srv1) of the Status/Report service: connect (plaintext or TLS, optional
// bearer token), register, set status, add reports, check, read, and a watch
// that resumes after a dropped connection.
//
// Everything it does not wrap is one call away on Client.SR (the generated
// srv1.StatusReportServiceClient) and Client.Health (grpc-go's own
// grpc_health_v1.HealthClient), over the same connection and token.
//
// Every call of a Client fails with an *Error: a gRPC status error that also
// carries the reason the server gave (Reason, or ReasonOf(err)), e.g.
// GROUP_NOT_FOUND. Act on the reason, never on the message.
//
// An empty identifier means `main` to the server.
package srclient

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health/grpc_health_v1"

	"github.com/status-report/sr/clients/go/srv1"
)

// Client is a connection to an SR server. It is safe for concurrent use.
type Client struct {
	conn *grpc.ClientConn
	// SR is the generated client of sr.v1.StatusReportService, for every RPC.
	SR srv1.StatusReportServiceClient
	// Health is grpc.health.v1.Health: "" is the server itself, "group" a
	// group aggregated, "group/identifier" one identifier.
	Health grpc_health_v1.HealthClient
}

type config struct {
	tls      *tls.Config
	useTLS   bool
	rootPEM  []byte
	token    string
	dialOpts []grpc.DialOption
}

// Option configures Dial.
type Option func(*config)

// WithTLS connects over TLS. A nil config trusts the system roots; set
// RootCAs to trust a private CA and Certificates for a client certificate.
// Without WithTLS the connection is plaintext.
func WithTLS(c *tls.Config) Option {
	return func(cfg *config) {
		cfg.useTLS = true
		cfg.tls = c
	}
}

// WithRootCAs connects over TLS trusting only the CA certificates in pem
// (PEM-encoded, e.g. a private CA's cert.pem) instead of the system roots.
// Certificates that do not parse make Dial fail rather than fall back to an
// untrusted or plaintext connection.
func WithRootCAs(pem []byte) Option {
	return func(cfg *config) {
		cfg.useTLS = true
		cfg.rootPEM = pem
	}
}

// WithToken sends `authorization: Bearer <token>` with every call. Over a
// plaintext connection the token crosses the network in clear: use TLS
// off-host.
func WithToken(token string) Option {
	return func(cfg *config) { cfg.token = token }
}

// WithDialOptions adds grpc.DialOptions (interceptors, keepalive, ...).
func WithDialOptions(opts ...grpc.DialOption) Option {
	return func(cfg *config) { cfg.dialOpts = append(cfg.dialOpts, opts...) }
}

// Dial returns a Client for target ("host:port"). Like grpc.Dial it does not
// wait for the connection: the first call reports an unreachable server as
// codes.Unavailable.
func Dial(target string, opts ...Option) (*Client, error) {
	var cfg config
	for _, o := range opts {
		o(&cfg)
	}
	var dial []grpc.DialOption
	if cfg.useTLS {
		tc := &tls.Config{}
		if cfg.tls != nil {
			tc = cfg.tls.Clone() // the caller's config stays as it was
		}
		if cfg.rootPEM != nil {
			roots := x509.NewCertPool()
			if !roots.AppendCertsFromPEM(cfg.rootPEM) {
				return nil, errors.New("srclient: WithRootCAs: no PEM certificate found")
			}
			tc.RootCAs = roots
		}
		dial = append(dial, grpc.WithTransportCredentials(credentials.NewTLS(tc)))
	} else {
		dial = append(dial, grpc.WithInsecure())
	}
	if cfg.token != "" {
		dial = append(dial, grpc.WithPerRPCCredentials(bearerToken(cfg.token)))
	}
	// grpc-go waits up to 120s between reconnection attempts by default,
	// which would hold a watch back long after the server is back: cap it
	// at the watch's own default backoff (WithDialOptions can change it).
	reconnect := backoff.DefaultConfig
	reconnect.MaxDelay = 10 * time.Second
	dial = append(dial, grpc.WithConnectParams(grpc.ConnectParams{Backoff: reconnect, MinConnectTimeout: 20 * time.Second}))
	// First, so outermost: the caller's own interceptors still see grpc-go's errors.
	dial = append(dial, grpc.WithChainUnaryInterceptor(unaryErrors), grpc.WithChainStreamInterceptor(streamErrors))
	dial = append(dial, cfg.dialOpts...)
	conn, err := grpc.Dial(target, dial...)
	if err != nil {
		return nil, fmt.Errorf("srclient: dial %s: %w", target, err)
	}
	return &Client{conn: conn, SR: srv1.NewStatusReportServiceClient(conn), Health: grpc_health_v1.NewHealthClient(conn)}, nil
}

// Conn returns the underlying connection.
func (c *Client) Conn() *grpc.ClientConn { return c.conn }

// Close closes the connection; running calls and watches end.
func (c *Client) Close() error { return c.conn.Close() }

type bearerToken string

func (t bearerToken) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + string(t)}, nil
}

// RequireTransportSecurity is false so a token also works on plaintext
// connections (a local server, a TLS-terminating proxy).
func (bearerToken) RequireTransportSecurity() bool { return false }

// RegisterOption sets an optional field of a registration.
type RegisterOption func(*registration)

type registration struct {
	status   *int32
	details  *string
	capacity *uint32
}

// InitialStatus sets the status and details of what the registration
// creates (ignored when it already exists).
func InitialStatus(status int32, details string) RegisterOption {
	return func(r *registration) { r.status, r.details = &status, &details }
}

// ReportCapacity sets the report ring's capacity (0..32767; default 50). When
// the group or identifier exists with another capacity the call fails with
// codes.AlreadyExists (reason CAPACITY_MISMATCH).
func ReportCapacity(n uint32) RegisterOption {
	return func(r *registration) { r.capacity = &n }
}

func registrationOf(opts []RegisterOption) registration {
	var r registration
	for _, o := range opts {
		o(&r)
	}
	return r
}

// RegisterGroup registers a public group with its `main` identifier. It is
// idempotent: created is false when the group existed.
func (c *Client) RegisterGroup(ctx context.Context, group string, opts ...RegisterOption) (created bool, err error) {
	r := registrationOf(opts)
	resp, err := c.SR.RegisterGroup(ctx, &srv1.RegisterGroupRequest{
		Group: group, Status: r.status, Details: r.details, ReportCapacity: r.capacity,
	})
	if err != nil {
		return false, err
	}
	return resp.GetCreated(), nil
}

// RegisterIdentifier registers an identifier in a public group. It is
// idempotent: created is false when the identifier existed.
func (c *Client) RegisterIdentifier(ctx context.Context, group, identifier string, opts ...RegisterOption) (created bool, err error) {
	r := registrationOf(opts)
	resp, err := c.SR.RegisterIdentifier(ctx, &srv1.RegisterIdentifierRequest{
		Group: group, Identifier: identifier, Status: r.status, Details: r.details, ReportCapacity: r.capacity,
	})
	if err != nil {
		return false, err
	}
	return resp.GetCreated(), nil
}

// SetStatus sets a status (> 0 ready, < 0 not ready, never 0) and, when
// given, its details. Without details the identifier's details are cleared;
// SetStatus(ctx, g, id, 1, "") stores empty details.
func (c *Client) SetStatus(ctx context.Context, group, identifier string, status int32, details ...string) (*srv1.SetStatusResponse, error) {
	req := &srv1.SetStatusRequest{Group: group, Identifier: identifier, Status: status}
	switch len(details) {
	case 0:
	case 1:
		req.Details = &details[0]
	default:
		return nil, errors.New("srclient: SetStatus takes at most one details string")
	}
	return c.SR.SetStatus(ctx, req)
}

// RefreshLease restarts the identifier's armed lease without writing
// anything (no revision); it fails with reason LEASE_NOT_ARMED when none is
// armed. A Publisher calls it for you.
func (c *Client) RefreshLease(ctx context.Context, group, identifier string) (*srv1.RefreshLeaseResponse, error) {
	return c.SR.RefreshLease(ctx, &srv1.RefreshLeaseRequest{Group: group, Identifier: identifier})
}

// AddReport appends a report to an identifier's ring (the oldest is dropped
// when it is full).
func (c *Client) AddReport(ctx context.Context, group, identifier, text string) (*srv1.AddReportResponse, error) {
	return c.SR.AddReport(ctx, &srv1.AddReportRequest{Group: group, Identifier: identifier, Text: text})
}

// Check tells whether an identifier (or, with identifier "all", the group
// aggregated) is ready, and its status.
func (c *Client) Check(ctx context.Context, group, identifier string) (ready bool, status int32, err error) {
	resp, err := c.SR.CheckStatus(ctx, &srv1.CheckStatusRequest{Group: group, Identifier: identifier})
	if err != nil {
		return false, 0, err
	}
	return resp.GetReady(), resp.GetStatus(), nil
}

// GetStatus returns one identifier's full status (or the group aggregated,
// with identifier "all").
func (c *Client) GetStatus(ctx context.Context, group, identifier string) (*srv1.IdentifierStatus, error) {
	resp, err := c.SR.GetStatus(ctx, &srv1.GetStatusRequest{Group: group, Identifier: identifier})
	if err != nil {
		return nil, err
	}
	return resp.GetStatus(), nil
}

// ListReports returns the reports of one identifier, of every identifier of
// a group (identifier ""), or of everything (group ""), reading every page
// and joining the entries a page boundary split. revision is the first
// page's: watching from it misses nothing.
func (c *Client) ListReports(ctx context.Context, group, identifier string) (groups []*srv1.GroupReports, revision uint64, err error) {
	token := ""
	for page := 0; ; page++ {
		resp, err := c.SR.ListReports(ctx, &srv1.ListReportsRequest{Group: group, Identifier: identifier, PageToken: token})
		if err != nil {
			return nil, 0, err
		}
		if page == 0 {
			revision = resp.GetRevision()
		}
		for _, g := range resp.GetGroups() {
			if n := len(groups); n > 0 && groups[n-1].GetGroup() == g.GetGroup() {
				prev := groups[n-1]
				for _, id := range g.GetIdentifiers() {
					if m := len(prev.Identifiers); m > 0 && prev.Identifiers[m-1].GetIdentifier() == id.GetIdentifier() {
						prev.Identifiers[m-1].Reports = append(prev.Identifiers[m-1].Reports, id.GetReports()...)
					} else {
						prev.Identifiers = append(prev.Identifiers, id)
					}
				}
				continue
			}
			groups = append(groups, g)
		}
		token = resp.GetNextPageToken()
		if token == "" {
			return groups, revision, nil
		}
	}
}

// HealthCheck asks grpc.health.v1.Health/Check about a service name: "" is
// the server itself, "group" a group aggregated, "group/identifier" one
// identifier.
func (c *Client) HealthCheck(ctx context.Context, service string) (grpc_health_v1.HealthCheckResponse_ServingStatus, error) {
	resp, err := c.Health.Check(ctx, &grpc_health_v1.HealthCheckRequest{Service: service})
	if err != nil {
		return grpc_health_v1.HealthCheckResponse_UNKNOWN, err
	}
	return resp.GetStatus(), nil
}
