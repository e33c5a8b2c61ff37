package store

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"time"
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

// Stats are the queue's counters, kept in the file so they cost O(1).
type Stats struct {
	Messages   int   `json:"messages"`
	Held       int   `json:"held"`
	Recipients int   `json:"recipients"` // not yet final
	Bytes      int64 `json:"bytes"`      // body bytes of all messages
}

// Store is an open queue file. Its methods are safe for concurrent use.
type Store struct{}

var errTODO = errors.New("store: not implemented")

// Open opens or creates the queue file at path.
func Open(path string, opts Options) (*Store, error) { return nil, errTODO }

// Close closes the file.
func (s *Store) Close() error { return errTODO }

// Enqueue stores a message durably and returns its id.
func (s *Store) Enqueue(ctx context.Context, m NewMessage, body io.Reader) (ID, error) {
	return 0, errTODO
}

// Get returns a message's metadata.
func (s *Store) Get(id ID) (Message, error) { return Message{}, errTODO }

// Body streams a message's body.
func (s *Store) Body(id ID) (io.ReadCloser, error) { return nil, errTODO }

// Walk calls fn for every message in id order.
func (s *Store) Walk(fn func(Message) error) error { return errTODO }

// Stats returns the queue counters.
func (s *Store) Stats() (Stats, error) { return Stats{}, errTODO }

// ScanSchedule calls fn in schedule order.
func (s *Store) ScanSchedule(fn func(at time.Time, id ID) bool) error { return errTODO }

// Record applies attempt results durably.
func (s *Store) Record(id ID, results []Result) (Message, error) { return Message{}, errTODO }

// Reschedule makes every non-final recipient due at at.
func (s *Store) Reschedule(id ID, at time.Time) error { return errTODO }

// SetHeld holds or releases a message.
func (s *Store) SetHeld(id ID, held bool) error { return errTODO }

// Delete removes a message.
func (s *Store) Delete(id ID) error { return errTODO }

// ForgetKey removes a deduplication key.
func (s *Store) ForgetKey(key string) error { return errTODO }

// Check verifies the file's structure and the store's invariants.
func (s *Store) Check() error { return errTODO }
