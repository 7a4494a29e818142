// Package forecastgen holds the forecast API's server interface, chi routing
// and models, generated from api/openapi.yaml (operations tagged forecast,
// ops, pipeline, history and models). Do not edit forecast.gen.go; change the spec and run go generate.
package forecastgen

//go:generate go tool oapi-codegen -config oapi-codegen.yaml ../openapi.yaml
