package sink

import (
	"encoding/binary"
	"fmt"
	"time"

	"github.com/IBM/sarama"

	"github.com/storecast/storecast/topics"
)

// topicPartition names one partition of one topic.
type topicPartition struct {
	topic     string
	partition int32
}

// poison is a record that cannot be written, with the reason. sent is set
// once it is on its dead-letter topic, so a retried write does not send it
// again.
type poison struct {
	msg  *sarama.ConsumerMessage
	err  error
	sent bool
}

// batch is the unit of work: the deduplicated rows of a run of records and,
// per partition, the offset after the last record in it. It is written in
// one transaction.
type batch struct {
	salesTopic, forecastTopic string

	sales      []saleRow
	salesSrc   []*sarama.ConsumerMessage
	saleIdx    map[uint64]int
	forecasts  []forecastRow
	fcSrc      []*sarama.ConsumerMessage
	forecastIx map[string]int
	poison     []poison

	// next is, per partition, the offset after the batch's last record.
	next map[topicPartition]int64
	// hwm is, per partition, the high watermark seen with the last record.
	hwm map[topicPartition]int64

	records  int
	perTopic map[string]int
	dates    topics.SaleDecoder
	started  time.Time
}

func newBatch(salesTopic, forecastTopic string, capacity int) *batch {
	return &batch{
		salesTopic:    salesTopic,
		forecastTopic: forecastTopic,
		sales:         make([]saleRow, 0, capacity),
		salesSrc:      make([]*sarama.ConsumerMessage, 0, capacity),
		saleIdx:       make(map[uint64]int, capacity),
		forecastIx:    make(map[string]int),
		next:          make(map[topicPartition]int64),
		hwm:           make(map[topicPartition]int64),
		perTopic:      make(map[string]int, 2),
	}
}

func saleKey(store int32, d topics.Date) uint64 { return uint64(uint32(store))<<32 | uint64(uint32(d)) }

// add decodes msg into the batch. A later record with the same key replaces
// an earlier one (last by offset wins); an undecodable or invalid record
// becomes poison. hwm is the partition's high watermark when msg arrived.
func (b *batch) add(msg *sarama.ConsumerMessage, hwm int64) {
	if b.records == 0 {
		b.started = time.Now()
	}
	b.records++
	b.perTopic[msg.Topic]++
	tp := topicPartition{msg.Topic, msg.Partition}
	b.next[tp] = msg.Offset + 1
	b.hwm[tp] = hwm
	switch msg.Topic {
	case b.salesTopic:
		row, err := decodeSale(msg.Value, &b.dates)
		if err != nil {
			b.poison = append(b.poison, poison{msg: msg, err: err})
			return
		}
		k := saleKey(row.store, row.date)
		if i, ok := b.saleIdx[k]; ok {
			b.sales[i], b.salesSrc[i] = row, msg
			return
		}
		b.saleIdx[k] = len(b.sales)
		b.sales = append(b.sales, row)
		b.salesSrc = append(b.salesSrc, msg)
	case b.forecastTopic:
		row, err := decodeForecast(msg.Value)
		if err != nil {
			b.poison = append(b.poison, poison{msg: msg, err: err})
			return
		}
		if i, ok := b.forecastIx[row.ID]; ok {
			b.forecasts[i], b.fcSrc[i] = row, msg
			return
		}
		b.forecastIx[row.ID] = len(b.forecasts)
		b.forecasts = append(b.forecasts, row)
		b.fcSrc = append(b.fcSrc, msg)
	default:
		b.poison = append(b.poison, poison{msg: msg, err: fmt.Errorf("record from unexpected topic %q", msg.Topic)})
	}
}

// without returns a copy of b without the sales and forecasts at the given
// indexes, which become poison with their reasons.
func (b *batch) without(badSales, badForecasts map[int]error) *batch {
	c := *b
	c.sales, c.salesSrc, c.forecasts, c.fcSrc = nil, nil, nil, nil
	c.poison = append([]poison(nil), b.poison...)
	for i := range b.sales {
		if err, bad := badSales[i]; bad {
			c.poison = append(c.poison, poison{msg: b.salesSrc[i], err: err})
			continue
		}
		c.sales = append(c.sales, b.sales[i])
		c.salesSrc = append(c.salesSrc, b.salesSrc[i])
	}
	for i := range b.forecasts {
		if err, bad := badForecasts[i]; bad {
			c.poison = append(c.poison, poison{msg: b.fcSrc[i], err: err})
			continue
		}
		c.forecasts = append(c.forecasts, b.forecasts[i])
		c.fcSrc = append(c.fcSrc, b.fcSrc[i])
	}
	c.saleIdx, c.forecastIx = nil, nil
	return &c
}

// pgEpoch is 2000-01-01, the origin of PostgreSQL's binary date.
var pgEpoch = topics.DateFromYMD(2000, 1, 1)

// copyHeader starts a binary COPY stream: signature, flags, extension length.
var copyHeader = []byte("PGCOPY\n\xff\r\n\x00" + "\x00\x00\x00\x00" + "\x00\x00\x00\x00")

// salesStageColumns are the staging table's columns in COPY order.
const salesStageColumns = "store, day_of_week, date, sales, customers, open, promo, state_holiday, school_holiday"

// encodeSalesCopy appends rows as a PostgreSQL binary COPY stream with the
// columns salesStageColumns (int4, int2, date, int4, int4, int2, int2, text,
// int2) to buf.
func encodeSalesCopy(buf []byte, rows []saleRow) []byte {
	buf = append(buf, copyHeader...)
	for i := range rows {
		r := &rows[i]
		buf = binary.BigEndian.AppendUint16(buf, 9)
		buf = appendInt4(buf, r.store)
		buf = appendInt2(buf, r.dayOfWeek)
		buf = appendInt4(buf, int32(r.date-pgEpoch))
		buf = appendInt4(buf, r.sales)
		buf = appendInt4(buf, r.customers)
		buf = appendInt2(buf, r.open)
		buf = appendInt2(buf, r.promo)
		buf = binary.BigEndian.AppendUint32(buf, uint32(len(r.stateHoliday)))
		buf = append(buf, r.stateHoliday...)
		buf = appendInt2(buf, r.school)
	}
	return binary.BigEndian.AppendUint16(buf, 0xffff)
}

func appendInt4(buf []byte, v int32) []byte {
	buf = binary.BigEndian.AppendUint32(buf, 4)
	return binary.BigEndian.AppendUint32(buf, uint32(v))
}

func appendInt2(buf []byte, v int16) []byte {
	buf = binary.BigEndian.AppendUint32(buf, 2)
	return binary.BigEndian.AppendUint16(buf, uint16(v))
}
