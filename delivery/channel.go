package delivery

import (
	"context"
	"io"
	"strconv"

	"github.com/qsend/qsend/store"
)

// Channel is one of qmail-send's two delivery channels.
type Channel int

const (
	// Remote is delivery over SMTP to another host (qmail-remote).
	Remote Channel = iota
	// Local is delivery to a mailbox or program on this host (qmail-local).
	Local
	numChannels
)

// channels lists the channels in the order status lines and loops use.
var channels = [numChannels]Channel{Remote, Local}

// String returns "remote" or "local", as qmail-send's log names them.
func (c Channel) String() string {
	switch c {
	case Remote:
		return "remote"
	case Local:
		return "local"
	}
	return "channel(" + strconv.Itoa(int(c)) + ")"
}

// Job is one delivery attempt handed to a Transport: the due recipients of
// one message on one channel.
type Job struct {
	Msg   store.Message
	Rcpts []int // indexes into Msg.Recipients: due, not final, on this channel
	// Body streams the message body from the store; the caller closes it.
	Body func() (io.ReadCloser, error)
}

// Transport delivers one job and returns one store.Result per Job.Rcpts
// entry, in the same order, with State Delivered, Deferred or Failed and
// a qmail-remote-style text; the scheduler fills Index, At and Next. A
// Deferred result may be marked NotAttempted when the recipient was not
// tried (its destination is backed off or busy): it then costs no attempt,
// and a non-zero Next in it is kept as the time to try again. When
// ctx ends the transport stops and returns Deferred for every recipient it
// did not finish. A missing result counts as a deferral.
type Transport interface {
	Deliver(ctx context.Context, job Job) []store.Result
}
