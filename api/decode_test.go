package api

import (
	"errors"
	"testing"
)

func TestRejectNull(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, body string
		wantErr    bool
		field      string
	}{
		{"no null", `{"store_id":1,"date":"2015-07-01"}`, false, ""},
		{"null only inside a string", `{"params":{"note":"null"},"x":"nullable"}`, false, ""},
		{"root null", `null`, true, ""},
		{"top-level field", `{"open":null}`, true, "open"},
		{"map value", `{"params":{"eta":"0.1","max_depth":null}}`, true, "params.max_depth"},
		{"array element", `{"store_ids":[1,null]}`, true, "store_ids[1]"},
		{"field of an array element", `{"inputs":[{"date":"2015-06-22"},{"open":null}]}`, true, "inputs[1].open"},
		{"first null in document order", `{"b":{"c":null},"a":null}`, true, "b.c"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := rejectNull([]byte(c.body))
			if (err != nil) != c.wantErr {
				t.Fatalf("rejectNull(%s) = %v, want error %v", c.body, err, c.wantErr)
			}
			if err == nil {
				return
			}
			var m *MalformedError
			if !errors.As(err, &m) || m.Field != c.field {
				t.Fatalf("rejectNull(%s) = %#v, want a MalformedError naming %q", c.body, err, c.field)
			}
		})
	}
}
