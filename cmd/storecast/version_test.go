package main

import (
	"regexp"
	"testing"

	"github.com/storecast/storecast/features"
)

// deploy/local/load-record.sh reads the feature schema from --version with
// this pattern, to compare a load only with earlier loads of the same schema.
var schemaInVersion = regexp.MustCompile(`\(feature schema ([a-z0-9]+)\)$`)

func TestVersionNamesTheFeatureSchema(t *testing.T) {
	m := schemaInVersion.FindStringSubmatch(version())
	if m == nil || m[1] != features.SchemaVersion {
		t.Fatalf("version() = %q: want it to end in (feature schema %s)", version(), features.SchemaVersion)
	}
}
