// Package man holds the generated man pages, qsend(8) and qsend.yaml(5),
// for qsend install to put in place (scripts/man makes them).
package man

import "embed"

// Pages are the files qsend.8 and qsend.yaml.5.
//
//go:embed qsend.8 qsend.yaml.5
var Pages embed.FS
