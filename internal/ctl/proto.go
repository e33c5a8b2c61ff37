package ctl

import (
	"github.com/qsend/qsend/store"
)

// Operations a Request can name.
const (
	OpSubmit  = "submit" // anyone who can connect
	OpImport  = "import" // anyone: import the maildrop now
	OpList    = "list"   // the rest need root, the daemon's user or admin_group
	OpStat    = "stat"
	OpShow    = "show"
	OpFlush   = "flush"
	OpHold    = "hold"
	OpRelease = "release"
	OpDelete  = "delete"
	OpBounce  = "bounce"
	OpCheck   = "check" // the store's full check, read-only
)

// Request opens an exchange.
type Request struct {
	Op  string     `json:"op"`
	IDs []store.ID `json:"ids,omitempty"`
	PID int        `json:"pid,omitempty"` // submit: the submitting process, for the Received line
}

// Stat is the answer to OpStat: the two numbers qmail-qstat prints.
type Stat struct {
	Messages int `json:"messages"`
	// Unprocessed counts messages in the maildrop not yet imported, the
	// counterpart of qmail's queue/todo.
	Unprocessed int   `json:"unprocessed"`
	Store       Stats `json:"store"`
}

// Shown is the answer to OpShow.
type Shown struct {
	Message Message `json:"message"`
	Header  string  `json:"header"` // the message's header section
}

// IDError is the failure of an operation on one of several ids.
type IDError struct {
	ID    store.ID `json:"id"`
	Error string   `json:"error"`
}

// Response ends an exchange.
type Response struct {
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
	// Code is the qmail-queue exit code describing a failed submission.
	Code int `json:"code,omitempty"`
	// Denied is set when the peer lacks the right to the operation.
	Denied bool `json:"denied,omitempty"`

	ID     store.ID  `json:"id,omitempty"`     // submit
	Stat   *Stat     `json:"stat,omitempty"`   // stat
	Shown  *Shown    `json:"shown,omitempty"`  // show
	Failed []IDError `json:"failed,omitempty"` // flush/hold/release/delete/bounce
	// Problems are what a check found; none when the file is sound.
	Problems []Problem `json:"problems,omitempty"` // check
}
