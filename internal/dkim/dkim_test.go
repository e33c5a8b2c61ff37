package dkim

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/qsend/qsend/mx/dnstest"
)

// writeKey writes a new key of alg ("rsa", "rsa1024" or "ed25519") to
// dir/domain/selector with mode 0600 and returns its path.
func writeKey(t testing.TB, dir, domain, selector, alg string) string {
	t.Helper()
	var der []byte
	var err error
	switch alg {
	case "ed25519":
		_, k, _ := ed25519.GenerateKey(rand.Reader)
		der, err = x509.MarshalPKCS8PrivateKey(k)
	case "rsa1024":
		k, _ := rsa.GenerateKey(rand.Reader, 1024)
		der, err = x509.MarshalPKCS8PrivateKey(k)
	default:
		k, _ := rsa.GenerateKey(rand.Reader, 2048)
		der, err = x509.MarshalPKCS8PrivateKey(k)
	}
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, domain, selector)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLoad(t *testing.T) {
	tests := []struct {
		name    string
		prepare func(t *testing.T, dir string)
		specs   func(dir string) []Spec
		inUse   map[string]string // domain -> selectors in use, joined by ","
		wantErr string
	}{
		{name: "missing folder", prepare: func(t *testing.T, dir string) { os.Remove(dir) }, inUse: map[string]string{}},
		{name: "one key", prepare: func(t *testing.T, dir string) { writeKey(t, dir, "Example.COM", "s1", "rsa") },
			inUse: map[string]string{"example.com": "s1"}},
		{name: "rsa and ed25519", prepare: func(t *testing.T, dir string) {
			writeKey(t, dir, "example.com", "r1", "rsa")
			writeKey(t, dir, "example.com", "e1", "ed25519")
		}, inUse: map[string]string{"example.com": "e1,r1"}},
		{name: "two rsa without selector", prepare: func(t *testing.T, dir string) {
			writeKey(t, dir, "example.com", "old", "rsa")
			writeKey(t, dir, "example.com", "new", "rsa")
		}, wantErr: "no selector file"},
		{name: "selector file", prepare: func(t *testing.T, dir string) {
			writeKey(t, dir, "example.com", "old", "rsa")
			writeKey(t, dir, "example.com", "new", "rsa")
			os.WriteFile(filepath.Join(dir, "example.com", "selector"), []byte("new\n"), 0o644)
		}, inUse: map[string]string{"example.com": "new"}},
		{name: "selector names no key", prepare: func(t *testing.T, dir string) {
			writeKey(t, dir, "example.com", "old", "rsa")
			os.WriteFile(filepath.Join(dir, "example.com", "selector"), []byte("gone\n"), 0o644)
		}, wantErr: `selector:1: no key file "gone"`},
		{name: "readable by others", prepare: func(t *testing.T, dir string) {
			os.Chmod(writeKey(t, dir, "example.com", "s1", "rsa"), 0o644)
		}, wantErr: "example.com/s1: readable by others"},
		{name: "rsa too short", prepare: func(t *testing.T, dir string) { writeKey(t, dir, "example.com", "s1", "rsa1024") },
			wantErr: "example.com/s1: RSA key of 1024 bits"},
		{name: "not a key", prepare: func(t *testing.T, dir string) {
			os.MkdirAll(filepath.Join(dir, "example.com"), 0o755)
			os.WriteFile(filepath.Join(dir, "example.com", "s1"), []byte("hello\n"), 0o600)
		}, wantErr: "example.com/s1: no PEM block"},
		{name: "yaml overrides the folder", prepare: func(t *testing.T, dir string) {
			writeKey(t, dir, "example.com", "s1", "rsa")
			writeKey(t, dir, "other", "x", "ed25519")
		}, specs: func(dir string) []Spec {
			return []Spec{{Domain: "example.com", Selector: "y2026", File: filepath.Join(dir, "other", "x")}}
		}, inUse: map[string]string{"example.com": "y2026", "other": "x"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			tt.prepare(t, dir)
			var specs []Spec
			if tt.specs != nil {
				specs = tt.specs(dir)
			}
			ks, err := Load(dir, specs)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Load: %v, want an error with %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]string{}
			for d, keys := range ks.InUse {
				var sels []string
				for _, k := range keys {
					sels = append(sels, k.Selector)
				}
				sortStrings(sels)
				got[d] = strings.Join(sels, ",")
			}
			if len(got) != len(tt.inUse) {
				t.Fatalf("in use %v, want %v", got, tt.inUse)
			}
			for d, s := range tt.inUse {
				if got[d] != s {
					t.Errorf("in use for %s: %q, want %q", d, got[d], s)
				}
			}
		})
	}
}

