package setup

import (
	"crypto/tls"
	"io"
	"net"
	"path/filepath"
	"testing"

	"github.com/qsend/qsend/tls/certfile/certtest"
)

// recordingCache is a client session cache that counts what it is given.
type recordingCache struct {
	tls.ClientSessionCache
	puts int
}

func (c *recordingCache) Put(key string, cs *tls.ClientSessionState) {
	c.puts++
	c.ClientSessionCache.Put(key, cs)
}

// TestNoSessionTickets: the server's TLS sends no session ticket, which
// Outlook and Exchange clients answer by dropping the connection
// (golang/go#70232).
func TestNoSessionTickets(t *testing.T) {
	cfg := site(t, map[string]string{"me": "mx.example.org\n", "rcpthosts": "example.org\n"}, "")
	ca := certtest.NewCA(t, "Test CA")
	ca.Issue(t, certtest.Options{CommonName: "mx.example.org", DNSNames: []string{"mx.example.org"}}).WriteFile(t, filepath.Join(cfg.ControlDir, "servercert.pem"))
	b, err := SMTPOptions(cfg, nullQueue{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	for _, version := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		srvCfg := b.Options.TLS()
		if srvCfg == nil {
			t.Fatal("TLS not offered with servercert.pem")
		}
		cache := &recordingCache{ClientSessionCache: tls.NewLRUClientSessionCache(4)}
		cliCfg := &tls.Config{RootCAs: ca.Pool(), ServerName: "mx.example.org", ClientSessionCache: cache,
			MinVersion: version, MaxVersion: version}
		a, z := net.Pipe()
		done := make(chan error, 1)
		go func() {
			defer a.Close()
			sc := tls.Server(a, srvCfg)
			if err := sc.Handshake(); err != nil {
				done <- err
				return
			}
			_, err := io.WriteString(sc, "220 ready\r\n")
			done <- err
		}()
		cc := tls.Client(z, cliCfg)
		// Reading the greeting reads what the server sent after the
		// handshake, where TLS 1.3 carries its tickets.
		buf := make([]byte, 11)
		if _, err := io.ReadFull(cc, buf); err != nil {
			t.Fatalf("%s: %v", tls.VersionName(version), err)
		}
		if err := <-done; err != nil {
			t.Fatalf("%s: server: %v", tls.VersionName(version), err)
		}
		cc.Close()
		if cache.puts != 0 {
			t.Errorf("%s: the client was given %d session tickets", tls.VersionName(version), cache.puts)
		}
	}
}
