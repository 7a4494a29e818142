// Package ingest sends sales into Kafka: `storecast produce` and the
// produce benchmark. It turns Kaggle files (package kaggle) or the
// synthetic generator (package synth) into an Input and sends it with an
// idempotent sarama producer (acks=all):
//
//   - store metadata to the compacted store_info topic keyed by store,
//     acknowledged before any sale is sent;
//   - rows that did not parse or validate to sale_rossman_store.dlq (and
//     store_info.dlq) as topics.DeadLetter records with file, line, the raw
//     row and a reason naming the field; they never stop a run;
//   - sales to sale_rossman_store keyed by topics.StoreKey, in (date,
//     store) order so each store's dates ascend, on the partition goka
//     computes for the key (see SaramaConfig and PartitionOf);
//   - as fast as possible, at a fixed rate, or (ShiftToToday) as a live
//     demo that re-dates history to end yesterday and then sends one new
//     generated day per interval.
//
// A send failure is fatal: the run stops, flushes and returns the error.
//
// # Metrics
//
// Registered on the injected registry by NewMetrics:
//
//   - storecast_produce_events_sent_total{topic}: records the broker acknowledged.
//   - storecast_produce_events_rejected_total{reason}: rows sent to a DLQ, by
//     their first bad field, or "parse" when the row did not parse.
//   - storecast_produce_send_latency_seconds: histogram of the time from
//     handing a record to the producer to its acknowledgement.
package ingest
