package cdb

// hashStart is the cdb hash's initial value (cdb.txt).
const hashStart = 5381

// headerSize is the 256 (position, length) pairs at the start of a file.
const headerSize = 256 * 8

// hash is cdb's hash function (cdb.txt): h = ((h << 5) + h) ^ c.
func hash(key []byte) uint32 {
	h := uint32(hashStart)
	for _, c := range key {
		h = ((h << 5) + h) ^ uint32(c)
	}
	return h
}
