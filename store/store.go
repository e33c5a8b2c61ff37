package store

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// Options tune Open.
type Options struct {
	// ReadOnly opens the file with a shared lock for listing; mutating
	// calls then fail.
	ReadOnly bool
	// LockTimeout is how long Open waits for another process's lock on the
	// file before failing with ErrLocked. Zero means one second.
	LockTimeout time.Duration
	// BatchDelay is the group-commit window: how long a commit waits for
	// other concurrent enqueues to join it. Zero means the default (1 ms).
	BatchDelay time.Duration
	// Logger receives recovery warnings; nil discards them.
	Logger *slog.Logger
}

const (
	defaultLockTimeout = time.Second
	// defaultBatchDelay: bbolt's own 10 ms default caps a busy queue at
	// about 4,400 enqueues/s on one disk; 1 ms gives about 25,000/s.
	defaultBatchDelay = time.Millisecond
	// defaultChunkSize is the body chunk size: big enough that a chunk
	// costs one transaction per quarter megabyte, small enough that a
	// 50 MB message never needs more than a few chunks in memory.
	defaultChunkSize = 256 << 10
)

// initialMmapSize reserves address space for the file so it can grow to
// 1 GiB without remapping (a remap waits for all read transactions). It
// is address space only, not memory; 32-bit systems get 64 MiB.
func initialMmapSize() int {
	if math.MaxInt > math.MaxUint32 {
		return 1 << 30
	}
	return 64 << 20
}

// Store is an open queue file. Its methods are safe for concurrent use.
type Store struct {
	db        *bolt.DB
	path      string
	log       *slog.Logger
	chunkSize int
	chunks    sync.Pool                 // *[]byte: body readers' chunk buffers, reused between messages
	meta      atomic.Pointer[metaState] // the meta pages as Open (or Repair) found them
}

// Open opens or creates the queue file at path (mode 0600). A file that is
// not a queue file, or a damaged one, is refused with an error naming it
// and wrapping ErrCorrupt; a file locked by another process for longer
// than LockTimeout gives ErrLocked. Bodies left half-written by a crash
// are removed, with a warning to the logger. A damaged meta page that
// bbolt can do without is not an error: QuickCheck reports it.
func Open(path string, opts Options) (*Store, error) {
	if opts.LockTimeout <= 0 {
		opts.LockTimeout = defaultLockTimeout
	}
	if opts.BatchDelay <= 0 {
		opts.BatchDelay = defaultBatchDelay
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	// bbolt would initialise an empty file as a new database; an empty
	// queue file is a damaged one (a crash cannot leave one: bbolt writes
	// its first pages with fdatasync before anything else happens).
	if fi, err := os.Stat(path); err == nil && fi.Mode().IsRegular() && fi.Size() == 0 {
		return nil, fmt.Errorf("store %s: file is empty (remove it to start a new queue): %w", path, ErrCorrupt)
	}
	// The meta pages are read before bbolt maps a truncated file, and
	// again once the lock is held, when no other process can be writing
	// them.
	if _, err := inspectMeta(path); err != nil {
		return nil, err
	}
	db, err := openBolt(path, opts)
	if err != nil {
		return nil, err
	}
	ms, err := inspectMeta(path)
	if err != nil {
		db.Close()
		return nil, err
	}
	s := &Store{db: db, path: path, log: log, chunkSize: defaultChunkSize}
	s.meta.Store(&ms)
	db.MaxBatchDelay = opts.BatchDelay
	if err := s.guard("open", s.prepare); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// openBolt opens the bbolt file and sorts its errors into ErrLocked,
// ErrCorrupt and the rest.
func openBolt(path string, opts Options) (db *bolt.DB, err error) {
	defer func() {
		if p := recover(); p != nil {
			db, err = nil, fmt.Errorf("store %s: %v: %w", path, p, ErrCorrupt)
		}
	}()
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	db, err = bolt.Open(path, 0o600, &bolt.Options{
		Timeout:         opts.LockTimeout,
		ReadOnly:        opts.ReadOnly,
		FreelistType:    bolt.FreelistMapType,
		InitialMmapSize: initialMmapSize(),
	})
	switch {
	case err == nil:
		return db, nil
	case errors.Is(err, berrors.ErrTimeout):
		return nil, fmt.Errorf("store %s: %w (waited %v for its lock)", path, ErrLocked, opts.LockTimeout)
	case isCorruptOpen(err):
		return nil, fmt.Errorf("store %s: not a valid queue file: %v: %w", path, err, ErrCorrupt)
	}
	return nil, fmt.Errorf("store %s: %w", path, err)
}

// guard runs fn, turning a panic or memory fault inside bbolt (which is
// how it reacts to a damaged page) into an ErrCorrupt error naming the file.
func (s *Store) guard(op string, fn func() error) error {
	err, panicked := recoverCorrupt(fn)
	if panicked {
		return fmt.Errorf("store %s: %s: %w", s.path, op, err)
	}
	return err
}

// view runs fn in a read transaction, turning a damaged page met while
// reading into an error (for the caller to wrap) instead of a crash of the
// daemon.
func (s *Store) view(fn func(tx *bolt.Tx) error) error {
	err, _ := recoverCorrupt(func() error { return s.db.View(fn) })
	return err
}

// recoverCorrupt runs fn with memory faults turned into panics, and
// panics into ErrCorrupt errors.
func recoverCorrupt(fn func() error) (err error, panicked bool) {
	defer func() {
		if p := recover(); p != nil {
			err, panicked = fmt.Errorf("damaged page (%v): %w", p, ErrCorrupt), true
		}
	}()
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	return fn(), false
}

// prepare checks the file against truncation, creates the buckets of a new
// file, verifies the format version, and removes partial bodies.
func (s *Store) prepare() error {
	fi, err := os.Stat(s.path)
	if err != nil {
		return fmt.Errorf("store %s: %w", s.path, err)
	}
	var need int64
	if err := s.db.View(func(tx *bolt.Tx) error { need = tx.Size(); return nil }); err != nil {
		return s.ioError("open", err)
	}
	if fi.Size() < need {
		return fmt.Errorf("store %s: file is truncated: %d bytes, its pages need %d: %w", s.path, fi.Size(), need, ErrCorrupt)
	}
	// Read first: reopening a queue then costs no write transaction.
	fresh, partials := false, false
	err = s.db.View(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketInfo) == nil {
			fresh = true
			return nil
		}
		if err := s.verify(tx); err != nil {
			return err
		}
		k, _ := tx.Bucket(bucketPartial).Cursor().First()
		partials = k != nil
		return nil
	})
	switch {
	case err != nil:
		return err
	case s.db.IsReadOnly() && fresh:
		return fmt.Errorf("store %s: not a queue file (opened read-only, so not initialised): %w", s.path, ErrCorrupt)
	case s.db.IsReadOnly():
		return nil
	case fresh:
		return s.db.Update(s.initialise)
	case partials:
		return s.removePartials()
	}
	return nil
}

