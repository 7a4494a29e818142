package sink

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"

	"github.com/jackc/pgx/v5/pgconn"
)

// Errors the store returns, wrapping the driver's error. Callers classify
// with errors.Is.
var (
	// ErrUnavailable means PostgreSQL could not be reached or refused work
	// for a transient reason (connection lost, shutdown, overload,
	// serialization failure, deadlock). Retrying later may succeed.
	ErrUnavailable = errors.New("postgres unavailable")
	// ErrInvalidData means PostgreSQL rejected a row's values (a data
	// exception or a constraint violation). Retrying the same rows fails
	// again; the offending rows must be isolated.
	ErrInvalidData = errors.New("postgres rejected the data")
	// ErrFenced means another sink instance moved a partition's offset
	// since this instance read it: this instance no longer owns the
	// partition and must re-read its offsets before writing.
	ErrFenced = errors.New("sink offsets moved by another instance")
)

// translate maps a pgx error to one of the package's sentinels, keeping the
// original in the chain. Errors it cannot classify are returned unchanged.
func translate(err error) error {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	if errors.Is(err, ErrUnavailable) || errors.Is(err, ErrInvalidData) || errors.Is(err, ErrFenced) {
		return err
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch class := pgErr.Code[:2]; {
		case class == "08", // connection exception
			class == "53",                          // insufficient resources
			class == "57" && pgErr.Code != "57014", // operator intervention (shutdown), not a statement cancel
			class == "58",                          // system error (I/O)
			pgErr.Code == "40001",                  // serialization failure
			pgErr.Code == "40P01",                  // deadlock detected
			pgErr.Code == "55P03":                  // lock not available
			return fmt.Errorf("%w: %w", ErrUnavailable, err)
		case class == "22", class == "23": // data exception, integrity constraint violation
			return fmt.Errorf("%w: %w", ErrInvalidData, err)
		}
		return err
	}
	var connectErr *pgconn.ConnectError
	var netErr net.Error
	switch {
	case errors.As(err, &connectErr), errors.As(err, &netErr), errors.Is(err, io.EOF),
		errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed),
		pgconn.SafeToRetry(err), pgconn.Timeout(err):
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return err
}
