package kafka

import (
	"github.com/IBM/sarama"
	"github.com/lovoo/goka"
)

// GokaConsumer returns the consumer config every Storecast goka group
// uses: errors returned, new groups start at the oldest offset, and goka's
// copartitioning rebalance strategy. Callers may tune it further.
func (c Config) GokaConsumer() *sarama.Config {
	sc := c.Sarama()
	sc.Consumer.Return.Errors = true
	sc.Consumer.Offsets.Initial = sarama.OffsetOldest
	sc.Consumer.Group.Rebalance.GroupStrategies = []sarama.BalanceStrategy{goka.CopartitioningStrategy}
	return sc
}

// GokaTopicManager returns goka's topic manager config for Storecast:
// topics come from `storecast topics init` (one replica on the local
// broker), and a mismatch with goka's expectations is logged, not fatal.
func GokaTopicManager() *goka.TopicManagerConfig {
	tm := goka.NewTopicManagerConfig()
	tm.Table.Replication, tm.Stream.Replication = 1, 1
	tm.MismatchBehavior = goka.TMConfigMismatchBehaviorWarn
	return tm
}
