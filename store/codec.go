package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// record is a message as stored: the public metadata plus what the store
// needs to keep its indexes consistent.
type record struct {
	Message
	// scheduled tells whether the message has an entry in the schedule
	// index, and sched is that entry's time (unix ns), so a change can
	// remove the old entry without searching for it.
	scheduled bool
	sched     int64
	// keys are the dedupe keys naming this message (the reverse
	// reference Delete uses to remove them).
	keys []string
	// warnedOf is NewMessage.WarnedOf of a message being enqueued; it is
	// not stored.
	warnedOf ID
}

// Metadata encoding, version 1 (all integers are Go varints or uvarints):
//
//	byte     codecVersion
//	uvarint  flags (flagHeld, flagScheduled, flagWarned, flagEightBit, flagSMTPUTF8)
//	varint   schedule key time
//	string   sender
//	varint   born (unix ns)
//	varint   size
//	string   intake protocol, varint uid, varint pid,
//	string   client address, HELO, TLS, auth
//	uvarint  number of dedupe keys, then each as a string
//	uvarint  number of recipients, then each as
//	         string addr, byte state, uvarint attempts,
//	         varint next attempt, varint last attempt, string last result
//	uvarint  wire size (optional)
//
// A string is a uvarint length followed by its bytes. Times are unix
// nanoseconds with 0 for the zero time. flagWarned was added later
// without a new version: records written before it lack the bit, which
// reads as Warned false; flagSMTPUTF8 the same way (SMTPUTF8 false).
// stateTLSPolicy, the high bit of a recipient's
// state byte, was added the same way. The wire size was added later as a
// trailing field: records without it read as WireSize 0.
const codecVersion = 1

// stateTLSPolicy marks, in a recipient's state byte, that its last result
// was a TLS policy failure (Recipient.TLSPolicy).
const stateTLSPolicy = 0x80

const (
	flagHeld      = 1 << 0
	flagScheduled = 1 << 1
	flagWarned    = 1 << 2
	flagEightBit  = 1 << 3
	flagSMTPUTF8  = 1 << 4
	knownFlags    = flagHeld | flagScheduled | flagWarned | flagEightBit | flagSMTPUTF8
)

