package srclient

import (
	"context"
	"errors"
	"io"
	"math/rand"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/status-report/sr/clients/go/srv1"
)

// ErrStreamEnded is what Watch returns when the server kept ending the
// stream (a graceful stop) until WithMaxRetries was exhausted.
var ErrStreamEnded = errors.New("srclient: the server ended the watch stream")

// Retryable reports whether a watch reconnects (with backoff) after an error
// of this code rather than returning it: the connection or the server went
// away, or a limit was hit that may clear. Anything else (InvalidArgument,
// PermissionDenied, Unauthenticated, ...) is the caller's to handle.
func Retryable(code codes.Code) bool {
	switch code {
	case codes.Unavailable, codes.DeadlineExceeded, codes.ResourceExhausted,
		codes.Aborted, codes.Internal, codes.Unknown:
		return true
	}
	return false
}

type watchConfig struct {
	initial, max time.Duration
	maxRetries   int
	onRetry      func(err error, delay time.Duration)
}

// WatchOption configures Watch.
type WatchOption func(*watchConfig)

// WithBackoff sets the reconnection delays: a random delay (full jitter)
// between 0 and initial, doubling with every consecutive failure up to max.
// The defaults are 200ms and 10s.
func WithBackoff(initial, max time.Duration) WatchOption {
	return func(c *watchConfig) { c.initial, c.max = initial, max }
}

// WithMaxRetries bounds the consecutive failed attempts (default: retry until
// the context is done). A received message resets the count.
func WithMaxRetries(n int) WatchOption {
	return func(c *watchConfig) { c.maxRetries = n }
}

// OnRetry is called before each reconnection delay with the error (or
// ErrStreamEnded) that ended the previous attempt.
func OnRetry(f func(err error, delay time.Duration)) WatchOption {
	return func(c *watchConfig) { c.onRetry = f }
}

var (
	seedMu sync.Mutex
	seed   = rand.New(rand.NewSource(time.Now().UnixNano()))
)

func newRand() *rand.Rand {
	seedMu.Lock()
	defer seedMu.Unlock()
	return rand.New(rand.NewSource(seed.Int63()))
}

// Watch streams WatchStatus messages to handle, reconnecting after a dropped
// connection, until ctx is done (it returns ctx.Err()), handle returns an
// error (it returns that error), or the server answers an error that a retry
// cannot fix (it returns that error; see Retryable).
//
// Without req.StartRevision a snapshot comes first (one or more Snapshot
// messages, the final one with Last true), then the changes. After a
// retryable error, or when the server ends the stream, Watch waits a
// jittered backoff and calls WatchStatus again with StartRevision = the last
// revision it received, so no change is missed or repeated (a snapshot
// counts only once its Last part has arrived). When the server no longer
// holds that history (codes.OutOfRange, or codes.InvalidArgument because a
// restarted server is behind that revision), it starts over with a fresh
// snapshot: treat every snapshot as replacing what you knew.
//
// req is not modified. handle runs on the calling goroutine.
func (c *Client) Watch(ctx context.Context, req *srv1.WatchStatusRequest, handle func(*srv1.WatchStatusResponse) error, opts ...WatchOption) error {
	cfg := watchConfig{initial: 200 * time.Millisecond, max: 10 * time.Second, maxRetries: -1}
	for _, o := range opts {
		o(&cfg)
	}
	rnd := newRand()
	base := proto.Clone(req).(*srv1.WatchStatusRequest)
	var resume *uint64
	if req.StartRevision != nil {
		r := req.GetStartRevision()
		resume = &r
	}
	resumedByUs := false // resume came from this stream, not from the caller
	failures := 0
	for {
		attempt := proto.Clone(base).(*srv1.WatchStatusRequest)
		attempt.StartRevision = resume
		err := c.watchOnce(ctx, attempt, handle, func(msg *srv1.WatchStatusResponse) {
			failures = 0
			// A snapshot can only be resumed from once complete: a drop in
			// the middle of one must bring a whole new one.
			if snap := msg.GetSnapshot(); snap == nil || snap.GetLast() {
				r := msg.GetRevision()
				resume = &r
				resumedByUs = true
			}
		})
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var handled handlerError
		if errors.As(err, &handled) {
			return handled.err
		}
		if err != nil {
			code := status.Code(err)
			if resume != nil && (code == codes.OutOfRange || (code == codes.InvalidArgument && resumedByUs)) {
				// The history is gone: start again from a snapshot, now.
				resume, resumedByUs = nil, false
				continue
			}
			if !Retryable(code) {
				return err
			}
		} else {
			err = ErrStreamEnded
		}
		failures++
		if cfg.maxRetries >= 0 && failures > cfg.maxRetries {
			return err
		}
		limit := cfg.initial << uint(minInt(failures-1, 30))
		if limit > cfg.max || limit <= 0 {
			limit = cfg.max
		}
		var delay time.Duration
		if limit > 0 {
			delay = time.Duration(rnd.Int63n(int64(limit) + 1))
		}
		if cfg.onRetry != nil {
			cfg.onRetry(err, delay)
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

type handlerError struct{ err error }

func (h handlerError) Error() string { return h.err.Error() }

// watchOnce runs one WatchStatus call; a nil error means the server ended it.
func (c *Client) watchOnce(ctx context.Context, req *srv1.WatchStatusRequest, handle func(*srv1.WatchStatusResponse) error, seen func(*srv1.WatchStatusResponse)) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := c.SR.WatchStatus(ctx, req)
	if err != nil {
		return err
	}
	for {
		msg, err := stream.Recv()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		seen(msg)
		if err := handle(msg); err != nil {
			return handlerError{err}
		}
	}
}

func minInt(a, b int) int {
	if a < b {
		return a
	}
	return b
}
