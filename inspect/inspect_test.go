package inspect

import (
	"testing"
	"time"

	"github.com/IBM/sarama"
)

func TestLag(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name                   string
		committed, newest, lag int64
	}{
		{"caught up", 10, 10, 0},
		{"behind", 7, 10, 3},
		{"no commit lags by everything", -1, 10, 10},
		{"commit ahead after truncation is 0", 12, 10, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := Lag(tc.committed, tc.newest); got != tc.lag {
				t.Fatalf("Lag(%d, %d) = %d, want %d", tc.committed, tc.newest, got, tc.lag)
			}
		})
	}
}

func TestWindow(t *testing.T) {
	t.Parallel()
	off := func(n int64) *int64 { return &n }
	tests := []struct {
		name           string
		oldest, newest int64
		offset         *int64
		byKey          bool
		limit          int
		from, to       int64
	}{
		{"latest records", 0, 100, nil, false, 20, 80, 100},
		{"fewer than the limit", 0, 5, nil, false, 20, 0, 5},
		{"retention moved the start", 90, 100, nil, false, 20, 90, 100},
		{"from an offset", 0, 100, off(10), false, 20, 10, 30},
		{"from an offset near the end", 0, 100, off(95), false, 20, 95, 100},
		{"from an offset before the oldest", 50, 100, off(10), false, 20, 50, 70},
		{"key search scans more", 0, 100000, nil, true, 20, 100000 - Scan, 100000},
		{"empty partition", 0, 0, nil, false, 20, 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			from, to := Window(tc.oldest, tc.newest, tc.offset, tc.byKey, tc.limit)
			if from != tc.from || to != tc.to {
				t.Fatalf("Window = [%d, %d), want [%d, %d)", from, to, tc.from, tc.to)
			}
		})
	}
}

func TestDecode(t *testing.T) {
	t.Parallel()
	at := time.Date(2015, 6, 19, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name       string
		value      []byte
		deadLetter bool
		encoding   string
		reason     string
	}{
		{"json", []byte(`{"store":1}`), false, "json", ""},
		{"dead letter reason", []byte(`{"v":1,"reason":"sales: negative","stage":"features"}`), true, "json", "sales: negative"},
		{"json outside a dlq has no reason", []byte(`{"reason":"x"}`), false, "json", ""},
		{"text", []byte("1,5,2015-06-19"), false, "text", ""},
		{"binary", []byte{0, 1, 2, 0xff}, false, "binary", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m := Decode(&sarama.ConsumerMessage{Key: []byte("1"), Value: tc.value, Offset: 3, Partition: 2, Timestamp: at}, tc.deadLetter)
			if m.Encoding != tc.encoding || m.Reason != tc.reason || m.Key != "1" || m.Offset != 3 || m.Partition != 2 || m.Size != len(tc.value) {
				t.Fatalf("Decode = %+v, want encoding %s reason %q", m, tc.encoding, tc.reason)
			}
		})
	}
}

func TestReasonKind(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		"":                                  "unknown",
		"sales: must not be negative (-5)":  "sales",
		"invalid json; unexpected EOF":      "invalid json",
		"store_info missing for store 1200": "store_info missing for store 1200",
	}
	for in, want := range tests {
		if got := ReasonKind(in); got != want {
			t.Errorf("ReasonKind(%q) = %q, want %q", in, got, want)
		}
	}
}
