package topics

import (
	"errors"
	"strings"
)

// FieldError says which field of an event is invalid and why.
type FieldError struct {
	Field  string
	Reason string
	// Err is an optional sentinel the error wraps (for example ErrUnknownStore).
	Err error
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Reason }

// Unwrap returns the wrapped sentinel, if any.
func (e *FieldError) Unwrap() error { return e.Err }

// ErrUnknownStore is wrapped by validation errors for a store id that is
// not in store_info.
var ErrUnknownStore = errors.New("unknown store")

// Fields lists the fields named by every FieldError in err (which may be
// joined with errors.Join), in order, for DLQ records and API problems.
func Fields(err error) []string {
	var out []string
	var walk func(error)
	walk = func(e error) {
		if e == nil {
			return
		}
		if fe, ok := e.(*FieldError); ok { //nolint:errorlint // walking the tree by hand
			out = append(out, fe.Field)
			return
		}
		switch x := e.(type) { //nolint:errorlint // walking the tree by hand
		case interface{ Unwrap() []error }:
			for _, c := range x.Unwrap() {
				walk(c)
			}
		case interface{ Unwrap() error }:
			walk(x.Unwrap())
		}
	}
	walk(err)
	return out
}

// Reason renders a validation error on one line, "; "-separated, for DLQ
// records and logs.
func Reason(err error) string {
	if err == nil {
		return ""
	}
	return strings.ReplaceAll(err.Error(), "\n", "; ")
}
