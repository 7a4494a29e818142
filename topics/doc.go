// Package topics is Storecast's shared vocabulary: every Kafka topic, Goka
// table and consumer-group name, the event types that travel on them with
// their schema versions, their codecs, and the validation rules for input.
//
// # Names
//
// The input stream keeps the seed's name, sale_rossman_store. Every per-store
// topic is keyed by the decimal store id and has Partitions partitions, so
// Goka can copartition them.
//
// # Codecs
//
// Events are JSON so they stay readable in Kafka UI and console consumers.
// Dates are calendar days (type Date) written as "YYYY-MM-DD".
//
// This package is a leaf: it imports only the standard library and goka.
package topics
