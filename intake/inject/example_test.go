package inject_test

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/qsend/qsend/intake/inject"
)

func ExampleInject() {
	opts, err := inject.ParseArgs([]string{"-n"}) // print, as qmail-inject -n
	if err != nil {
		panic(err)
	}
	m, err := inject.Inject(inject.Input{
		Options:  opts,
		Env:      map[string]string{"USER": "alice", "NAME": "Alice Example"},
		Controls: inject.Controls{DefaultDomain: "example.com", DefaultHost: "example.com", PlusDomain: "example.com", IDHost: "mail.example.com"},
		Now:      time.Date(1995, 9, 26, 4, 46, 53, 0, time.UTC),
		PID:      12345,
	}, strings.NewReader("To: bob, carol@mail\nBcc: dave\nSubject: lunch\n\nNoon?\n"))
	if err != nil {
		panic(err)
	}
	io.Copy(os.Stdout, m.Reader())
	fmt.Println(m.Envelope.Recipients)
	// Output:
	// Return-Path: <alice@example.com>
	// Date: 26 Sep 1995 04:46:53 -0000
	// Message-ID: <19950926044653.12345.qmail@mail.example.com>
	// From: "Alice Example" <alice@example.com>
	// To: bob@example.com, carol@mail.example.com
	// Subject: lunch
	//
	// Noon?
	// [carol@mail.example.com bob@example.com dave@example.com]
}
