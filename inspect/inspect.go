// Package inspect is the dashboard's read-only view of Kafka: the
// deployment's topics with their partitions, offsets, cleanup policy and
// size on disk; its consumer groups with the lag of every partition; and
// the latest records of a topic, decoded for people (JSON as JSON, the
// reasons of dead letters pulled out). It never writes: no commits, no
// offsets moved, no topic created.
package inspect

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/IBM/sarama"
	"golang.org/x/sync/errgroup"

	"github.com/storecast/storecast/topics"
)

// ErrUnknownTopic is returned for a topic outside the deployment's names.
var ErrUnknownTopic = errors.New("inspect: unknown topic")

// ErrBadQuery is returned for a message query that cannot be answered
// (a partition the topic does not have).
var ErrBadQuery = errors.New("inspect: bad query")

// Partition is one partition's offsets and size.
type Partition struct {
	ID int32 `json:"id"`
	// Oldest is the first offset still held; Newest the next offset to be written.
	Oldest    int64 `json:"oldest"`
	Newest    int64 `json:"newest"`
	SizeBytes int64 `json:"size_bytes"`
}

// Topic describes one topic of the deployment.
type Topic struct {
	Name          string `json:"name"`
	CleanupPolicy string `json:"cleanup_policy"`
	RetentionMS   string `json:"retention_ms,omitempty"`
	// Records is the sum over partitions of Newest - Oldest: the records
	// held, for a topic that is not compacted.
	Records    int64       `json:"records"`
	SizeBytes  int64       `json:"size_bytes"`
	DeadLetter bool        `json:"dead_letter"`
	Partitions []Partition `json:"partitions"`
}

// GroupPartition is a consumer group's position on one partition.
type GroupPartition struct {
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
	// Committed is the group's committed offset (-1: none yet).
	Committed int64 `json:"committed"`
	Newest    int64 `json:"newest"`
	Lag       int64 `json:"lag"`
}

// Group is one consumer group with its lag.
type Group struct {
	Name       string           `json:"name"`
	State      string           `json:"state"`
	Members    int              `json:"members"`
	Lag        int64            `json:"lag"`
	Partitions []GroupPartition `json:"partitions"`
}

// Message is one record, decoded for display.
type Message struct {
	Partition int32     `json:"partition"`
	Offset    int64     `json:"offset"`
	Key       string    `json:"key"`
	Timestamp time.Time `json:"timestamp"`
	// Encoding is "json" (Value holds the JSON), "text", or "binary"
	// (Text holds the value in base64).
	Encoding string          `json:"encoding"`
	Value    json.RawMessage `json:"value,omitempty"`
	Text     string          `json:"text,omitempty"`
	Size     int             `json:"size"`
	// Reason is a dead letter's reason (empty for other records).
	Reason string `json:"reason,omitempty"`
}

// Query selects records of a topic. Without Offset, the latest Limit
// records of each chosen partition; with Offset, Limit records from it.
// Key keeps only records with that key (from the latest Scan records per
// partition).
type Query struct {
	Partition *int32
	Offset    *int64
	Key       string
	Limit     int
}

// Limits of a message query.
const (
	DefaultLimit = 20
	MaxLimit     = 200
	// Scan is how many of the latest records per partition a key search reads.
	Scan = 5000
)

// Inspector reads topic metadata, group offsets and records through one
// client. Give it a client of its own: its many small requests would queue
// behind the long-polling fetches of consumers sharing a connection. Its
// methods are safe for concurrent use.
type Inspector struct {
	client sarama.Client
	admin  sarama.ClusterAdmin
	topics []string
	groups []string
	dlq    map[string]bool
	mu     sync.Mutex // serialises admin requests
}

// New returns an Inspector of the topics and groups in names (and the
// trainer's group, trainerGroup) over client. Close closes the admin
// connection, not client.
func New(client sarama.Client, names topics.Names, trainerGroup string) (*Inspector, error) {
	admin, err := sarama.NewClusterAdminFromClient(&noClose{client})
	if err != nil {
		return nil, fmt.Errorf("inspect: admin: %w", err)
	}
	i := &Inspector{client: client, admin: admin, dlq: map[string]bool{}}
	for _, s := range names.Specs() {
		i.topics = append(i.topics, s.Name)
	}
	for _, d := range []string{string(names.SalesDLQ), string(names.StoreInfoDLQ), string(names.ForecastDLQ)} {
		i.dlq[d] = true
	}
	sort.Strings(i.topics)
	i.groups = []string{string(names.FeaturesGroup), string(names.ForecastGroup), names.SinkGroup}
	if trainerGroup != "" {
		i.groups = append(i.groups, trainerGroup)
	}
	return i, nil
}

