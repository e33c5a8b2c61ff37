package store

import (
	"encoding/binary"
	"math"
	"time"
)

// Bucket names. Metadata, bodies and the schedule live in separate buckets
// so that listing and restarting never touch message bodies.
var (
	bucketInfo    = []byte("info")    // format version and counters
	bucketMsg     = []byte("msg")     // id → encoded metadata; its sequence allocates ids
	bucketBody    = []byte("body")    // id, chunk number → body bytes
	bucketSched   = []byte("sched")   // next attempt (unix ns), id → empty
	bucketDedupe  = []byte("dedupe")  // dedupe key → id
	bucketPartial = []byte("partial") // id → start time of a body still being written
)

// Keys inside bucketInfo.
var (
	keyFormat = []byte("format")
	keyStats  = []byte("stats")
)

// formatVersion is the layout of the file described by this package. Open
// refuses files with any other value.
const formatVersion = "1"

const (
	idKeyLen    = 8
	chunkKeyLen = idKeyLen + 4
	schedKeyLen = 8 + idKeyLen
)

// idKey is the 8-byte big-endian form of an id, so byte order is id order.
func idKey(id ID) []byte {
	var k [idKeyLen]byte
	binary.BigEndian.PutUint64(k[:], uint64(id))
	return k[:]
}

// chunkKey names chunk n of message id's body; a message's chunks are
// adjacent and in order.
func chunkKey(id ID, n uint32) []byte {
	var k [chunkKeyLen]byte
	binary.BigEndian.PutUint64(k[:], uint64(id))
	binary.BigEndian.PutUint32(k[idKeyLen:], n)
	return k[:]
}

// schedKey is the schedule index key: next attempt time in unix
// nanoseconds, then the id, both big-endian, so a cursor walks the queue
// in (time, id) order.
func schedKey(at int64, id ID) []byte {
	var k [schedKeyLen]byte
	binary.BigEndian.PutUint64(k[:], uint64(at))
	binary.BigEndian.PutUint64(k[8:], uint64(id))
	return k[:]
}

// parseSchedKey splits a schedule key; ok is false for a key of the wrong
// length.
func parseSchedKey(k []byte) (at int64, id ID, ok bool) {
	if len(k) != schedKeyLen {
		return 0, 0, false
	}
	return int64(binary.BigEndian.Uint64(k)), ID(binary.BigEndian.Uint64(k[8:])), true
}

// Unix nanoseconds represent times between 1678 and 2262; times outside
// are clamped to that range.
var (
	minNanoTime = time.Unix(0, math.MinInt64)
	maxNanoTime = time.Unix(0, math.MaxInt64)
)

// toNanos encodes t as unix nanoseconds, with the zero time as 0. (The
// instant 1970-01-01T00:00:00Z itself therefore reads back as the zero
// time; no queued message carries it.)
func toNanos(t time.Time) int64 {
	switch {
	case t.IsZero():
		return 0
	case t.Before(minNanoTime):
		return math.MinInt64
	case t.After(maxNanoTime):
		return math.MaxInt64
	}
	return t.UnixNano()
}

// fromNanos is the inverse of toNanos.
func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}

// schedTime converts a schedule key's time back: 0 is the zero time that
// marks a message whose recipients are all final.
func schedTime(n int64) time.Time { return fromNanos(n) }

// idFromKey reads an 8-byte id key (or value); callers check the length
// where the input may be damaged.
func idFromKey(k []byte) ID {
	if len(k) < idKeyLen {
		return 0
	}
	return ID(binary.BigEndian.Uint64(k))
}

// encodeTime stores a time as 8-byte big-endian unix nanoseconds.
func encodeTime(t time.Time) []byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(toNanos(t)))
	return b[:]
}

// decodeTime reads encodeTime's form; anything else is the zero time.
func decodeTime(b []byte) time.Time {
	if len(b) != 8 {
		return time.Time{}
	}
	return fromNanos(int64(binary.BigEndian.Uint64(b)))
}
