package testkit

import (
	"sync"

	"github.com/IBM/sarama"
)

// FakeProducer is a sarama.AsyncProducer without a broker: it takes each
// message in order, asks Fail whether to fail it, and returns it on
// Successes or Errors. It records what it was given.
type FakeProducer struct {
	sarama.AsyncProducer
	in   chan *sarama.ProducerMessage
	succ chan *sarama.ProducerMessage
	errs chan *sarama.ProducerError
	once sync.Once

	mu  sync.Mutex
	got []*sarama.ProducerMessage
	// acked[i] is how many messages had succeeded when message i arrived.
	acked []int
}

// NewFakeProducer returns a producer failing message i (the i-th it was
// given, from 0) with fail's error; nil succeeds it.
func NewFakeProducer(fail func(i int, m *sarama.ProducerMessage) error) *FakeProducer {
	f := &FakeProducer{in: make(chan *sarama.ProducerMessage), succ: make(chan *sarama.ProducerMessage), errs: make(chan *sarama.ProducerError)}
	go func() {
		acked := 0
		for m := range f.in {
			f.mu.Lock()
			i := len(f.got)
			f.got = append(f.got, m)
			f.acked = append(f.acked, acked)
			f.mu.Unlock()
			if err := fail(i, m); err != nil {
				f.errs <- &sarama.ProducerError{Msg: m, Err: err}
				continue
			}
			f.succ <- m
			acked++
		}
		close(f.succ)
		close(f.errs)
	}()
	return f
}

// Succeed is the fail function of a producer that never fails.
func Succeed(int, *sarama.ProducerMessage) error { return nil }

// Input implements sarama.AsyncProducer.
func (f *FakeProducer) Input() chan<- *sarama.ProducerMessage { return f.in }

// Successes implements sarama.AsyncProducer.
func (f *FakeProducer) Successes() <-chan *sarama.ProducerMessage { return f.succ }

// Errors implements sarama.AsyncProducer.
func (f *FakeProducer) Errors() <-chan *sarama.ProducerError { return f.errs }

// AsyncClose implements sarama.AsyncProducer.
func (f *FakeProducer) AsyncClose() { f.once.Do(func() { close(f.in) }) }

// Close implements sarama.AsyncProducer.
func (f *FakeProducer) Close() error { f.AsyncClose(); return nil }

// Messages returns every message given so far, in order.
func (f *FakeProducer) Messages() []*sarama.ProducerMessage {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*sarama.ProducerMessage(nil), f.got...)
}

// AckedAt returns how many messages had succeeded when message i arrived.
func (f *FakeProducer) AckedAt(i int) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.acked[i]
}