// Close releases the admin connection (the client stays open).
func (i *Inspector) Close() error { return i.admin.Close() }

// noClose keeps ClusterAdmin.Close from closing the shared client.
type noClose struct{ sarama.Client }

func (noClose) Close() error { return nil }

// Topics returns the deployment's existing topics, sorted by name.
func (i *Inspector) Topics(ctx context.Context) ([]Topic, error) {
	i.mu.Lock()
	defer i.mu.Unlock()
	if err := i.client.RefreshMetadata(i.topics...); err != nil && !errors.Is(err, sarama.ErrUnknownTopicOrPartition) {
		return nil, fmt.Errorf("inspect: metadata: %w", err)
	}
	existing, err := i.admin.ListTopics()
	if err != nil {
		return nil, fmt.Errorf("inspect: list topics: %w", err)
	}
	sizes := i.sizes()
	out := []Topic{}
	for _, name := range i.topics {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		d, ok := existing[name]
		if !ok {
			continue
		}
		t := Topic{Name: name, CleanupPolicy: "delete", DeadLetter: i.dlq[name], Partitions: []Partition{}}
		if v := d.ConfigEntries["cleanup.policy"]; v != nil {
			t.CleanupPolicy = *v
		}
		if v := d.ConfigEntries["retention.ms"]; v != nil {
			t.RetentionMS = *v
		}
		parts, err := i.client.Partitions(name)
		if err != nil {
			return nil, fmt.Errorf("inspect: partitions of %s: %w", name, err)
		}
		for _, p := range parts {
			oldest, newest, err := i.offsets(name, p)
			if err != nil {
				return nil, err
			}
			size := sizes[name][p]
			t.Partitions = append(t.Partitions, Partition{ID: p, Oldest: oldest, Newest: newest, SizeBytes: size})
			t.Records += newest - oldest
			t.SizeBytes += size
		}
		out = append(out, t)
	}
	return out, nil
}

func (i *Inspector) offsets(topic string, p int32) (oldest, newest int64, err error) {
	if oldest, err = i.client.GetOffset(topic, p, sarama.OffsetOldest); err != nil {
		return 0, 0, fmt.Errorf("inspect: oldest offset of %s/%d: %w", topic, p, err)
	}
	if newest, err = i.client.GetOffset(topic, p, sarama.OffsetNewest); err != nil {
		return 0, 0, fmt.Errorf("inspect: newest offset of %s/%d: %w", topic, p, err)
	}
	return oldest, newest, nil
}

// sizes returns bytes on disk per topic and partition, summed over the
// brokers' log folders; empty when the brokers do not tell.
func (i *Inspector) sizes() map[string]map[int32]int64 {
	out := map[string]map[int32]int64{}
	var ids []int32
	for _, b := range i.client.Brokers() {
		ids = append(ids, b.ID())
	}
	dirs, err := i.admin.DescribeLogDirs(ids)
	if err != nil {
		return out
	}
	for _, perBroker := range dirs {
		for _, dir := range perBroker {
			for _, t := range dir.Topics {
				if out[t.Topic] == nil {
					out[t.Topic] = map[int32]int64{}
				}
				for _, p := range t.Partitions {
					out[t.Topic][p.PartitionID] += p.Size
				}
			}
		}
	}
	return out
}

