// Package features is the Goka group that turns the sales stream into
// per-store state and training examples: the heart of Storecast.
//
// # Graph
//
// Inputs: sale_rossman_store (sales, keyed by store), store_info and
// feature_snapshot_requests (keyed by store), copartitioned. Group table:
// storecast-features-table, one features.State per store in features'
// compact binary codec, with the store's info. Outputs: training_examples
// (keyed store|date, compacted; a nil value withdraws an example),
// feature_snapshots (keyed request id|store), sale_rossman_store.dlq and
// store_info.dlq.
//
// store_info is an input, not a join: a joined table is updated by its own
// consumer, so whether a sale saw its store's info would depend on timing.
// Instead each state keeps its store's info, and a sale that comes before
// it is held in the state (features.State.Hold) and folded in, in arrival
// order, when the info comes. The table and the examples are then the same
// for every interleaving of sales and store info: the same log gives the
// same state.
//
// For each valid sale the callback folds the fact into the state (written
// only when it changed) and (re)emits the examples the change completes or
// affects (see features.State.Completes and AffectedDays: an example is
// emitted once the store's latest day is a week after it). A sale whose
// offset is not after the state's is a redelivery after a crash (the state
// was stored, its emissions may not have been): it re-emits what its first
// delivery did, including the examples it completed and pushed out of the
// ring after a gap longer than the ring, which the state carries for that
// (features.State.Carry). Invalid events (undecodable, failing
// topics.Sale.Validate, a key that is not the sale's store, a day more
// than Config.MaxDaysAhead after the store's clock (far_future), more than
// features.MaxPending sales held for a store whose info never came) go to
// the dead-letter topic with the reason; the group keeps running. An
// invalid store info goes to store_info.dlq and changes nothing. A snapshot request reads the state and answers with one
// topics.FeatureSnapshot.
//
// The processor hashes keys with KeyHasher (the part before '|'), so an
// example lands on its store's partition of training_examples.
//
// # Metrics
//
//	storecast_features_events_total{outcome}   added, corrected, duplicate, redelivered, rejected, held, released
//	storecast_features_rejected_total{reason}  decode, invalid, far_future, unknown_store, key, snapshot_request, store_info
//	storecast_features_process_seconds         histogram of the sale callback
//	storecast_features_examples_total{kind}    example, tombstone
//	storecast_features_snapshots_total{outcome} ok, error
//	storecast_features_state_bytes             histogram of encoded state sizes written
//	storecast_features_table_stores            stores this instance wrote since start
//	storecast_features_table_bytes             their latest encoded size, summed
//	storecast_features_recovery_seconds        start until every partition runs
//	storecast_features_recovered               1 once recovered
package features
