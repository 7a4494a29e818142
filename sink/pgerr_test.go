package sink

import (
	"context"
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
)

func TestTranslate(t *testing.T) {
	t.Parallel()
	pg := func(code string) error { return fmt.Errorf("exec: %w", &pgconn.PgError{Code: code, Message: "m"}) }
	other := errors.New("something else")
	tests := []struct {
		name string
		err  error
		want error // sentinel, or nil for "unchanged"
	}{
		{"admin shutdown", pg("57P01"), ErrUnavailable},
		{"cannot connect now", pg("57P03"), ErrUnavailable},
		{"connection failure", pg("08006"), ErrUnavailable},
		{"too many connections", pg("53300"), ErrUnavailable},
		{"serialization failure", pg("40001"), ErrUnavailable},
		{"deadlock", pg("40P01"), ErrUnavailable},
		{"check violation", pg("23514"), ErrInvalidData},
		{"numeric out of range", pg("22003"), ErrInvalidData},
		{"undefined table", pg("42P01"), nil},
		{"insufficient privilege", pg("42501"), nil},
		{"statement cancelled", pg("57014"), nil},
		{"unexpected EOF", fmt.Errorf("read: %w", io.ErrUnexpectedEOF), ErrUnavailable},
		{"connect error", &pgconn.ConnectError{}, ErrUnavailable},
		{"context cancelled", fmt.Errorf("x: %w", context.Canceled), nil},
		{"unknown", other, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := translate(tt.err)
			if !errors.Is(got, tt.err) {
				t.Errorf("translate dropped the original error: %v", got)
			}
			for _, s := range []error{ErrUnavailable, ErrInvalidData} {
				if errors.Is(got, s) != (s == tt.want) {
					t.Errorf("errors.Is(%v, %v) = %v, want %v", got, s, errors.Is(got, s), s == tt.want)
				}
			}
		})
	}
	if translate(nil) != nil {
		t.Error("translate(nil) != nil")
	}
}

func TestBackoff(t *testing.T) {
	t.Parallel()
	b := backoff{min: 100, max: 1000}
	var got []int64
	for range 6 {
		got = append(got, int64(b.next()))
	}
	if fmt.Sprint(got) != "[100 200 400 800 1000 1000]" {
		t.Errorf("backoff = %v", got)
	}
	b.reset()
	if d := b.next(); d != 100 {
		t.Errorf("after reset: %v", d)
	}
}
