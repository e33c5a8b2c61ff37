package mtasts

import (
	"context"
	"testing"
)

func BenchmarkParsePolicy(b *testing.B) {
	data := []byte(enforcePolicy)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParsePolicy(data); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGetCached is the cost per message of a domain with a cached
// policy: a cached TXT lookup and a cache load.
func BenchmarkGetCached(b *testing.B) {
	const d = "bench.test"
	w := newWorld(b, []string{d}, nil)
	w.dns.Add(`_mta-sts.bench.test. 300 IN TXT "v=STSv1; id=1;"`)
	w.policy.set(d, response{body: enforcePolicy})
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if p, err := w.r.Get(ctx, d); p == nil || err != nil {
			b.Fatal(p, err)
		}
	}
	if n := w.policy.fetches(d); n != 1 {
		b.Errorf("%d fetches", n)
	}
}
