package daemon

import (
	"context"
	"errors"

	"github.com/qsend/qsend/internal/ctl"
	"github.com/qsend/qsend/store"
)

// repairHint tells the administrator what clears a damaged record.
const repairHint = "qsend queue delete ID removes it; qsend queue check --repair (daemon stopped) moves it aside"

// checkMeta reports, at start, the meta pages Open found damaged (bbolt
// falls back to the other one without a word), before anything else runs.
func (d *Daemon) checkMeta() {
	for _, p := range d.store.MetaProblems() {
		d.damaged.Add(1)
		d.warnDamage(p)
	}
}

// checkRecords decodes every message record once after start (metadata
// only, no bodies) and warns about each that does not decode, naming it,
// so damage is seen at start and not when a listing or a delivery meets
// it. It runs beside delivery, since on a large queue it takes seconds,
// and stops when ctx ends.
func (d *Daemon) checkRecords(ctx context.Context) {
	err := d.walkQueue(func(store.Message) error { return ctx.Err() })
	var de *store.DamageError
	switch {
	case errors.As(err, &de):
		d.damaged.Add(int64(len(de.Damaged)))
	case err != nil && ctx.Err() == nil:
		d.log.Warn("queue file check failed", "err", err)
	}
}

// warnDamage logs one problem of the queue file.
func (d *Daemon) warnDamage(p store.Problem) {
	if p.ID != 0 {
		d.log.Warn("queue file damaged", "id", p.ID, "problem", p.Text, "fix", repairHint)
		return
	}
	d.log.Warn("queue file damaged", "problem", p.Text, "fix", "qsend queue check --repair (daemon stopped)")
}

// walkQueue is the store's walk for `queue list`: a record that does not
// decode is skipped, logged, and named in the error returned after the
// rest is listed.
func (d *Daemon) walkQueue(fn func(store.Message) error) error {
	err := d.store.WalkAll(fn)
	var de *store.DamageError
	if errors.As(err, &de) {
		for _, p := range de.Damaged {
			d.warnDamage(p)
		}
	}
	return err
}

// checkRequest answers `queue check` while the daemon holds the file: the
// store's full check, in one read transaction, with the meta pages as
// they were found at start. Repairs need the daemon stopped.
func (d *Daemon) checkRequest() ctl.Response {
	problems, err := d.store.Inspect()
	if err != nil {
		return ctl.Response{Error: err.Error()}
	}
	return ctl.Response{OK: true, Problems: ctl.ProblemsOf(problems)}
}
