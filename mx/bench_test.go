package mx

import (
	"context"
	"testing"
)

func BenchmarkTLSACached(b *testing.B) {
	s := startSecZone(b, "127.0.0.1")
	r := newTestResolver(b, s, nil)
	ctx := context.Background()
	if _, err := r.TLSA(ctx, "mx.sec.test", 25); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if res, err := r.TLSA(ctx, "mx.sec.test", 25); err != nil || len(res.Records) != 2 {
			b.Fatal(res, err)
		}
	}
}

func BenchmarkTXTCached(b *testing.B) {
	s := startSecZone(b, "127.0.0.1")
	r := newTestResolver(b, s, nil)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if txt, err := r.TXT(ctx, "_mta-sts.sec.test"); err != nil || len(txt) != 1 {
			b.Fatal(txt, err)
		}
	}
}
