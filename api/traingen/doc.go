// Package traingen holds the training API's server interface, chi routing
// and models, generated from api/openapi.yaml (operations tagged training and
// ops). Do not edit train.gen.go; change the spec and run go generate.
package traingen

//go:generate go tool oapi-codegen -config oapi-codegen.yaml ../openapi.yaml
