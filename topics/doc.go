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
// This package is the one wire format: every producer and consumer in the
// repository encodes and decodes events with the codecs here (internal/
// archtest fails on json.Marshal/Unmarshal of a topics type, or an event's
// JSON spelled by hand, anywhere else). The events on hot paths have
// hand-written fast paths: AppendSale and SaleDecoder (a sale per event),
// ExampleEncoder (a training example per sale), AppendForecastResult (a
// forecast per served request), with one JSON string escaper
// (AppendJSONString) and one state-holiday interner (StateHolidayOf).
// They write exactly the bytes encoding/json writes and decode exactly the
// values it decodes (anything unusual falls back to encoding/json); the
// fuzz tests in wire_test.go hold them to it, and TestCodecRoundTrips
// round-trips every event type through its codec.
//
// This package is a leaf: it imports only the standard library and goka.
package topics