func sortStrings(s []string) {
	for i := range s {
		for j := i + 1; j < len(s); j++ {
			if s[j] < s[i] {
				s[i], s[j] = s[j], s[i]
			}
		}
	}
}

// messages are the bodies the verifiers check, with LF line ends as the
// queue keeps them.
func messages() map[string]string {
	long := "To: " + strings.Repeat("someone.with.a.long.name@example.net, ", 30) + "last@example.net\n"
	big := strings.Repeat(strings.Repeat("0123456789abcdef", 4)+"\n", 10<<20/65)
	// opendkim refuses a message without Date: (RFC 5322 §3.6 requires
	// one; qmail-inject adds it).
	date := "Date: Thu, 03 Dec 2026 19:00:00 +0000\n"
	return map[string]string{
		"plain":             "From: Alice <alice@example.com>\nTo: bob@example.net\nSubject: hello\nDate: Thu, 03 Dec 2026 19:00:00 +0000\nMessage-ID: <1@example.com>\n\nHello Bob.\n",
		"8bit":              "From: =?utf-8?q?J=C3=BCrgen?= <j@example.com>\n" + date + "To: bob@example.net\nSubject: gr\xc3\xbc\xc3\x9fe\nMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\nGr\xc3\xbc\xc3\x9fe aus K\xc3\xb6ln   \n\n\n",
		"dots":              "From: alice@example.com\n" + date + "To: bob@example.net\nSubject: dots\n\n.\n..\n.leading dot\n. \nend\n",
		"folded":            "From: alice@example.com\n" + date + long + "Subject: a subject that is folded\n\tover several lines\n  with spaces\nReferences: <a@example.com>\n <b@example.com>\n <c@example.com>\n\nbody\n",
		"no final line end": "From: alice@example.com\n" + date + "To: bob@example.net\nSubject: no LF\n\nlast line without an end",
		"10 MB":             "From: alice@example.com\n" + date + "To: bob@example.net\nSubject: big\n\n" + big,
	}
}

// wire turns a stored message into what delivery sends: CRLF line ends.
func wire(b []byte) []byte {
	return bytes.ReplaceAll(b, []byte("\n"), []byte("\r\n"))
}

// signAll signs every message of messages() with the keys of dir and
// returns them as delivered.
func signAll(t *testing.T, ks *Keys) map[string][]byte {
	t.Helper()
	s := New(ks, Options{ScratchDir: t.TempDir()})
	out := map[string][]byte{}
	defer func() {
		// A verifier that passes everything would pass this one too.
		out["tampered"] = bytes.Replace(out["plain"], []byte("Hello Bob."), []byte("Hello Eve."), 1)
	}()
	for name, m := range messages() {
		var in io.Reader = strings.NewReader(m)
		if name == "10 MB" {
			in = io.MultiReader(in) // not seekable: the scratch-file path
		}
		sm, err := s.Sign(context.Background(), in, "")
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		b, err := io.ReadAll(sm)
		sm.Close()
		if err != nil {
			t.Fatal(err)
		}
		if sm.Domain != "example.com" {
			t.Fatalf("%s: signed for %q", name, sm.Domain)
		}
		if !bytes.HasSuffix(b, []byte(m)) {
			t.Fatalf("%s: the message changed", name)
		}
		out[name] = wire(b)
	}
	if s.Counters().Failures() != 0 {
		t.Fatalf("%d failures", s.Counters().Failures())
	}
	return out
}

// publish serves the records of ks's keys.
func publish(t *testing.T, ks *Keys) *dnstest.Server {
	dns := dnstest.Start(t)
	for _, keys := range ks.All {
		for _, k := range keys {
			var quoted []string
			for _, s := range Strings(k.Record()) {
				quoted = append(quoted, `"`+s+`"`)
			}
			dns.Add(k.RecordName() + ". 300 IN TXT " + strings.Join(quoted, " "))
		}
	}
	return dns
}

