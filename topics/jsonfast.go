// Hand-written JSON for the events on the hot paths (a sale per event, a
// training example per sale, a forecast per served request). Every fast
// path writes exactly the bytes encoding/json writes, and decodes exactly
// the values encoding/json decodes for every input it accepts (anything
// else falls back to encoding/json, which decides); the fuzz tests in
// wire_test.go hold both to it.

package topics

import (
	"encoding/json"
	"math"
	"strconv"
	"unicode/utf8"
)

// AppendJSONString appends s as a JSON string, exactly as encoding/json
// writes it (HTML characters escaped). ASCII is escaped by hand;
// anything else goes through encoding/json.
func AppendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			q, _ := json.Marshal(s) // a string always marshals
			return append(b, q...)
		}
	}
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c == '\n':
			b = append(b, '\\', 'n')
		case c == '\r':
			b = append(b, '\\', 'r')
		case c == '\t':
			b = append(b, '\\', 't')
		case c == '\b':
			b = append(b, '\\', 'b')
		case c == '\f':
			b = append(b, '\\', 'f')
		case c < 0x20 || c == '<' || c == '>' || c == '&':
			const hex = "0123456789abcdef"
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}

// AppendJSONFloat appends x as encoding/json would: plain decimals, and
// encoding/json itself for the exponent forms (tiny or huge values).
func AppendJSONFloat(b []byte, x float64) []byte {
	if abs := math.Abs(x); x != 0 && (abs < 1e-6 || abs >= 1e21) {
		q, _ := json.Marshal(x) // forecasts are finite
		return append(b, q...)
	}
	return strconv.AppendFloat(b, x, 'f', -1, 64)
}

// skipSpace returns the index of the first non-space byte at or after i.
func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// scanString returns the contents of the JSON string at b[i], if it is
// plain printable ASCII without escapes, and the index after it.
func scanString(b []byte, i int) ([]byte, int, bool) {
	if i >= len(b) || b[i] != '"' {
		return nil, 0, false
	}
	for j := i + 1; j < len(b); j++ {
		switch c := b[j]; {
		case c == '"':
			return b[i+1 : j], j + 1, true
		case c == '\\' || c < 0x20 || c >= 0x80:
			return nil, 0, false
		}
	}
	return nil, 0, false
}

// scanInt parses the JSON integer at b[i] (no fraction or exponent, at most
// 18 digits) and returns it with the index after it.
func scanInt(b []byte, i int) (int, int, bool) {
	neg := false
	if i < len(b) && b[i] == '-' {
		neg = true
		i++
	}
	start := i
	n := 0
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		n = n*10 + int(b[i]-'0')
		i++
	}
	digits := i - start
	if digits == 0 || digits > 18 || (digits > 1 && b[start] == '0') {
		return 0, 0, false
	}
	if i < len(b) && (b[i] == '.' || b[i] == 'e' || b[i] == 'E') {
		return 0, 0, false
	}
	if neg {
		n = -n
	}
	return n, i, true
}
