package config_test

import (
	"fmt"
	"log"

	"github.com/qsend/qsend/config"
)

func ExampleLoad() {
	c, err := config.Load(config.Options{
		UID:         1000,
		Hostname:    "mx.example",
		DefaultFile: "/nonexistent/qsend.yaml",
		Environ: []string{
			"HOME=/home/mail",
			"QSEND_CONTROL_DIR=/nonexistent/control",
			"QSEND_CONCURRENCYREMOTE=200",
			"QSEND_SMTPD_LISTEN=0.0.0.0:25=smtp,0.0.0.0:587=submission",
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	for _, s := range c.Settings() {
		switch s.Key {
		case "concurrencyremote", "helohost", "smtpd.listen", "state_dir":
			fmt.Printf("%s = %s   # %s\n", s.Key, s.Value, s.Origin)
		}
	}
	// Output:
	// concurrencyremote = 200   # environment QSEND_CONCURRENCYREMOTE
	// helohost = mx.example   # default (me)
	// smtpd.listen = [{address: '0.0.0.0:25', mode: smtp}, {address: '0.0.0.0:587', mode: submission}]   # environment QSEND_SMTPD_LISTEN
	// state_dir = /var/spool/qsend   # default
}