// TestVerifiers has dkimpy, and opendkim when it can be given the test's
// DNS server, verify messages signed with RSA, Ed25519 and both keys.
func TestVerifiers(t *testing.T) {
	if _, err := exec.LookPath("/usr/bin/python3"); err != nil {
		t.Skip("python3 missing (Debian python3-dkim)")
	}
	if err := exec.Command("/usr/bin/python3", "-c", "import dkim, dns.resolver").Run(); err != nil {
		t.Skip("python3-dkim is not installed")
	}
	for _, algs := range [][]string{{"rsa"}, {"ed25519"}, {"rsa", "ed25519"}} {
		t.Run(strings.Join(algs, "+"), func(t *testing.T) {
			dir := t.TempDir()
			for _, a := range algs {
				writeKey(t, dir, "example.com", "sel-"+a, a)
			}
			ks, err := Load(dir, nil)
			if err != nil {
				t.Fatal(err)
			}
			dns := publish(t, ks)
			host, port, _ := net.SplitHostPort(dns.Addr)
			for name, msg := range signAll(t, ks) {
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				cmd := exec.CommandContext(ctx, "/usr/bin/python3", "testdata/verify.py", host, port)
				cmd.Stdin = bytes.NewReader(msg)
				out, err := cmd.CombinedOutput()
				cancel()
				if name == "tampered" {
					if err == nil {
						t.Errorf("dkimpy passes a tampered message:\n%s", out)
					}
					continue
				}
				if err != nil {
					t.Errorf("dkimpy, %s: %v\n%s", name, err, out)
					continue
				}
				if got := strings.Count(string(out), "pass"); got != len(algs) {
					t.Errorf("dkimpy, %s: %d signatures pass, want %d:\n%s", name, got, len(algs), out)
				}
			}
		})
	}
}

// TestOpenDKIM has opendkim-testmsg (Debian opendkim-tools) verify the
// same messages. libopendkim asks the resolvers of /etc/resolv.conf on
// port 53, so the test forwards 127.0.77.1:53 to its DNS server and runs
// opendkim-testmsg in a private mount namespace whose /etc/resolv.conf
// names that address; the machine's own file is not touched.
func TestOpenDKIM(t *testing.T) {
	if _, err := exec.LookPath("opendkim-testmsg"); err != nil {
		t.Skip("opendkim-testmsg missing (Debian opendkim-tools)")
	}
	if err := exec.Command("unshare", "-m", "true").Run(); err != nil {
		t.Skipf("no private mount namespace (unshare -m): %v", err)
	}
	for _, alg := range []string{"rsa", "ed25519"} {
		t.Run(alg, func(t *testing.T) {
			dir := t.TempDir()
			writeKey(t, dir, "example.com", "sel-"+alg, alg)
			ks, err := Load(dir, nil)
			if err != nil {
				t.Fatal(err)
			}
			dns := publish(t, ks)
			fwd := forwardDNS(t, "127.0.77.1:53", dns.Addr)
			resolv := filepath.Join(t.TempDir(), "resolv.conf")
			os.WriteFile(resolv, []byte("nameserver "+fwd+"\noptions timeout:2 attempts:2\n"), 0o644)
			for name, msg := range signAll(t, ks) {
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				cmd := exec.CommandContext(ctx, "unshare", "-m", "sh", "-c",
					`mount --bind "$1" /etc/resolv.conf && exec opendkim-testmsg -t "$2"`, "sh", resolv, t.TempDir())
				cmd.Stdin = bytes.NewReader(msg)
				out, err := cmd.CombinedOutput()
				cancel()
				if name == "tampered" {
					if err == nil {
						t.Errorf("opendkim-testmsg passes a tampered message:\n%s", out)
					}
					continue
				}
				if err != nil || len(out) > 0 {
					t.Errorf("opendkim-testmsg, %s: %v\n%s", name, err, out)
				}
			}
		})
	}
}

// forwardDNS relays UDP queries from listen to the server at to until
// the test ends, and returns listen's IP. It skips the test when listen
// cannot be bound (port 53 needs privileges).
func forwardDNS(t *testing.T, listen, to string) string {
	pc, err := net.ListenPacket("udp", listen)
	if err != nil {
		t.Skipf("cannot listen on %s for opendkim's resolver: %v", listen, err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { pc.Close(); <-done })
	go func() {
		defer close(done)
		buf := make([]byte, 65535)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			c, err := net.Dial("udp", to)
			if err != nil {
				continue
			}
			c.SetDeadline(time.Now().Add(5 * time.Second))
			if _, err := c.Write(buf[:n]); err == nil {
				if m, err := c.Read(buf); err == nil {
					pc.WriteTo(buf[:m], from)
				}
			}
			c.Close()
		}
	}()
	host, _, _ := net.SplitHostPort(listen)
	return host
}
