package tcprules

import (
	"io"

	"github.com/qsend/qsend/smtpd/cdb"
)

// Compile writes entries as a rules cdb, as tcprules does: one record per
// entry, in order, so that of two entries with the same key the first
// wins.
func Compile(w io.Writer, entries []Entry) error {
	return cdb.Write(w, records(entries))
}

// CompileFile writes entries as a rules cdb at path atomically (a
// temporary file in the same directory, synced, renamed over path), as
// tcprules does with its rules.tmp argument.
func CompileFile(path string, entries []Entry) error {
	return cdb.WriteFile(path, records(entries), 0o644)
}

func records(entries []Entry) [][2][]byte {
	recs := make([][2][]byte, len(entries))
	for i, e := range entries {
		recs[i] = [2][]byte{[]byte(e.Rule.Key), e.Rule.encode()}
	}
	return recs
}
