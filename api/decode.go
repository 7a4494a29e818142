package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"sync"

	"github.com/storecast/storecast/topics"
)

var bodyPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// acceptableBody reports whether a request's Content-Type may carry JSON.
// Besides application/json (and +json types) it accepts no type and the
// types curl and old scripts send by default (form-urlencoded, text/plain),
// so the original clients keep working; anything else is refused.
func acceptableBody(ct string) bool {
	if ct == "" || ct == "application/json" {
		return true
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return false
	}
	switch {
	case mt == "application/json", strings.HasSuffix(mt, "+json"),
		mt == "application/x-www-form-urlencoded", mt == "text/plain":
		return true
	}
	return false
}

// decodeJSON decodes the request body (at most limit bytes) into v,
// translating decoder errors into *MalformedError (naming the field when
// the decoder knows it), ErrTooLarge and ErrUnsupportedMediaType.
func decodeJSON(w http.ResponseWriter, r *http.Request, limit int64, v any) error {
	if !acceptableBody(r.Header.Get("Content-Type")) {
		return fmt.Errorf("content type %q: %w", r.Header.Get("Content-Type"), ErrUnsupportedMediaType)
	}
	buf := bodyPool.Get().(*bytes.Buffer)
	buf.Reset()
	defer func() {
		if buf.Cap() <= 1<<20 {
			bodyPool.Put(buf)
		}
	}()
	if _, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, limit)); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return fmt.Errorf("the body is larger than %d bytes: %w", limit, ErrTooLarge)
		}
		return &MalformedError{Err: fmt.Errorf("read body: %w", err)}
	}
	return unmarshalBody(buf.Bytes(), v)
}

func unmarshalBody(b []byte, v any) error {
	if len(bytes.TrimSpace(b)) == 0 {
		return &MalformedError{Err: errors.New("the body is empty; send a JSON object")}
	}
	err := json.Unmarshal(b, v)
	if err == nil {
		return rejectNull(b)
	}
	var (
		typeErr *json.UnmarshalTypeError
		synErr  *json.SyntaxError
	)
	switch {
	case errors.As(err, &typeErr):
		field := typeErr.Field
		if field == "" {
			return &MalformedError{Err: fmt.Errorf("want a JSON %s, got %s", describeType(typeErr), typeErr.Value)}
		}
		return &MalformedError{Field: field, Err: fmt.Errorf("want %s, got %s", describeType(typeErr), typeErr.Value)}
	case errors.As(err, &synErr):
		return &MalformedError{Err: fmt.Errorf("%s at byte %d", synErr.Error(), synErr.Offset)}
	case errors.Is(err, io.ErrUnexpectedEOF):
		return &MalformedError{Err: errors.New("the body ends before the JSON value does")}
	default:
		return &MalformedError{Err: err}
	}
}

// rejectNull refuses a JSON null anywhere in a request body: no request
// schema in openapi.yaml declares a nullable property, and encoding/json
// would otherwise read null as "absent" (or as the zero value inside maps
// and arrays). The error names the field the way the validators do
// (inputs[0].open, params.wait). Bodies without the bytes "null" skip the
// walk, so the hot path (/predict) pays one scan.
func rejectNull(b []byte) error {
	if !bytes.Contains(b, []byte("null")) {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	path, found, err := findNull(dec, "")
	if err != nil || !found {
		return nil //nolint:nilerr // json.Unmarshal accepted b already; only nulls matter here.
	}
	if path == "" {
		return &MalformedError{Err: errors.New("the body is null; send a JSON object")}
	}
	return &MalformedError{Field: path, Err: errors.New("null is not allowed; omit the field instead")}
}

// findNull walks the next JSON value of dec and returns the path of its
// first null, in document order.
func findNull(dec *json.Decoder, path string) (string, bool, error) {
	tok, err := dec.Token()
	if err != nil {
		return "", false, err
	}
	switch tok {
	case nil:
		return path, true, nil
	case json.Delim('{'):
		for dec.More() {
			key, err := dec.Token()
			if err != nil {
				return "", false, err
			}
			name, _ := key.(string)
			child := name
			if path != "" {
				child = path + "." + name
			}
			if p, found, err := findNull(dec, child); err != nil || found {
				return p, found, err
			}
		}
		_, err = dec.Token() // '}'
		return "", false, err
	case json.Delim('['):
		for i := 0; dec.More(); i++ {
			if p, found, err := findNull(dec, fmt.Sprintf("%s[%d]", path, i)); err != nil || found {
				return p, found, err
			}
		}
		_, err = dec.Token() // ']'
		return "", false, err
	}
	return "", false, nil
}

func describeType(e *json.UnmarshalTypeError) string {
	if e.Type == nil {
		return "another type"
	}
	switch e.Type.Kind().String() {
	case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64":
		return "an integer"
	case "float32", "float64":
		return "a number"
	case "string":
		return "a string"
	case "slice", "array":
		return "an array"
	case "struct", "map":
		return "an object"
	case "bool":
		return "a boolean"
	}
	return e.Type.String()
}

// parseDateField parses a YYYY-MM-DD field, naming it on error.
func parseDateField(field, s string) (topics.Date, error) {
	if s == "" {
		return 0, &topics.FieldError{Field: field, Reason: "is required (YYYY-MM-DD)"}
	}
	d, err := topics.ParseDate(s)
	if err != nil {
		return 0, &topics.FieldError{Field: field, Reason: err.Error()}
	}
	return d, nil
}

// bad returns a FieldError.
func bad(field, format string, args ...any) error {
	return &topics.FieldError{Field: field, Reason: fmt.Sprintf(format, args...)}
}
