package awsclient

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
)

// This file reports, on the logger, AWS calls that take long: retries once
// the call has lasted ReportAfter, and an attempt still unanswered after
// ReportAfter. A quick retry of a throttled call says nothing; a job that
// seems stuck says why.

// callState is one operation, retries included; the per-attempt middleware
// finds it in the context.
type callState struct {
	start    time.Time
	attempts int
	lastErr  error
}

type callStateKey struct{}

// reporter adds the two middlewares around the SDK's Retry middleware.
type reporter struct {
	log         *slog.Logger
	after       time.Duration // report what lasts longer than this
	maxAttempts int
}

func (r reporter) addTo(stack *middleware.Stack) error {
	outer := middleware.FinalizeMiddlewareFunc("ami-bakery/call", func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
		return next.HandleFinalize(context.WithValue(ctx, callStateKey{}, &callState{start: time.Now()}), in)
	})
	if err := stack.Finalize.Insert(outer, "Retry", middleware.Before); err != nil {
		return fmt.Errorf("adding the AWS call reporter: %w", err)
	}
	return stack.Finalize.Insert(middleware.FinalizeMiddlewareFunc("ami-bakery/attempt", r.attempt), "Retry", middleware.After)
}

// attempt runs once per attempt, inside the retry loop.
func (r reporter) attempt(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
	st, ok := ctx.Value(callStateKey{}).(*callState)
	if !ok {
		return next.HandleFinalize(ctx, in)
	}
	st.attempts++
	name := fmt.Sprintf("%s in %s", awsmiddleware.GetOperationName(ctx), awsmiddleware.GetRegion(ctx))
	if st.attempts > 1 && time.Since(st.start) >= r.after {
		r.log.Warn(fmt.Sprintf("%s: retrying (%d/%d) after %s", name, st.attempts, r.maxAttempts, errorCode(st.lastErr)))
	}
	n := st.attempts
	slow := time.AfterFunc(r.after, func() {
		r.log.Warn(fmt.Sprintf("%s: no answer yet after %s (attempt %d/%d)", name, r.after, n, r.maxAttempts))
	})
	out, md, err := next.HandleFinalize(ctx, in)
	slow.Stop()
	st.lastErr = err
	return out, md, err
}

// errorCode names an attempt's error briefly: EC2's error code, or what
// went wrong on the way.
func errorCode(err error) string {
	var api smithy.APIError
	var ne net.Error
	switch {
	case err == nil:
		return "no error"
	case errors.As(err, &api):
		return api.ErrorCode()
	case errors.As(err, &ne) && ne.Timeout():
		return "a timeout"
	}
	return "a connection error"
}
