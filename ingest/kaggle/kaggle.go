// Package kaggle reads the Rossmann Store Sales files in Kaggle's format:
// train.csv (one row per store and day) into topics.Sale and store.csv (one
// row per store) into topics.StoreInfo.
//
// The files are R's write.csv output: a quoted header, strings in double
// quotes (a quote inside doubled), numbers bare, and an empty field for a
// missing number. Records never span lines here, so a record is a physical
// line and Line numbers are 1-based with the header on line 1. Columns are
// found by their header name, so their order does not matter. CRLF line ends
// and a UTF-8 byte order mark are accepted.
//
// A row that cannot be parsed or fails validation never stops a read: it is
// returned as a Reject (file, line, the raw row, and an error naming the
// field) for the dead-letter topic. Only I/O errors and a header that is not
// Kaggle's are fatal.
package kaggle

import (
	"bytes"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/storecast/storecast/topics"
)

// ErrParse is wrapped by the error of every Reject that could not be parsed
// into an event (wrong column count, a number that is not one, a bad quote);
// validation failures do not wrap it.
var ErrParse = errors.New("parse")

// Reject is a row that could not become a valid event.
type Reject struct {
	// File is the base name of the file, Line the 1-based line number.
	File string
	Line int
	// Payload is the raw row without its line end.
	Payload []byte
	// Key is the row's store key if its Store field parsed, else "".
	Key string
	// Err names the bad fields: *topics.FieldError values, joined, wrapping
	// ErrParse when the row did not parse.
	Err error
}

// Parse reports whether the row failed to parse (rather than to validate).
func (r *Reject) Parse() bool { return errors.Is(r.Err, ErrParse) }

// Reason is the row's first bad field, or "parse" when the row did not
// parse and no field is to blame (column count, quoting): a bounded label
// for metrics.
func (r *Reject) Reason() string {
	if f := topics.Fields(r.Err); len(f) > 0 {
		return f[0]
	}
	return "parse"
}

// parseError wraps field errors of a row that did not parse.
type parseError struct{ err error }

func (e *parseError) Error() string { return "parse: " + e.err.Error() }
func (e *parseError) Unwrap() []error {
	return []error{ErrParse, e.err}
}

// lines iterates over the lines of data, without line ends, with 1-based
// numbers. A trailing empty line is not reported.
type lines struct {
	data []byte
	n    int
}

func (l *lines) next() (line []byte, num int, ok bool) {
	if len(l.data) == 0 {
		return nil, 0, false
	}
	i := bytes.IndexByte(l.data, '\n')
	if i < 0 {
		line, l.data = l.data, nil
	} else {
		line, l.data = l.data[:i], l.data[i+1:]
	}
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	l.n++
	return line, l.n, true
}

// splitFields splits one CSV record into dst (reusing its storage). Quoted
// fields lose their quotes; a doubled quote inside becomes one quote (the
// only case that allocates). quoted[i] tells whether field i was quoted.
func splitFields(line []byte, dst [][]byte, quoted []bool) ([][]byte, []bool, error) {
	dst, quoted = dst[:0], quoted[:0]
	i := 0
	for {
		if i < len(line) && line[i] == '"' {
			j := i + 1
			var unq []byte
			start := j
			for {
				k := bytes.IndexByte(line[j:], '"')
				if k < 0 {
					return dst, quoted, &parseError{err: errors.New("unterminated quote")}
				}
				j += k
				if j+1 < len(line) && line[j+1] == '"' {
					unq = append(unq, line[start:j+1]...)
					j += 2
					start = j
					continue
				}
				break
			}
			field := line[start:j]
			if unq != nil {
				field = append(unq, field...)
			}
			dst = append(dst, field)
			quoted = append(quoted, true)
			i = j + 1
			if i == len(line) {
				return dst, quoted, nil
			}
			if line[i] != ',' {
				return dst, quoted, &parseError{err: fmt.Errorf("unexpected %q after a closing quote", line[i])}
			}
			i++
			continue
		}
		k := bytes.IndexByte(line[i:], ',')
		if k < 0 {
			dst = append(dst, line[i:])
			quoted = append(quoted, false)
			return dst, quoted, nil
		}
		dst = append(dst, line[i:i+k])
		quoted = append(quoted, false)
		i += k + 1
	}
}

// header maps the wanted column names (case-insensitive) to their indices.
func header(line []byte, file string, want []string) ([]int, int, error) {
	line = bytes.TrimPrefix(line, []byte("\xef\xbb\xbf"))
	fields, _, err := splitFields(line, nil, nil)
	if err != nil {
		return nil, 0, fmt.Errorf("%s: header: %w", file, err)
	}
	idx := make([]int, len(want))
	for i, w := range want {
		idx[i] = -1
		for j, f := range fields {
			if strings.EqualFold(strings.TrimSpace(string(f)), w) {
				idx[i] = j
				break
			}
		}
		if idx[i] < 0 {
			return nil, 0, fmt.Errorf("%s: header has no column %q (is this Kaggle's file?)", file, w)
		}
	}
	return idx, len(fields), nil
}

// atoi parses a decimal integer with an optional sign, without allocating.
func atoi(b []byte) (int, bool) {
	if len(b) == 0 || len(b) > 18 {
		return 0, false
	}
	neg := false
	switch b[0] {
	case '-':
		neg, b = true, b[1:]
	case '+':
		b = b[1:]
	}
	if len(b) == 0 {
		return 0, false
	}
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	if neg {
		n = -n
	}
	return n, true
}

// displayName is the file name that DLQ records and errors carry.
func displayName(path string) string { return filepath.Base(path) }