// encodeRecord returns the stored form of r. It allocates a new slice
// each time: bbolt keeps a reference to a value until its transaction
// ends.
func encodeRecord(r *record) []byte {
	n := 64 + len(r.Sender) + len(r.Intake.Protocol) + len(r.Intake.ClientAddr) +
		len(r.Intake.HELO) + len(r.Intake.TLS) + len(r.Intake.Auth)
	for _, k := range r.keys {
		n += len(k) + 2
	}
	for _, rc := range r.Recipients {
		n += len(rc.Addr) + len(rc.LastResult) + 32
	}
	b := make([]byte, 0, n)
	b = append(b, codecVersion)
	var flags uint64
	if r.Held {
		flags |= flagHeld
	}
	if r.scheduled {
		flags |= flagScheduled
	}
	if r.Warned {
		flags |= flagWarned
	}
	if r.EightBit {
		flags |= flagEightBit
	}
	if r.SMTPUTF8 {
		flags |= flagSMTPUTF8
	}
	b = binary.AppendUvarint(b, flags)
	b = binary.AppendVarint(b, r.sched)
	b = appendString(b, r.Sender)
	b = binary.AppendVarint(b, toNanos(r.Born))
	b = binary.AppendVarint(b, r.Size)
	b = appendString(b, r.Intake.Protocol)
	b = binary.AppendVarint(b, int64(r.Intake.UID))
	b = binary.AppendVarint(b, int64(r.Intake.PID))
	b = appendString(b, r.Intake.ClientAddr)
	b = appendString(b, r.Intake.HELO)
	b = appendString(b, r.Intake.TLS)
	b = appendString(b, r.Intake.Auth)
	b = binary.AppendUvarint(b, uint64(len(r.keys)))
	for _, k := range r.keys {
		b = appendString(b, k)
	}
	b = binary.AppendUvarint(b, uint64(len(r.Recipients)))
	for _, rc := range r.Recipients {
		b = appendString(b, rc.Addr)
		st := byte(rc.State)
		if rc.TLSPolicy {
			st |= stateTLSPolicy
		}
		b = append(b, st)
		b = binary.AppendUvarint(b, uint64(rc.Attempts))
		b = binary.AppendVarint(b, toNanos(rc.NextAttempt))
		b = binary.AppendVarint(b, toNanos(rc.LastAttempt))
		b = appendString(b, rc.LastResult)
	}
	if r.WireSize > 0 {
		b = binary.AppendUvarint(b, uint64(r.WireSize))
	}
	return b
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// errDecode is the cause inside decode errors; callers see ErrCorrupt.
var errDecode = errors.New("malformed record")

// decodeRecord parses a stored record. It copies everything it keeps, so
// b may be memory owned by a bbolt transaction. Any malformed input is an
// error wrapping ErrCorrupt and naming the id; it never panics.
func decodeRecord(id ID, b []byte) (*record, error) {
	d := decoder{b: b}
	r := &record{}
	r.ID = id
	if v := d.byte(); d.err == nil && v != codecVersion {
		return nil, fmt.Errorf("message %d: metadata version %d unknown: %w", id, v, ErrCorrupt)
	}
	flags := d.uvarint()
	if flags&^knownFlags != 0 && d.err == nil {
		d.fail("unknown flags %#x", flags)
	}
	r.Held = flags&flagHeld != 0
	r.scheduled = flags&flagScheduled != 0
	r.Warned = flags&flagWarned != 0
	r.EightBit = flags&flagEightBit != 0
	r.SMTPUTF8 = flags&flagSMTPUTF8 != 0
	r.sched = d.varint()
	r.Sender = d.string()
	r.Born = fromNanos(d.varint())
	r.Size = d.varint()
	if r.Size < 0 && d.err == nil {
		d.fail("negative size %d", r.Size)
	}
	r.Intake.Protocol = d.string()
	r.Intake.UID = d.int()
	r.Intake.PID = d.int()
	r.Intake.ClientAddr = d.string()
	r.Intake.HELO = d.string()
	r.Intake.TLS = d.string()
	r.Intake.Auth = d.string()
	if n := d.count(1); n > 0 {
		r.keys = make([]string, n)
		for i := range r.keys {
			r.keys[i] = d.string()
		}
	}
	// A recipient takes at least 6 bytes, which bounds the allocation for
	// a damaged count.
	if n := d.count(6); n > 0 {
		r.Recipients = make([]Recipient, n)
		for i := range r.Recipients {
			rc := &r.Recipients[i]
			rc.Addr = d.string()
			st := d.byte()
			rc.TLSPolicy = st&stateTLSPolicy != 0
			rc.State = RcptState(st &^ stateTLSPolicy)
			if rc.State > Failed && d.err == nil {
				d.fail("recipient %d: state %d unknown", i, rc.State)
			}
			a := d.uvarint()
			if a > math.MaxInt32 && d.err == nil {
				d.fail("recipient %d: %d attempts", i, a)
			}
			rc.Attempts = int(a)
			rc.NextAttempt = fromNanos(d.varint())
			rc.LastAttempt = fromNanos(d.varint())
			rc.LastResult = d.string()
		}
	}
	if d.err == nil && len(d.b) != 0 {
		ws := d.uvarint()
		// Only a positive wire size is written: 0 would be a stray byte.
		if (ws == 0 || ws > math.MaxInt64) && d.err == nil {
			d.fail("wire size %d", ws)
		}
		r.WireSize = int64(ws)
	}
	if d.err == nil && len(d.b) != 0 {
		d.fail("%d bytes after the wire size", len(d.b))
	}
	if d.err == nil && len(r.Recipients) == 0 {
		d.fail("no recipients")
	}
	if d.err != nil {
		return nil, fmt.Errorf("message %d: %w: %w", id, d.err, ErrCorrupt)
	}
	return r, nil
}

// decoder reads the encoding above; the first error sticks and later
// reads return zero values.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: "+format, append([]any{errDecode}, args...)...)
	}
}

func (d *decoder) byte() byte {
	if d.err != nil {
		return 0
	}
	if len(d.b) == 0 {
		d.fail("truncated")
		return 0
	}
	v := d.b[0]
	d.b = d.b[1:]
	return v
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail("bad number")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail("bad number")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) int() int {
	v := d.varint()
	if (v < math.MinInt32 || v > math.MaxInt32) && d.err == nil {
		d.fail("number %d out of range", v)
		return 0
	}
	return int(v)
}

// count reads an element count whose elements take at least min bytes
// each, rejecting counts the remaining input cannot hold.
func (d *decoder) count(min int) int {
	n := d.uvarint()
	if d.err != nil {
		return 0
	}
	if n > uint64(len(d.b)/min) {
		d.fail("count %d exceeds the record", n)
		return 0
	}
	return int(n)
}

func (d *decoder) string() string {
	n := d.uvarint()
	if d.err != nil {
		return ""
	}
	if n > uint64(len(d.b)) {
		d.fail("string of %d bytes exceeds the record", n)
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}
