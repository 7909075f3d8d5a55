package srclient

import (
	"context"
	"errors"
	"io"
	"math/rand"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/status-report/sr/clients/go/srv1"
)

// ErrStreamEnded is what Watch returns when the server kept ending the
// stream (a graceful stop) until WithMaxRetries was exhausted, or ended it
// once under WithResume(false).
var ErrStreamEnded = errors.New("srclient: the server ended the watch stream")

// Retryable reports whether a watch reconnects (with backoff) after an error
// of this code rather than returning it: the connection or the server went
// away, or a limit was hit that may clear. Anything else (InvalidArgument,
// PermissionDenied, Unauthenticated, ...) is the caller's to handle.
// Canceled is not in this set: Watch itself retries a Canceled stream when the
// server cancelled it (a forced stop), and returns it when the Client was closed.
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
	resume       bool
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

// WithResume(false) makes Watch call WatchStatus once: it returns every error
// (HISTORY_COMPACTED with its OldestRevision included) instead of
// reconnecting or starting over, and ErrStreamEnded when the server ends the
// stream. The default is true.
func WithResume(resume bool) WatchOption {
	return func(c *watchConfig) { c.resume = resume }
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

// RegistryIDHeader is the initial metadata of a WatchStatus stream naming
// the registry instance behind it; a resume point is only used with the
// registry it came from.
const RegistryIDHeader = "sr-registry-id"

// Watch streams WatchStatus messages to handle, reconnecting after a dropped
// connection, until ctx is done (it returns ctx.Err()), handle returns an
// error (it returns that error), or the server answers an error that a retry
// cannot fix (it returns that error; see Retryable).
//
// Without req.StartRevision a snapshot comes first (one or more Snapshot
// messages, the final one with Last true), then the changes.
//
// After a retryable error, or when the server ends the stream, Watch waits a
// random delay (full jitter, see WithBackoff) and calls WatchStatus again
// with StartRevision = the last revision it delivered, so no change is
// missed or repeated.
//
// When that is impossible it starts over with a fresh snapshot whose parts
// carry Resync true: drop what you built and rebuild from it. That happens
// when the server no longer holds the history (reason HISTORY_COMPACTED),
// when a restarted server is behind that revision (REVISION_AHEAD, after a
// resume of its own) or is another registry instance (its RegistryIDHeader
// differs), and when the connection dropped in the middle of a snapshot.
//
// The errors of its WatchStatus calls are *Error (see ReasonOf).
//
// req is not modified. handle runs on the calling goroutine.
func (c *Client) Watch(ctx context.Context, req *srv1.WatchStatusRequest, handle func(*srv1.WatchStatusResponse) error, opts ...WatchOption) error {
	cfg := watchConfig{initial: 200 * time.Millisecond, max: 10 * time.Second, maxRetries: -1, resume: true}
	for _, o := range opts {
		o(&cfg)
	}
	w := &watchState{rnd: newRand()}
	if req.StartRevision != nil {
		r := req.GetStartRevision()
		w.resume = &r
	}
	base := proto.Clone(req).(*srv1.WatchStatusRequest)
	failures := 0
	for {
		attempt := proto.Clone(base).(*srv1.WatchStatusRequest)
		attempt.StartRevision = w.resume
		err := c.watchOnce(ctx, attempt, w, func(m *srv1.WatchStatusResponse) error {
			failures = 0
			return handle(m)
		})
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var handled handlerError
		if errors.As(err, &handled) {
			return handled.err
		}
		if err == errSwitched {
			continue // another registry: a fresh snapshot at once
		}
		if !cfg.resume {
			if err == nil {
				return ErrStreamEnded
			}
			return err
		}
		if err != nil {
			code, reason := status.Code(err), ReasonOf(err)
			if w.resume != nil && (reason == "HISTORY_COMPACTED" || (reason == "REVISION_AHEAD" && w.resumedByUs)) {
				// The history no longer reaches the resume point: start
				// again from a snapshot, now.
				w.restart()
				continue
			}
			if !(Retryable(code) || code == codes.Canceled && c.conn.GetState() != connectivity.Shutdown) {
				return err // Canceled by Close, or the caller's mistake
			}
		} else {
			err = ErrStreamEnded
		}
		if w.inSnapshot {
			// Dropped inside a snapshot: its parts so far are not a whole
			// state, so a whole new one (marked resync) must come.
			w.restart()
		}
		failures++
		if cfg.maxRetries >= 0 && failures > cfg.maxRetries {
			return err
		}
		limit := cfg.initial
		for i := 1; i < failures && limit < cfg.max; i++ {
			limit *= 2
		}
		if limit > cfg.max {
			limit = cfg.max
		}
		var delay time.Duration
		if limit > 0 {
			delay = time.Duration(w.rnd.Int63n(int64(limit) + 1))
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

// watchState is what a watch carries from one WatchStatus call to the next.
type watchState struct {
	rnd         *rand.Rand
	resume      *uint64 // the last revision delivered (resume point)
	resumedByUs bool    // resume came from the stream, not from the caller
	registryID  string  // the registry resume belongs to
	inSnapshot  bool
	resync      bool // the next snapshot replaces what was delivered
}

func (w *watchState) restart() {
	w.resume, w.resumedByUs, w.registryID, w.inSnapshot, w.resync = nil, false, "", false, true
}

type handlerError struct{ err error }

func (h handlerError) Error() string { return h.err.Error() }

var errSwitched = errors.New("srclient: another registry answered")

// watchOnce runs one WatchStatus call; a nil error means the server ended it.
func (c *Client) watchOnce(ctx context.Context, req *srv1.WatchStatusRequest, w *watchState, handle func(*srv1.WatchStatusResponse) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := c.SR.WatchStatus(ctx, req)
	if err != nil {
		return err
	}
	first := true
	for {
		msg, err := stream.Recv()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if first {
			first = false
			if md, err := stream.Header(); err == nil {
				if ids := md.Get(RegistryIDHeader); len(ids) > 0 {
					if w.registryID != "" && ids[0] != w.registryID && w.resume != nil {
						// Another registry (a restarted server): its
						// revisions mean something else. Start over.
						w.restart()
						return errSwitched
					}
					w.registryID = ids[0]
				}
			}
		}
		if snap := msg.GetSnapshot(); snap != nil {
			w.inSnapshot = !snap.GetLast()
			if w.resync {
				snap.Resync = true
			}
			if snap.GetLast() {
				w.resync = false
				r := msg.GetRevision()
				w.resume, w.resumedByUs = &r, true
			}
		} else if !w.inSnapshot {
			r := msg.GetRevision()
			w.resume, w.resumedByUs = &r, true
		}
		if err := handle(msg); err != nil {
			return handlerError{err}
		}
	}
}
