package store

import (
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// bucketCache holds small caches that must survive a restart, one nested
// bucket per namespace (MTA-STS policies: "mta-sts"). It is created by the
// first CachePut, so files made before it need no conversion.
var bucketCache = []byte("cache")

// CacheGet returns the value stored under key in namespace ns.
func (s *Store) CacheGet(ns, key string) ([]byte, bool, error) {
	var out []byte
	err := s.view(func(tx *bolt.Tx) error {
		b := cacheBucket(tx, ns)
		if b == nil {
			return nil
		}
		if v := b.Get([]byte(key)); v != nil {
			out = append([]byte{}, v...)
		}
		return nil
	})
	return out, out != nil, err
}

// CachePut stores val under key in namespace ns, durably.
func (s *Store) CachePut(ns, key string, val []byte) error {
	err := s.db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucketCache)
		if err != nil {
			return err
		}
		if b, err = b.CreateBucketIfNotExists([]byte(ns)); err != nil {
			return err
		}
		return b.Put([]byte(key), val)
	})
	if err != nil {
		return s.ioError(fmt.Sprintf("cache %s %s", ns, key), err)
	}
	return nil
}

// CacheKeys returns the keys of namespace ns, in order.
func (s *Store) CacheKeys(ns string) ([]string, error) {
	var out []string
	err := s.view(func(tx *bolt.Tx) error {
		b := cacheBucket(tx, ns)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, _ []byte) error { out = append(out, string(k)); return nil })
	})
	return out, err
}

// cacheBucket is namespace ns's bucket, nil when nothing was stored in it.
func cacheBucket(tx *bolt.Tx, ns string) *bolt.Bucket {
	if b := tx.Bucket(bucketCache); b != nil {
		return b.Bucket([]byte(ns))
	}
	return nil
}
