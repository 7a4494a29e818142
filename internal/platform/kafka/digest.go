package kafka

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"slices"
	"time"

	"github.com/IBM/sarama"
)

// Digest summarises what a compacted topic holds: the latest value of
// every key, as compaction leaves it (a tombstone removes its key).
type Digest struct {
	Topic string `json:"topic"`
	// Records is how many records were read (up to the high watermarks).
	Records int64 `json:"records"`
	// Keys is how many keys hold a value.
	Keys int `json:"keys"`
	// SHA256 is the hex sha256 of the keys in byte order, each as its
	// length, the key, the value's length and the value (lengths as
	// 8-byte big-endian): equal for two topics that hold the same values,
	// whatever their partitions, order or uncompacted history.
	SHA256 string `json:"sha256"`
}

// TopicDigest reads topic from the oldest offsets to the high watermarks
// at call time and returns the digest of its latest values. It reads
// only; ctx bounds it.
func TopicDigest(ctx context.Context, cfg Config, topic string) (Digest, error) {
	d := Digest{Topic: topic}
	values := map[string][]byte{}
	err := ReadToHighWatermark(ctx, cfg, topic, func(_ int32, _ int64, key, value []byte) error {
		d.Records++
		if value == nil {
			delete(values, string(key))
		} else {
			values[string(key)] = value
		}
		return nil
	})
	if err != nil {
		return d, err
	}
	keys := make([]string, 0, len(values))
	for k := range values {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	h := sha256.New()
	var n [8]byte
	for _, k := range keys {
		binary.BigEndian.PutUint64(n[:], uint64(len(k)))
		h.Write(n[:])
		h.Write([]byte(k))
		v := values[k]
		binary.BigEndian.PutUint64(n[:], uint64(len(v)))
		h.Write(n[:])
		h.Write(v)
	}
	d.Keys = len(keys)
	d.SHA256 = hex.EncodeToString(h.Sum(nil))
	return d, nil
}

// ReadToHighWatermark calls fn for every record of topic, partition by
// partition in offset order, from the oldest offset up to the high
// watermarks at call time. A nil value is a tombstone. An error of fn
// stops the read and is returned.
func ReadToHighWatermark(ctx context.Context, cfg Config, topic string, fn func(partition int32, offset int64, key, value []byte) error) error {
	sc := cfg.Sarama()
	sc.Consumer.Return.Errors = true
	client, err := sarama.NewClient(cfg.Brokers, sc)
	if err != nil {
		return fmt.Errorf("read %s: %w", topic, err)
	}
	defer func() { _ = client.Close() }()
	consumer, err := sarama.NewConsumerFromClient(client)
	if err != nil {
		return fmt.Errorf("read %s: %w", topic, err)
	}
	defer func() { _ = consumer.Close() }()
	parts, err := client.Partitions(topic)
	if err != nil {
		return fmt.Errorf("read %s: %w", topic, err)
	}
	for _, p := range parts {
		if err := readPartition(ctx, client, consumer, topic, p, fn); err != nil {
			return err
		}
	}
	return nil
}

func readPartition(ctx context.Context, client sarama.Client, consumer sarama.Consumer, topic string, p int32, fn func(int32, int64, []byte, []byte) error) error {
	hwm, err := client.GetOffset(topic, p, sarama.OffsetNewest)
	if err != nil {
		return fmt.Errorf("read %s/%d: %w", topic, p, err)
	}
	oldest, err := client.GetOffset(topic, p, sarama.OffsetOldest)
	if err != nil {
		return fmt.Errorf("read %s/%d: %w", topic, p, err)
	}
	return ReadRange(ctx, consumer, topic, p, oldest, hwm, fn)
}

// ReadRange calls fn for every record of partition p of topic with an
// offset in [from, to), in order (records compaction removed are skipped).
// The consumer's config must return errors. An error of fn stops the read
// and is returned. A partition consumer that delivers nothing for
// readIdle while records remain is closed and the read goes on from the
// next offset with a new one: a fetch that stalls costs readIdle, not the
// whole of ctx.
func ReadRange(ctx context.Context, consumer sarama.Consumer, topic string, p int32, from, to int64, fn func(partition int32, offset int64, key, value []byte) error) error {
	next, reopened := from, 0
	for next < to {
		n, done, err := readUntilIdle(ctx, consumer, topic, p, next, to, fn)
		switch {
		case err != nil && ctx.Err() != nil:
			return fmt.Errorf("read %s/%d: stopped at offset %d before %d (consumer reopened %d times after %s without a record): %w", topic, p, n, to, reopened, readIdle, ctx.Err())
		case err != nil:
			return err
		case done:
			return nil
		}
		next = n
		reopened++
	}
	return nil
}

// readIdle is how long ReadRange waits for a record before it reopens the
// partition consumer.
var readIdle = 20 * time.Second

// readUntilIdle reads from next until the record before to (done), an
// error, or readIdle without a record; it returns the offset to go on from.
func readUntilIdle(ctx context.Context, consumer sarama.Consumer, topic string, p int32, next, to int64, fn func(int32, int64, []byte, []byte) error) (int64, bool, error) {
	pc, err := consumer.ConsumePartition(topic, p, next)
	if err != nil {
		return next, false, fmt.Errorf("read %s/%d: %w", topic, p, err)
	}
	defer func() { _ = pc.Close() }()
	idle := time.NewTimer(readIdle)
	defer idle.Stop()
	for {
		select {
		case m := <-pc.Messages():
			if m.Offset >= to {
				return m.Offset, true, nil
			}
			if err := fn(p, m.Offset, m.Key, m.Value); err != nil {
				return next, false, err
			}
			if next = m.Offset + 1; next >= to {
				return next, true, nil
			}
			idle.Reset(readIdle)
		case err := <-pc.Errors():
			return next, false, fmt.Errorf("read %s/%d: %w", topic, p, err)
		case <-idle.C:
			return next, false, nil
		case <-ctx.Done():
			return next, false, ctx.Err()
		}
	}
}
