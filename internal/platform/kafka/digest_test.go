package kafka

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
)

// stallingConsumer serves partition 0 of one topic: each partition
// consumer delivers at most perOpen records from its starting offset (of
// the records at offsets 0..len-1), then stalls.
type stallingConsumer struct {
	sarama.Consumer
	records int64
	perOpen int64
	opened  []int64 // starting offsets, in order
}

type stalledPartition struct {
	sarama.PartitionConsumer
	messages chan *sarama.ConsumerMessage
	errors   chan *sarama.ConsumerError
}

func (c *stallingConsumer) ConsumePartition(_ string, _ int32, offset int64) (sarama.PartitionConsumer, error) {
	c.opened = append(c.opened, offset)
	pc := &stalledPartition{messages: make(chan *sarama.ConsumerMessage, c.perOpen), errors: make(chan *sarama.ConsumerError)}
	for o := offset; o < min(offset+c.perOpen, c.records); o++ {
		pc.messages <- &sarama.ConsumerMessage{Offset: o, Value: []byte{byte(o)}}
	}
	return pc, nil
}

func (p *stalledPartition) Messages() <-chan *sarama.ConsumerMessage { return p.messages }
func (p *stalledPartition) Errors() <-chan *sarama.ConsumerError     { return p.errors }
func (p *stalledPartition) Close() error                             { return nil }

func TestReadRangeReopensAStalledConsumer(t *testing.T) {
	readIdle = 20 * time.Millisecond
	t.Cleanup(func() { readIdle = 20 * time.Second })

	c := &stallingConsumer{records: 10, perOpen: 4}
	var got []int64
	err := ReadRange(t.Context(), c, "t", 0, 1, 10, func(_ int32, off int64, _, _ []byte) error {
		got = append(got, off)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := []int64{1, 2, 3, 4, 5, 6, 7, 8, 9}; !slices.Equal(got, want) {
		t.Errorf("read offsets %v, want %v", got, want)
	}
	if want := []int64{1, 5, 9}; !slices.Equal(c.opened, want) {
		t.Errorf("opened at %v, want %v", c.opened, want)
	}

	// A consumer that never delivers: the context bounds the read, and the
	// error says where it stopped.
	c = &stallingConsumer{records: 3, perOpen: 4}
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	err = ReadRange(ctx, c, "t", 0, 0, 5, func(int32, int64, []byte, []byte) error { return nil })
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "stopped at offset 3 before 5") {
		t.Errorf("error %v, want a deadline naming offset 3", err)
	}
}
