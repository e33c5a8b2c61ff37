package config

import (
	"io"
	"testing"
)

// fuzzEnv loads without flags, from a control directory that does not
// exist (the environment beats a control_dir in the fuzzed file).
var fuzzEnv = []string{"HOME=/home/u", "QSEND_CONTROL_DIR=/nonexistent/qsend-fuzz/control"}

func fuzzLoad(data []byte) (*Config, error) {
	opts := Options{UID: 1000, Hostname: "host.example"}
	return load(opts, newEnviron(fuzzEnv), "qsend.yaml", data)
}

func FuzzYAML(f *testing.F) {
	for _, s := range []string{
		"",
		"me: mx.example\nconcurrencyremote: 100\n",
		"log:\n  format: json\n  level: debug\nstore: {batch_delay: 5ms}\n",
		"smtpd:\n  listen:\n    - {address: \":25\", mode: smtp}\n    - address: \"[::1]:587\"\n      mode: submission\n",
		"rcpthosts: [a.example, .a.example]\ndns: {resolvers: [\"192.0.2.1:53\"]}\n",
		"me: &m a\nhelohost: *m\n",
		"x: [\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := fuzzLoad(data)
		if (c == nil) == (err == nil) {
			t.Fatalf("Config %v with error %v", c, err)
		}
		if c == nil {
			return
		}
		if err := c.Write(io.Discard, false); err != nil {
			t.Fatal(err)
		}
		// What Write shows must load to the same values.
		y := settingsYAML(c)
		again, err := fuzzLoad([]byte(y))
		if err != nil {
			t.Fatalf("settings of %q do not load: %v\n%s", data, err, y)
		}
		if d := again.Diff(c); len(d) > 0 {
			t.Fatalf("settings of %q load differently in %v\n%s", data, d, y)
		}
	})
}
