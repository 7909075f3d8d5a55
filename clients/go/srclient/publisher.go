package srclient

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/status-report/sr/clients/go/srv1"
)

// ErrLeaseLost is what a Publisher's Err matches (errors.Is) once it stopped
// because its lease is gone: the server answered LEASE_NOT_ARMED (the lease
// ran out, or another writer disarmed it) or NOT_FOUND (the identifier was
// unregistered), refused the refresh for good, or could not be reached for a
// whole ttl. ReasonOf(err) gives the server's reason.
var ErrLeaseLost = errors.New("srclient: lease lost")

// LeaseLostError is the error behind ErrLeaseLost, with the refresh's error.
type LeaseLostError struct{ Err error }

func (e *LeaseLostError) Error() string { return fmt.Sprintf("%v: %v", ErrLeaseLost, e.Err) }

// Unwrap gives errors.As and ReasonOf the refresh's *Error.
func (e *LeaseLostError) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrLeaseLost) true.
func (e *LeaseLostError) Is(target error) bool { return target == ErrLeaseLost }

// Publisher holds one identifier's status alive with a lease: Publish sets
// the status once with a ttl, then a goroutine calls RefreshLease every ttl/3
// until Stop, ctx's end, or the lease is lost. It never writes the status
// again, so it never overwrites what another writer set meanwhile; when the
// process dies the refreshes stop and the server marks the status expired
// after ttl.
type Publisher struct {
	// Response is the answer to the SetStatus that armed the lease.
	Response *srv1.SetStatusResponse

	cancel context.CancelFunc
	done   chan struct{}
	mu     sync.Mutex
	err    error
}

// Publish sets group/identifier's status (and details, when given) with a
// lease of ttl (1 s to 30 days) and starts refreshing it. The SetStatus
// error, if any, is returned at once. The refreshes stop when ctx is done.
func (c *Client) Publish(ctx context.Context, group, identifier string, status int32, ttl time.Duration, details ...string) (*Publisher, error) {
	if len(details) > 1 {
		return nil, errors.New("srclient: Publish takes at most one details string")
	}
	req := &srv1.SetStatusRequest{Group: group, Identifier: identifier, Status: status, Ttl: durationpb.New(ttl)}
	if len(details) == 1 {
		req.Details = &details[0]
	}
	resp, err := c.SR.SetStatus(ctx, req)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	p := &Publisher{Response: resp, cancel: cancel, done: make(chan struct{})}
	go p.refresh(ctx, func(ctx context.Context) error {
		_, err := c.RefreshLease(ctx, group, identifier)
		return err
	}, ttl)
	return p, nil
}

// Stop ends the refreshes and waits for the goroutine to finish. The lease
// then runs out ttl after the last refresh (unless another write re-arms it).
func (p *Publisher) Stop() {
	p.cancel()
	<-p.done
}

// Done is closed once the publisher stopped: after Stop, ctx's end, or a
// lost lease (see Err).
func (p *Publisher) Done() <-chan struct{} { return p.done }

// Err is nil while the publisher runs and after Stop or ctx's end; once the
// lease was lost it is a *LeaseLostError (errors.Is(err, ErrLeaseLost)).
func (p *Publisher) Err() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

func (p *Publisher) refresh(ctx context.Context, refreshLease func(context.Context) error, ttl time.Duration) {
	defer close(p.done)
	interval := ttl / 3
	// Sooner than the interval after a transient failure, so that several
	// attempts fit before the lease runs out.
	retry := interval / 4
	alive := time.Now() // the lease runs until alive + ttl
	timer := time.NewTimer(interval)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		// A hung call must not outlive the lease: bound it by the interval.
		callCtx, cancel := context.WithTimeout(ctx, interval)
		sent := time.Now()
		err := refreshLease(callCtx)
		cancel()
		switch {
		case err == nil:
			alive = sent
			timer.Reset(interval)
		case ctx.Err() != nil:
			return
		case !Retryable(status.Code(err)) || time.Since(alive)+retry >= ttl:
			p.mu.Lock()
			p.err = &LeaseLostError{Err: err}
			p.mu.Unlock()
			return
		default:
			timer.Reset(retry)
		}
	}
}
