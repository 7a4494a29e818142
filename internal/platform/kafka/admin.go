package kafka

import (
	"errors"
	"fmt"
	"sort"

	"github.com/IBM/sarama"
)

// TopicSpec is the wanted configuration of one topic.
type TopicSpec struct {
	Name       string
	Partitions int32
	Configs    map[string]string
}

// Drift is one difference between a topic's wanted and actual config.
type Drift struct {
	Topic string
	What  string // "partitions" or a config key
	Want  string
	Have  string
}

func (d Drift) String() string {
	return fmt.Sprintf("%s: %s is %q, want %q", d.Topic, d.What, d.Have, d.Want)
}

// EnsureReport says what EnsureTopics did and found.
type EnsureReport struct {
	Created []string
	Existed []string
	Drift   []Drift
}

// EnsureTopics creates the topics of specs that do not exist (replication
// factor 1 on a single broker, or min(3, brokers)), and reports drift on the
// ones that do. It never deletes or alters an existing topic: drift needs an
// operator's decision (partition changes break copartitioning).
func EnsureTopics(admin sarama.ClusterAdmin, specs []TopicSpec) (EnsureReport, error) {
	var rep EnsureReport
	existing, err := admin.ListTopics()
	if err != nil {
		return rep, fmt.Errorf("list topics: %w", err)
	}
	brokers, _, err := admin.DescribeCluster()
	if err != nil {
		return rep, fmt.Errorf("describe cluster: %w", err)
	}
	rf := int16(min(3, len(brokers)))
	for _, s := range specs {
		have, ok := existing[s.Name]
		if !ok {
			entries := make(map[string]*string, len(s.Configs))
			for k, v := range s.Configs {
				entries[k] = &v
			}
			err := admin.CreateTopic(s.Name, &sarama.TopicDetail{NumPartitions: s.Partitions, ReplicationFactor: rf, ConfigEntries: entries}, false)
			if err != nil && !errors.Is(err, sarama.ErrTopicAlreadyExists) {
				return rep, fmt.Errorf("create topic %s: %w", s.Name, err)
			}
			rep.Created = append(rep.Created, s.Name)
			continue
		}
		rep.Existed = append(rep.Existed, s.Name)
		if have.NumPartitions != s.Partitions {
			rep.Drift = append(rep.Drift, Drift{Topic: s.Name, What: "partitions", Want: fmt.Sprint(s.Partitions), Have: fmt.Sprint(have.NumPartitions)})
		}
		entries, err := admin.DescribeConfig(sarama.ConfigResource{Type: sarama.TopicResource, Name: s.Name})
		if err != nil {
			return rep, fmt.Errorf("describe config of %s: %w", s.Name, err)
		}
		actual := make(map[string]string, len(entries))
		for _, e := range entries {
			actual[e.Name] = e.Value
		}
		keys := make([]string, 0, len(s.Configs))
		for k := range s.Configs {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if actual[k] != s.Configs[k] {
				rep.Drift = append(rep.Drift, Drift{Topic: s.Name, What: k, Want: s.Configs[k], Have: actual[k]})
			}
		}
	}
	return rep, nil
}