// initialise creates the buckets and the version of a new file.
func (s *Store) initialise(tx *bolt.Tx) error {
	empty := true
	_ = tx.ForEach(func([]byte, *bolt.Bucket) error { empty = false; return nil })
	if !empty {
		return fmt.Errorf("store %s: a bbolt file but not a queue file (no %q bucket): %w", s.path, bucketInfo, ErrCorrupt)
	}
	for _, name := range [][]byte{bucketInfo, bucketMsg, bucketBody, bucketSched, bucketDedupe, bucketPartial} {
		if _, err := tx.CreateBucket(name); err != nil {
			return s.ioError("create bucket "+string(name), err)
		}
	}
	info := tx.Bucket(bucketInfo)
	if err := info.Put(keyFormat, []byte(formatVersion)); err != nil {
		return s.ioError("initialise", err)
	}
	if err := info.Put(keyStats, encodeStats(Stats{})); err != nil {
		return s.ioError("initialise", err)
	}
	return nil
}

// verify checks the format version and that every bucket exists.
func (s *Store) verify(tx *bolt.Tx) error {
	info := tx.Bucket(bucketInfo)
	if info == nil {
		return fmt.Errorf("store %s: not a queue file (no %q bucket): %w", s.path, bucketInfo, ErrCorrupt)
	}
	if v := info.Get(keyFormat); string(v) != formatVersion {
		return fmt.Errorf("store %s: format version %q, this qsend reads %q: %w", s.path, v, formatVersion, ErrVersion)
	}
	for _, name := range [][]byte{bucketMsg, bucketBody, bucketSched, bucketDedupe, bucketPartial} {
		if tx.Bucket(name) == nil {
			return fmt.Errorf("store %s: bucket %q is missing: %w", s.path, name, ErrCorrupt)
		}
	}
	if _, err := readStats(tx); err != nil {
		return fmt.Errorf("store %s: %w", s.path, err)
	}
	return nil
}

// Close closes the file. It waits for running transactions to end.
func (s *Store) Close() error {
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("store %s: close: %w", s.path, err)
	}
	return nil
}

// Path returns the file the store was opened from.
func (s *Store) Path() string { return s.path }