// Groups returns the deployment's consumer groups that exist, with their
// committed offsets and lag per partition of the deployment's topics.
func (i *Inspector) Groups(ctx context.Context) ([]Group, error) {
	i.mu.Lock()
	defer i.mu.Unlock()
	listed, err := i.admin.ListConsumerGroups()
	if err != nil {
		return nil, fmt.Errorf("inspect: list groups: %w", err)
	}
	var names []string
	for _, g := range i.groups {
		if _, ok := listed[g]; ok {
			names = append(names, g)
		}
	}
	if len(names) == 0 {
		return []Group{}, nil
	}
	descs, err := i.admin.DescribeConsumerGroups(names)
	if err != nil {
		return nil, fmt.Errorf("inspect: describe groups: %w", err)
	}
	out := make([]Group, 0, len(descs))
	for _, d := range descs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		g := Group{Name: d.GroupId, State: d.State, Members: len(d.Members), Partitions: []GroupPartition{}}
		offs, err := i.admin.ListConsumerGroupOffsets(d.GroupId, nil)
		if err != nil {
			return nil, fmt.Errorf("inspect: offsets of group %s: %w", d.GroupId, err)
		}
		for topic, parts := range offs.Blocks {
			if !slices.Contains(i.topics, topic) {
				continue
			}
			for p, b := range parts {
				newest, err := i.client.GetOffset(topic, p, sarama.OffsetNewest)
				if err != nil {
					return nil, fmt.Errorf("inspect: newest offset of %s/%d: %w", topic, p, err)
				}
				gp := GroupPartition{Topic: topic, Partition: p, Committed: b.Offset, Newest: newest, Lag: Lag(b.Offset, newest)}
				g.Lag += gp.Lag
				g.Partitions = append(g.Partitions, gp)
			}
		}
		sort.Slice(g.Partitions, func(a, b int) bool {
			pa, pb := g.Partitions[a], g.Partitions[b]
			return pa.Topic < pb.Topic || (pa.Topic == pb.Topic && pa.Partition < pb.Partition)
		})
		out = append(out, g)
	}
	sort.Slice(out, func(a, b int) bool { return out[a].Name < out[b].Name })
	return out, nil
}

// Lag is how far a committed offset is behind newest; a partition without
// a commit (-1) lags by everything up to newest.
func Lag(committed, newest int64) int64 {
	if committed < 0 {
		return newest
	}
	return max(newest-committed, 0)
}

