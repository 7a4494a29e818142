package features

import (
	"bytes"
	"fmt"
	"hash"
	"hash/fnv"
	"sync"

	feat "github.com/storecast/storecast/features"
	"github.com/storecast/storecast/topics"
)

// ExampleCodec encodes training examples with topics.ExampleEncoder for
// the current feature schema (the JSON of topics.TrainingExampleCodec, byte
// for byte, without reflection: one example per sale). Decode is
// topics.TrainingExampleCodec. A nil value encodes as nil (a tombstone).
type ExampleCodec struct{}

var examples = topics.NewExampleEncoder(feat.SchemaVersion, feat.Names())

// Encode implements goka.Codec for *topics.TrainingExample.
func (ExampleCodec) Encode(value any) ([]byte, error) {
	ex, ok := value.(*topics.TrainingExample)
	if !ok {
		if v, isV := value.(topics.TrainingExample); isV {
			ex = &v
		} else {
			return nil, fmt.Errorf("encode example: want *topics.TrainingExample, got %T", value)
		}
	}
	if ex == nil {
		return nil, nil
	}
	sb := scratch.Get().(*[]byte)
	enc, err := examples.Append((*sb)[:0], ex)
	out := bytes.Clone(enc) // exact size; the producer keeps it
	*sb = enc
	scratch.Put(sb)
	return out, err
}

// Decode implements goka.Codec, returning *topics.TrainingExample.
func (ExampleCodec) Decode(data []byte) (any, error) {
	return topics.TrainingExampleCodec{}.Decode(data)
}

// stateCodec is the store table's codec in this group: features.State in
// binary. Decode does not decode: it hands the callback the stored bytes
// (rawState), which it decodes only when its cache of decoded states does
// not hold them. Encode accepts an already encoded state (encodedState),
// so the callback encodes each state once and knows its size, as well as
// *features.State.
type stateCodec struct{}

// rawState is an encoded state as stored; never modify it.
type rawState []byte

// encodedState is a state the callback has already encoded.
type encodedState []byte

func (stateCodec) Encode(value any) ([]byte, error) {
	switch v := value.(type) {
	case encodedState:
		return v, nil
	case rawState:
		return v, nil
	}
	return feat.Codec{}.Encode(value)
}

func (stateCodec) Decode(data []byte) (any, error) { return rawState(data), nil }

// stateCache keeps the decoded state of each store next to its encoding,
// so the next event of the store skips decoding when the table still
// holds those bytes.
type stateCache struct {
	mu sync.Mutex
	m  map[string]cachedState
}

type cachedState struct {
	enc []byte
	st  *feat.State
}

// get returns the decoded state of raw (stored under key).
func (c *stateCache) get(key string, raw []byte) (*feat.State, error) {
	c.mu.Lock()
	e, ok := c.m[key]
	c.mu.Unlock()
	if ok && bytes.Equal(e.enc, raw) {
		return e.st, nil
	}
	st := new(feat.State)
	if err := st.UnmarshalBinary(raw); err != nil {
		return nil, err
	}
	return st, nil
}

// put records st as the decoded form of enc.
func (c *stateCache) put(key string, enc []byte, st *feat.State) {
	c.mu.Lock()
	c.m[key] = cachedState{enc: enc, st: st}
	c.mu.Unlock()
}

// drop forgets key (its state may have changed without a write).
func (c *stateCache) drop(key string) {
	c.mu.Lock()
	delete(c.m, key)
	c.mu.Unlock()
}

// storeInfo is a store_info value prepared for the features: decoded once
// per distinct value (infoCodec), not once per sale.
type storeInfo struct {
	raw  *topics.StoreInfo
	info feat.Info
	err  error // validation error: the store counts as unknown
}

// infoCodec decodes store_info values (the ones the states keep) through a
// cache keyed by their bytes (a store_info value changes rarely; sales read
// it for every event).
type infoCodec struct {
	mu    sync.RWMutex
	cache map[string]*storeInfo
}

func newInfoCodec() *infoCodec { return &infoCodec{cache: make(map[string]*storeInfo)} }

const infoCacheMax = 1 << 16

func (c *infoCodec) Decode(data []byte) (any, error) {
	c.mu.RLock()
	si, ok := c.cache[string(data)]
	c.mu.RUnlock()
	if ok {
		return si, nil
	}
	v, err := topics.StoreInfoCodec{}.Decode(data)
	if err != nil {
		si = &storeInfo{err: err}
	} else {
		raw := v.(*topics.StoreInfo)
		si = &storeInfo{raw: raw, info: feat.NewInfo(raw), err: raw.Validate()}
	}
	c.mu.Lock()
	if len(c.cache) >= infoCacheMax {
		clear(c.cache)
	}
	c.cache[string(data)] = si
	c.mu.Unlock()
	return si, nil
}

// KeyHasher is the partition hasher of the features processor: goka's
// default FNV-1a over the part of the key before the first '|'. Store keys
// hash as before, and an example keyed "store|date" lands on its store's
// partition of the (copartitioned) training_examples topic.
func KeyHasher() hash.Hash32 { return &prefixHash{h: fnv.New32a()} }

type prefixHash struct {
	h    hash.Hash32
	done bool
}

func (p *prefixHash) Write(b []byte) (int, error) {
	if p.done {
		return len(b), nil
	}
	if i := bytes.IndexByte(b, '|'); i >= 0 {
		p.done = true
		_, _ = p.h.Write(b[:i])
		return len(b), nil
	}
	return p.h.Write(b)
}

func (p *prefixHash) Sum(b []byte) []byte { return p.h.Sum(b) }
func (p *prefixHash) Sum32() uint32       { return p.h.Sum32() }
func (p *prefixHash) Size() int           { return p.h.Size() }
func (p *prefixHash) BlockSize() int      { return p.h.BlockSize() }
func (p *prefixHash) Reset() {
	p.h.Reset()
	p.done = false
}
