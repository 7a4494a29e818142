package main

import (
	"fmt"
	"testing"
)

func TestServeRateLimit(t *testing.T) {
	tests := []struct {
		name       string
		cmd        ServeCmd
		wantErr    bool
		wantPerSec int
		wantExempt string
		wantProxy  string
	}{
		{"defaults", ServeCmd{RateLimit: 100, RateExempt: []string{"127.0.0.0/8", "::1/128"}}, false, 100, "[127.0.0.0/8 ::1/128]", "[]"},
		{"off", ServeCmd{RateLimit: 0}, false, 0, "[]", "[]"},
		{"no exemption", ServeCmd{RateLimit: 5, RateExempt: []string{""}}, false, 5, "[]", "[]"},
		{"behind nginx", ServeCmd{RateLimit: 50, TrustedProxy: []string{"172.16.0.0/12", "10.0.0.1"}}, false, 50, "[]", "[172.16.0.0/12 10.0.0.1/32]"},
		{"negative", ServeCmd{RateLimit: -1}, true, 0, "", ""},
		{"bad exempt network", ServeCmd{RateLimit: 1, RateExempt: []string{"loopback"}}, true, 0, "", ""},
		{"bad proxy", ServeCmd{RateLimit: 1, TrustedProxy: []string{"10.0.0.0/33"}}, true, 0, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.cmd.rateLimit()
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if tt.wantErr {
				return
			}
			if got.PerSecond != tt.wantPerSec || fmt.Sprint(got.Exempt) != tt.wantExempt || fmt.Sprint(got.TrustedProxies) != tt.wantProxy {
				t.Errorf("got %d %v %v, want %d %s %s", got.PerSecond, got.Exempt, got.TrustedProxies, tt.wantPerSec, tt.wantExempt, tt.wantProxy)
			}
		})
	}
}