// Messages returns records of topic per q, newest first.
func (i *Inspector) Messages(ctx context.Context, topic string, q Query) ([]Message, error) {
	if !slices.Contains(i.topics, topic) {
		return nil, fmt.Errorf("%w: %s", ErrUnknownTopic, topic)
	}
	limit := q.Limit
	if limit <= 0 {
		limit = DefaultLimit
	}
	limit = min(limit, MaxLimit)
	parts, err := i.client.Partitions(topic)
	if err != nil {
		return nil, fmt.Errorf("inspect: partitions of %s: %w", topic, err)
	}
	if q.Partition != nil {
		if !slices.Contains(parts, *q.Partition) {
			return nil, fmt.Errorf("%w: %s has no partition %d", ErrBadQuery, topic, *q.Partition)
		}
		parts = []int32{*q.Partition}
	}
	consumer, err := sarama.NewConsumerFromClient(i.client)
	if err != nil {
		return nil, fmt.Errorf("inspect: consumer: %w", err)
	}
	defer consumer.Close()
	// Partitions are read concurrently: one answer costs the slowest
	// partition, not their sum.
	per := make([][]Message, len(parts))
	g, gctx := errgroup.WithContext(ctx)
	for n, p := range parts {
		g.Go(func() error {
			oldest, newest, err := i.offsets(topic, p)
			if err != nil {
				return err
			}
			from, to := Window(oldest, newest, q.Offset, q.Key != "", limit)
			if from >= to {
				return nil
			}
			msgs, err := read(gctx, consumer, topic, p, from, to)
			if err != nil {
				return err
			}
			for _, m := range msgs {
				if q.Key == "" || string(m.Key) == q.Key {
					per[n] = append(per[n], Decode(m, i.dlq[topic]))
				}
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	out := []Message{}
	for _, ms := range per {
		out = append(out, ms...)
	}
	sort.SliceStable(out, func(a, b int) bool {
		if !out[a].Timestamp.Equal(out[b].Timestamp) {
			return out[a].Timestamp.After(out[b].Timestamp)
		}
		return out[a].Offset > out[b].Offset
	})
	if q.Offset != nil {
		sort.SliceStable(out, func(a, b int) bool { return out[a].Offset < out[b].Offset })
	}
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// Window returns the offsets [from, to) to read of a partition holding
// [oldest, newest): from offset when given, else the latest limit records
// (the latest Scan when searching by key).
func Window(oldest, newest int64, offset *int64, byKey bool, limit int) (from, to int64) {
	if offset != nil {
		from = max(*offset, oldest)
		return from, min(newest, from+int64(limit))
	}
	n := int64(limit)
	if byKey {
		n = Scan
	}
	return max(oldest, newest-n), newest
}

func read(ctx context.Context, c sarama.Consumer, topic string, p int32, from, to int64) ([]*sarama.ConsumerMessage, error) {
	pc, err := c.ConsumePartition(topic, p, from)
	if err != nil {
		return nil, fmt.Errorf("inspect: read %s/%d from %d: %w", topic, p, from, err)
	}
	defer pc.Close()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var out []*sarama.ConsumerMessage
	for {
		select {
		case m := <-pc.Messages():
			out = append(out, m)
			if m.Offset+1 >= to {
				return out, nil
			}
		case err := <-pc.Errors():
			return nil, fmt.Errorf("inspect: read %s/%d: %w", topic, p, err)
		case <-ctx.Done():
			// Compacted topics have gaps: the last offsets may be gone.
			if errors.Is(ctx.Err(), context.DeadlineExceeded) && len(out) > 0 {
				return out, nil
			}
			return nil, fmt.Errorf("inspect: read %s/%d: %w", topic, p, ctx.Err())
		}
	}
}

// Decode turns a record into a Message: JSON values stay JSON, other UTF-8
// text is text, anything else base64; a dead letter's reason is pulled out.
func Decode(m *sarama.ConsumerMessage, deadLetter bool) Message {
	out := Message{Partition: m.Partition, Offset: m.Offset, Key: printable(m.Key), Timestamp: m.Timestamp, Size: len(m.Value)}
	switch {
	case len(m.Value) > 0 && json.Valid(m.Value):
		out.Encoding, out.Value = "json", json.RawMessage(m.Value)
		if deadLetter {
			if dl, err := (topics.DeadLetterCodec{}).DecodeValue(m.Value); err == nil {
				out.Reason = dl.Reason
			}
		}
	case utf8.Valid(m.Value) && !strings.ContainsRune(string(m.Value), 0):
		out.Encoding, out.Text = "text", string(m.Value)
	default:
		out.Encoding, out.Text = "binary", base64.StdEncoding.EncodeToString(m.Value)
	}
	return out
}

func printable(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	return base64.StdEncoding.EncodeToString(b)
}

// DeadLetterCount is what a dead-letter topic holds, by reason.
type DeadLetterCount struct {
	Topic string `json:"topic"`
	Total int64  `json:"total"`
	// Reasons counts the latest Scan records by their kind of reason.
	Reasons map[string]int `json:"reasons"`
}

// DeadLetters counts the records of every dead-letter topic, and the
// latest ones by kind of reason (ReasonKind).
func (i *Inspector) DeadLetters(ctx context.Context) ([]DeadLetterCount, error) {
	out := []DeadLetterCount{}
	for _, topic := range i.topics {
		if !i.dlq[topic] {
			continue
		}
		parts, err := i.client.Partitions(topic)
		if err != nil {
			return nil, fmt.Errorf("inspect: partitions of %s: %w", topic, err)
		}
		c := DeadLetterCount{Topic: topic, Reasons: map[string]int{}}
		for _, p := range parts {
			oldest, newest, err := i.offsets(topic, p)
			if err != nil {
				return nil, err
			}
			c.Total += newest - oldest
		}
		if c.Total > 0 {
			msgs, err := i.Messages(ctx, topic, Query{Limit: MaxLimit})
			if err != nil {
				return nil, err
			}
			for _, m := range msgs {
				c.Reasons[ReasonKind(m.Reason)]++
			}
		}
		out = append(out, c)
	}
	return out, nil
}

// ReasonKind shortens a dead letter's reason to its kind: the text before
// the first digit-bearing detail, at most 80 characters ("" becomes
// "unknown").
func ReasonKind(reason string) string {
	r := strings.TrimSpace(reason)
	if r == "" {
		return "unknown"
	}
	if i := strings.IndexAny(r, ":;"); i > 0 {
		r = r[:i]
	}
	if len(r) > 80 {
		r = r[:80]
	}
	return r
}
