package store

import (
	"encoding/binary"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// Stats are the queue's counters, kept in the file so they cost O(1).
type Stats struct {
	Messages   int
	Held       int
	Recipients int   // not yet final
	Bytes      int64 // body bytes of all messages
}

// statsLen is the stored size of the counters: four big-endian int64.
const statsLen = 32

func (st Stats) add(d Stats) Stats {
	return Stats{
		Messages:   st.Messages + d.Messages,
		Held:       st.Held + d.Held,
		Recipients: st.Recipients + d.Recipients,
		Bytes:      st.Bytes + d.Bytes,
	}
}

func (st Stats) neg() Stats {
	return Stats{-st.Messages, -st.Held, -st.Recipients, -st.Bytes}
}

// contribution is what one message adds to the counters.
func (r *record) contribution() Stats {
	st := Stats{Messages: 1, Bytes: r.Size}
	if r.Held {
		st.Held = 1
	}
	for _, rc := range r.Recipients {
		if !rc.State.Final() {
			st.Recipients++
		}
	}
	return st
}

func encodeStats(st Stats) []byte {
	b := make([]byte, statsLen)
	binary.BigEndian.PutUint64(b[0:], uint64(st.Messages))
	binary.BigEndian.PutUint64(b[8:], uint64(st.Held))
	binary.BigEndian.PutUint64(b[16:], uint64(st.Recipients))
	binary.BigEndian.PutUint64(b[24:], uint64(st.Bytes))
	return b
}

func readStats(tx *bolt.Tx) (Stats, error) {
	b := tx.Bucket(bucketInfo).Get(keyStats)
	if len(b) != statsLen {
		return Stats{}, fmt.Errorf("counters are %d bytes, want %d: %w", len(b), statsLen, ErrCorrupt)
	}
	return Stats{
		Messages:   int(int64(binary.BigEndian.Uint64(b[0:]))),
		Held:       int(int64(binary.BigEndian.Uint64(b[8:]))),
		Recipients: int(int64(binary.BigEndian.Uint64(b[16:]))),
		Bytes:      int64(binary.BigEndian.Uint64(b[24:])),
	}, nil
}

// addStats changes the counters inside a write transaction, so they move
// together with the data they count.
func addStats(tx *bolt.Tx, d Stats) error {
	if d == (Stats{}) {
		return nil
	}
	st, err := readStats(tx)
	if err != nil {
		return err
	}
	return tx.Bucket(bucketInfo).Put(keyStats, encodeStats(st.add(d)))
}

// Stats returns the queue counters.
func (s *Store) Stats() (Stats, error) {
	var st Stats
	err := s.view(func(tx *bolt.Tx) error {
		var err error
		st, err = readStats(tx)
		return err
	})
	if err != nil {
		return Stats{}, s.ioError("stats", err)
	}
	return st, nil
}
