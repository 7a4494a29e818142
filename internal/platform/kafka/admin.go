package kafka

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

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

// String renders d for people.
func (d Drift) String() string {
	return fmt.Sprintf("%s: %s is %q, want %q", d.Topic, d.What, d.Have, d.Want)
}

// EnsureReport says what EnsureTopics did and found.
type EnsureReport struct {
	Created []string
	Existed []string
	Drift   []Drift
}

// Drifted reports whether any existing topic differs from its spec.
func (r EnsureReport) Drifted() bool { return len(r.Drift) > 0 }

// EnsureTopics creates the topics of specs that do not exist (replication
// factor 1 on a single broker, or min(3, brokers)), and reports drift on the
// ones that do. It never deletes or alters an existing topic: drift needs an
// operator's decision (partition changes break copartitioning). It is safe
// to run concurrently with another EnsureTopics for the same specs.
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
	var check []TopicSpec
	partitions := make(map[string]int32, len(specs))
	for _, s := range specs {
		if have, ok := existing[s.Name]; ok {
			check = append(check, s)
			partitions[s.Name] = have.NumPartitions
			continue
		}
		entries := make(map[string]*string, len(s.Configs))
		for k, v := range s.Configs {
			entries[k] = &v
		}
		err := admin.CreateTopic(s.Name, &sarama.TopicDetail{NumPartitions: s.Partitions, ReplicationFactor: rf, ConfigEntries: entries}, false)
		switch {
		case err == nil:
			rep.Created = append(rep.Created, s.Name)
		case errors.Is(err, sarama.ErrTopicAlreadyExists):
			// Created concurrently (another process or test): check it
			// for drift like any existing topic.
			d, err := describeTopic(admin, s.Name)
			if err != nil {
				return rep, err
			}
			check = append(check, s)
			partitions[s.Name] = d.NumPartitions
		default:
			return rep, fmt.Errorf("create topic %s: %w", s.Name, err)
		}
	}
	if len(check) == 0 {
		return rep, nil
	}

	actual, err := topicConfigs(admin, check)
	if err != nil {
		return rep, err
	}
	for _, s := range check {
		rep.Existed = append(rep.Existed, s.Name)
		if have := partitions[s.Name]; have != s.Partitions {
			rep.Drift = append(rep.Drift, Drift{Topic: s.Name, What: "partitions", Want: fmt.Sprint(s.Partitions), Have: fmt.Sprint(have)})
		}
		keys := make([]string, 0, len(s.Configs))
		for k := range s.Configs {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if have := actual[s.Name][k]; have != s.Configs[k] {
				rep.Drift = append(rep.Drift, Drift{Topic: s.Name, What: k, Want: s.Configs[k], Have: have})
			}
		}
	}
	return rep, nil
}

// topicConfigs returns every config value (defaults included) of the topics
// of specs, by topic, in one request.
func topicConfigs(admin sarama.ClusterAdmin, specs []TopicSpec) (map[string]map[string]string, error) {
	resources := make([]*sarama.ConfigResource, 0, len(specs))
	for _, s := range specs {
		resources = append(resources, &sarama.ConfigResource{Type: sarama.TopicResource, Name: s.Name})
	}
	results, err := admin.DescribeConfigs(resources, sarama.DescribeConfigsOptions{})
	if err != nil {
		return nil, fmt.Errorf("describe topic configs: %w", err)
	}
	out := make(map[string]map[string]string, len(results))
	for _, r := range results {
		if !errors.Is(r.ErrorCode, sarama.ErrNoError) {
			return nil, fmt.Errorf("describe config of %s: %w (%s)", r.Name, r.ErrorCode, r.ErrorMsg)
		}
		m := make(map[string]string, len(r.Configs))
		for _, e := range r.Configs {
			m[e.Name] = e.Value
		}
		out[r.Name] = m
	}
	for _, s := range specs {
		if _, ok := out[s.Name]; !ok {
			return nil, fmt.Errorf("describe config of %s: no result", s.Name)
		}
	}
	return out, nil
}

// describeTopic returns the partition count of one topic. Right after a
// concurrent creation the broker may not know the topic yet: retry briefly.
func describeTopic(admin sarama.ClusterAdmin, name string) (sarama.TopicDetail, error) {
	var err error
	for attempt := 0; attempt < 20; attempt++ {
		if attempt > 0 {
			time.Sleep(250 * time.Millisecond)
		}
		var md []*sarama.TopicMetadata
		md, err = admin.DescribeTopics([]string{name})
		switch {
		case err != nil:
			err = fmt.Errorf("describe topic %s: %w", name, err)
		case len(md) != 1:
			err = fmt.Errorf("describe topic %s: got %d results", name, len(md))
		case !errors.Is(md[0].Err, sarama.ErrNoError):
			err = fmt.Errorf("describe topic %s: %w", name, md[0].Err)
		case len(md[0].Partitions) == 0:
			err = fmt.Errorf("describe topic %s: no partitions yet", name)
		default:
			return sarama.TopicDetail{NumPartitions: int32(len(md[0].Partitions))}, nil
		}
	}
	return sarama.TopicDetail{}, err
}

// TopicInfo describes one existing topic.
type TopicInfo struct {
	Name              string
	Partitions        int32
	ReplicationFactor int16
	// Configs holds the topic's configs that differ from the broker's
	// defaults (for example cleanup.policy=compact, retention.ms).
	Configs map[string]string
}

// Config returns the topic's value of key, or def when the topic uses the
// broker's default.
func (t TopicInfo) Config(key, def string) string {
	if v, ok := t.Configs[key]; ok {
		return v
	}
	return def
}

// ListTopics returns the cluster's topics sorted by name, without Kafka's
// internal ones (names starting with "__") unless internal is true.
func ListTopics(admin sarama.ClusterAdmin, internal bool) ([]TopicInfo, error) {
	all, err := admin.ListTopics()
	if err != nil {
		return nil, fmt.Errorf("list topics: %w", err)
	}
	out := make([]TopicInfo, 0, len(all))
	for name, d := range all {
		if !internal && strings.HasPrefix(name, "__") {
			continue
		}
		cfg := make(map[string]string, len(d.ConfigEntries))
		for k, v := range d.ConfigEntries {
			if v != nil {
				cfg[k] = *v
			}
		}
		out = append(out, TopicInfo{Name: name, Partitions: d.NumPartitions, ReplicationFactor: d.ReplicationFactor, Configs: cfg})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}
