package ciphers

import "testing"

// BenchmarkParse measures a typical cipher string, as smtpd parses
// $TLSCIPHERS for each connection.
func BenchmarkParse(b *testing.B) {
	for b.Loop() {
		if _, err := Parse("EECDH+AESGCM:EDH+AESGCM:AES256+EECDH:!aNULL:!MD5:@STRENGTH"); err != nil {
			b.Fatal(err)
		}
	}
}
