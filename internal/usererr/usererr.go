// Package usererr marks errors with what the user can do about them.
//
// Errors stay ordinary wrapped errors (lowercase, "%w", saying what was being
// attempted); this package only attaches two optional facts that the command
// line reports separately: a hint (printed as "ami-bakery: hint: ...") and
// whether the error is a usage error (exit status 2 rather than 1).
package usererr

import (
	"errors"
	"fmt"
)

type hinted struct {
	err  error
	hint string
}

func (e *hinted) Error() string { return e.err.Error() }
func (e *hinted) Unwrap() error { return e.err }

// WithHint returns err carrying a hint for the user. A nil err stays nil.
func WithHint(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	return &hinted{err: err, hint: fmt.Sprintf(format, args...)}
}

// Hints returns every hint in err's chain, outermost first.
func Hints(err error) []string {
	var out []string
	walk(err, func(e error) {
		if h, ok := e.(*hinted); ok {
			out = append(out, h.hint)
		}
	})
	return out
}

type usage struct{ err error }

func (e *usage) Error() string { return e.err.Error() }
func (e *usage) Unwrap() error { return e.err }

// Usage marks err as a usage error: the command line itself was wrong.
func Usage(err error) error {
	if err == nil {
		return nil
	}
	return &usage{err: err}
}

// Usagef is Usage(fmt.Errorf(format, args...)).
func Usagef(format string, args ...any) error { return Usage(fmt.Errorf(format, args...)) }

// IsUsage reports whether err's chain holds a usage error.
func IsUsage(err error) bool {
	var u *usage
	return errors.As(err, &u)
}

type gate struct{ err error }

func (e *gate) Error() string { return e.err.Error() }
func (e *gate) Unwrap() error { return e.err }

// Gate marks err as a rule that held the run back on purpose: a test that
// failed, a promotion gate that does not hold, a revoked AMI. The command
// line exits 3 for it.
func Gate(err error) error {
	if err == nil {
		return nil
	}
	return &gate{err: err}
}

// IsGate reports whether err's chain holds a Gate error.
func IsGate(err error) bool {
	var g *gate
	return errors.As(err, &g)
}

// walk visits err and everything it wraps, depth first, including the
// branches of errors.Join.
func walk(err error, visit func(error)) {
	if err == nil {
		return
	}
	visit(err)
	switch x := err.(type) {
	case interface{ Unwrap() []error }:
		for _, e := range x.Unwrap() {
			walk(e, visit)
		}
	case interface{ Unwrap() error }:
		walk(x.Unwrap(), visit)
	}
}
