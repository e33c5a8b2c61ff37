// Package cdb reads and writes D. J. Bernstein's constant database format
// (https://cr.yp.to/cdb/cdb.txt), the format of tcprules' tcp.smtp.cdb and
// of qmail-newmrh's morercpthosts.cdb.
//
// A cdb file is a 2048-byte header of 256 (position, length) pairs, one per
// hash table, then the records (key length, data length, key, data), then
// the 256 hash tables of (hash, record position) slots. All numbers are
// 32-bit little-endian, so a file is at most 4 GiB. The hash is
// h = ((h << 5) + h) ^ c starting from 5381; the low 8 bits pick the table
// and the rest, modulo the table's length, the first slot to probe.
//
// The reader keeps the file open and reads with ReadAt (pread): the header
// is read once at Open, and each Get reads only the slots and records it
// probes, so a large morercpthosts.cdb is never read whole and costs no
// memory. A file replaced by rename (as tcprules and qmail-newmrh do) stays
// readable through the open descriptor until Close; callers that want the
// new contents open the path again.
package cdb
