package daemon

import (
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/qsend/qsend/store"
	"github.com/qsend/qsend/tls/mtasts"
)

func TestSTSCacheRoundTrip(t *testing.T) {
	st, err := store.Open(filepath.Join(t.TempDir(), "queue.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	c := newSTSCache(st)
	now := time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC)
	want := mtasts.Cached{Policy: mtasts.Policy{Mode: mtasts.ModeEnforce, MX: []string{"mx.example.com", "*.example.net"}, MaxAge: 86400 * time.Second},
		ID: "20261124", Fetched: now, Expires: now.Add(86400 * time.Second)}
	if err := c.Store("example.com", want); err != nil {
		t.Fatal(err)
	}
	got, ok, err := c.Load("example.com")
	if !ok || err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("Load = %+v %v %v, want %+v", got, ok, err, want)
	}
	if ds, err := c.Domains(); err != nil || !reflect.DeepEqual(ds, []string{"example.com"}) {
		t.Fatalf("Domains = %v %v", ds, err)
	}
	var _ mtasts.Lister = c
	// A fresh cache over the same file reads what the first one stored,
	// and remembers that another domain has no policy.
	c2 := newSTSCache(st)
	if got, ok, err := c2.Load("example.com"); !ok || err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("second cache Load = %+v %v %v", got, ok, err)
	}
	if _, ok, err := c2.Load("other.example"); ok || err != nil {
		t.Fatalf("Load of an unknown domain = %v %v", ok, err)
	}
}
