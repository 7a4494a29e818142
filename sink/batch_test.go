package sink

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/IBM/sarama"

	"github.com/storecast/storecast/topics"
)

const (
	salesTopic    = "sales"
	forecastTopic = "forecasts"
)

func saleMsg(partition int32, offset int64, store, sales int, date string) *sarama.ConsumerMessage {
	d, err := topics.ParseDate(date)
	if err != nil {
		panic(err)
	}
	v := fmt.Sprintf(`{"v":1,"store":%d,"day_of_week":%d,"date":%q,"sales":%d,"customers":1,"open":1,"promo":0,"state_holiday":"0","school_holiday":0}`,
		store, d.Weekday(), date, sales)
	return &sarama.ConsumerMessage{Topic: salesTopic, Partition: partition, Offset: offset, Key: []byte(topics.StoreKey(store)), Value: []byte(v)}
}

func forecastMsg(partition int32, offset int64, id string, predicted float64) *sarama.ConsumerMessage {
	f := validForecast()
	f.ID, f.PredictedSales = id, predicted
	v, _ := json.Marshal(f)
	return &sarama.ConsumerMessage{Topic: forecastTopic, Partition: partition, Offset: offset, Value: v}
}

func TestBatchLastByOffsetWins(t *testing.T) {
	t.Parallel()
	b := newBatch(salesTopic, forecastTopic, 8)
	b.add(saleMsg(0, 10, 1, 100, "2015-06-19"), 50)
	b.add(saleMsg(0, 11, 2, 200, "2015-06-19"), 50)
	b.add(saleMsg(0, 12, 1, 111, "2015-06-19"), 50) // replaces offset 10
	b.add(saleMsg(1, 7, 1, 100, "2015-06-18"), 9)   // another day: a new row
	b.add(forecastMsg(3, 0, "a", 1), 4)
	b.add(forecastMsg(3, 1, "b", 2), 4)
	b.add(forecastMsg(3, 2, "a", 3), 4) // replaces offset 0
	b.add(&sarama.ConsumerMessage{Topic: salesTopic, Partition: 1, Offset: 8, Value: []byte("not json")}, 9)

	if b.records != 8 {
		t.Errorf("records = %d, want 8", b.records)
	}
	got := map[string]int32{}
	for _, r := range b.sales {
		got[fmt.Sprintf("%d|%s", r.store, r.date)] = r.sales
	}
	want := map[string]int32{"1|2015-06-19": 111, "2|2015-06-19": 200, "1|2015-06-18": 100}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("sales = %v, want %v", got, want)
	}
	for i, r := range b.sales {
		if r.store == 1 && r.date == topics.DateFromYMD(2015, 6, 19) && b.salesSrc[i].Offset != 12 {
			t.Errorf("source of the replaced row is offset %d, want 12", b.salesSrc[i].Offset)
		}
	}
	if len(b.forecasts) != 2 || b.forecasts[b.forecastIx["a"]].PredictedSales != 3 {
		t.Errorf("forecasts = %+v, want a=3 and b", b.forecasts)
	}
	if len(b.poison) != 1 || b.poison[0].msg.Offset != 8 {
		t.Errorf("poison = %+v, want the record at offset 8", b.poison)
	}
	wantNext := map[topicPartition]int64{{salesTopic, 0}: 13, {salesTopic, 1}: 9, {forecastTopic, 3}: 3}
	if fmt.Sprint(b.next) != fmt.Sprint(wantNext) {
		t.Errorf("next = %v, want %v (poison advances too)", b.next, wantNext)
	}
	if b.hwm[topicPartition{salesTopic, 1}] != 9 {
		t.Errorf("hwm = %v", b.hwm)
	}
	if b.perTopic[salesTopic] != 5 || b.perTopic[forecastTopic] != 3 {
		t.Errorf("perTopic = %v", b.perTopic)
	}
}

func TestBatchWithout(t *testing.T) {
	t.Parallel()
	b := newBatch(salesTopic, forecastTopic, 8)
	b.add(saleMsg(0, 0, 1, 1, "2015-06-19"), 0)
	b.add(saleMsg(0, 1, 2, 2, "2015-06-19"), 0)
	b.add(forecastMsg(0, 0, "x", 1), 0)
	b.add(&sarama.ConsumerMessage{Topic: salesTopic, Partition: 0, Offset: 2, Value: []byte("{")}, 0)
	b.poison[0].sent = true
	c := b.without(map[int]error{0: fmt.Errorf("check violated")}, map[int]error{0: fmt.Errorf("too long")})
	if len(c.sales) != 1 || c.sales[0].store != 2 || len(c.forecasts) != 0 {
		t.Errorf("kept sales %+v forecasts %+v, want only store 2", c.sales, c.forecasts)
	}
	if len(c.poison) != 3 || !c.poison[0].sent || c.poison[1].sent || c.poison[2].sent {
		t.Errorf("poison = %+v, want the sent one plus two unsent", c.poison)
	}
	if !strings.Contains(c.poison[1].err.Error(), "check violated") || c.poison[1].msg.Offset != 0 {
		t.Errorf("poison[1] = %+v", c.poison[1])
	}
	if len(b.sales) != 2 || len(b.poison) != 1 {
		t.Errorf("without changed the original batch")
	}
	if fmt.Sprint(c.next) != fmt.Sprint(b.next) {
		t.Errorf("offsets changed: %v, want %v", c.next, b.next)
	}
}

func TestEncodeSalesCopy(t *testing.T) {
	t.Parallel()
	rows := []saleRow{{store: 1115, sales: 4202, customers: 487, date: topics.DateFromYMD(2000, 1, 3), dayOfWeek: 1, open: 1, promo: 0, school: 1, stateHoliday: "a"}}
	got := encodeSalesCopy(nil, rows)
	var want bytes.Buffer
	want.WriteString("PGCOPY\n\xff\r\n\x00")
	w := func(v any) { _ = binary.Write(&want, binary.BigEndian, v) }
	w(int32(0))
	w(int32(0))
	w(int16(9))
	w(int32(4))
	w(int32(1115))
	w(int32(2))
	w(int16(1))
	w(int32(4))
	w(int32(2)) // days since 2000-01-01
	w(int32(4))
	w(int32(4202))
	w(int32(4))
	w(int32(487))
	w(int32(2))
	w(int16(1))
	w(int32(2))
	w(int16(0))
	w(int32(1))
	want.WriteString("a")
	w(int32(2))
	w(int16(1))
	w(int16(-1))
	if !bytes.Equal(got, want.Bytes()) {
		t.Errorf("encodeSalesCopy =\n%q\nwant\n%q", got, want.Bytes())
	}
}

func BenchmarkBatchAdd(b *testing.B) {
	msgs := make([]*sarama.ConsumerMessage, 20000)
	for i := range msgs {
		msgs[i] = saleMsg(int32(i%8), int64(i), 1+i%1115, 5000+i%300, topics.DateFromYMD(2014, 1, 1).AddDays(i/1115).String())
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		bt := newBatch(salesTopic, forecastTopic, len(msgs))
		for _, m := range msgs {
			bt.add(m, 0)
		}
		_ = encodeSalesCopy(nil, bt.sales)
	}
	b.ReportMetric(float64(b.N*len(msgs))/b.Elapsed().Seconds(), "records/s")
}
