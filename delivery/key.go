package delivery

import (
	"math"
	"time"

	"github.com/qsend/qsend/store"
)

// key is a position in the store's schedule index: the entry's time in
// unix nanoseconds (0 for a message due for completion) and its id, in
// the index's order.
type key struct {
	at int64
	id store.ID
}

// maxKey is above every entry.
var maxKey = key{math.MaxInt64, math.MaxUint64}

func keyOf(at time.Time, id store.ID) key {
	if at.IsZero() {
		return key{0, id}
	}
	return key{at.UnixNano(), id}
}

func (k key) less(o key) bool { return k.at < o.at || k.at == o.at && k.id < o.id }

// next is the position just after k.
func (k key) next() key {
	if k.id == math.MaxUint64 {
		return key{k.at + 1, 0}
	}
	return key{k.at, k.id + 1}
}

func minKey(a, b key) key {
	if b.less(a) {
		return b
	}
	return a
}

// entryKey is where the store puts m's schedule entry (store/schedule.go
// wantSched): at its earliest next attempt among recipients not final,
// never below 1 ns; ok is false when every recipient is final.
func entryKey(m store.Message) (k key, ok bool) {
	for _, r := range m.Recipients {
		if r.State.Final() {
			continue
		}
		at := int64(1)
		if !r.NextAttempt.IsZero() {
			at = max(r.NextAttempt.UnixNano(), 1)
		}
		if !ok || at < k.at {
			k, ok = key{at, m.ID}, true
		}
	}
	return k, ok
}

// entries returns up to n schedule entries at or after start, in order;
// with completions set it returns only entries due for completion (time
// 0), else only the others. The store's walk holds a read transaction, so
// the callback only copies keys out.
func (s *Scheduler) entries(start key, n int, completions bool) ([]key, error) {
	out := s.batch[:0]
	fn := func(at time.Time, id store.ID) bool {
		k := keyOf(at, id)
		if completions && k.at != 0 {
			return false
		}
		if k.less(start) || !completions && k.at == 0 {
			return true
		}
		out = append(out, k)
		return len(out) < n
	}
	from := time.Time{} // completions (time 0) are at the head
	if start.at != 0 {
		from = time.Unix(0, start.at)
	}
	err := s.st.ScanScheduleFrom(from, start.id, fn)
	s.batch = out
	return out, err
}
