package delivery

import (
	"container/heap"

	"github.com/qsend/qsend/store"
)

// A message's schedule entry sits at the earliest next attempt of all its
// recipients, whatever their channel. When one channel cannot deliver
// (no transport, held, full), its overdue recipients keep the entry low
// while the other channel's recipients wait for a later time; the scan
// passes the entry for that channel and would not come back. A revisit
// brings it back: at time at, the channel's scan position drops to k.
type revisit struct {
	at int64 // unix ns
	k  key
	c  Channel
}

type revisitID struct {
	id store.ID
	c  Channel
}

// revisits is a min-heap by time, with at most one live revisit per
// message and channel (the earliest).
type revisits struct {
	h    revisitHeap
	when map[revisitID]int64
}

type revisitHeap []revisit

func (h revisitHeap) Len() int           { return len(h) }
func (h revisitHeap) Less(i, j int) bool { return h[i].at < h[j].at }
func (h revisitHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *revisitHeap) Push(x any)        { *h = append(*h, x.(revisit)) }
func (h *revisitHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// add asks for k to be looked at again for c at time at.
func (r *revisits) add(at int64, k key, c Channel) {
	if r.when == nil {
		r.when = make(map[revisitID]int64)
	}
	rid := revisitID{k.id, c}
	if t, ok := r.when[rid]; ok && t <= at {
		return
	}
	r.when[rid] = at
	heap.Push(&r.h, revisit{at, k, c})
}

// due pops the revisits due at now, calling fn for each live one, and
// returns the time of the next (0 for none).
func (r *revisits) due(now int64, fn func(k key, c Channel)) int64 {
	for len(r.h) > 0 && r.h[0].at <= now {
		v := heap.Pop(&r.h).(revisit)
		rid := revisitID{v.k.id, v.c}
		if r.when[rid] == v.at {
			delete(r.when, rid)
			fn(v.k, v.c)
		}
	}
	if len(r.h) > 0 {
		return r.h[0].at
	}
	return 0
}
