package topics

import "time"

// DeadLetterVersion is the schema version of DeadLetter.
const DeadLetterVersion = 1

// DeadLetter is a record that could not be processed, with the reason. It
// goes to the dead-letter topic of its source (for example SalesDLQ), keyed
// like the original when it had a usable key.
type DeadLetter struct {
	V int `json:"v"`
	// Source is the topic the record came from, or "file" for CSV input.
	Source string `json:"source"`
	// File and Line locate a bad CSV row (Line is 1-based, the header is 1).
	File string `json:"file,omitempty"`
	Line int    `json:"line,omitempty"`
	// Partition and Offset locate a bad Kafka record.
	Partition int32  `json:"partition,omitempty"`
	Offset    int64  `json:"offset,omitempty"`
	Key       string `json:"key,omitempty"`
	// Payload is the raw row or record value.
	Payload string `json:"payload"`
	// Reason says what is wrong; Fields names the bad fields, if known.
	Reason string   `json:"reason"`
	Fields []string `json:"fields,omitempty"`
	// Stage names the component that rejected it (produce, features, sink...).
	Stage string    `json:"stage"`
	At    time.Time `json:"at"`
}

// NewDeadLetter builds a DeadLetter for err, naming the bad fields.
func NewDeadLetter(stage, source string, payload []byte, err error, at time.Time) *DeadLetter {
	return &DeadLetter{
		V:       DeadLetterVersion,
		Source:  source,
		Payload: string(payload),
		Reason:  Reason(err),
		Fields:  Fields(err),
		Stage:   stage,
		At:      at.UTC(),
	}
}
