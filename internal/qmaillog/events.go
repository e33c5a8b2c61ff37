package qmaillog

import (
	"context"
	"log/slog"

	"github.com/qsend/qsend/store"
)

// The messages of the events qmail-send logs. The handler recognises a
// record as an event by its message and the attributes the Log helpers
// give it; text and JSON handlers show them as ordinary key=value records.
const (
	msgNew      = "new msg"
	msgInfo     = "info msg"
	msgStarting = "starting delivery"
	msgStatus   = "status"
	msgDelivery = "delivery"
	msgBounce   = "bounce msg"
	msgEnd      = "end msg"
	msgTriple   = "triple bounce"
	msgDouble   = "double bounce"
)

// Attribute keys of the event records.
const (
	keyID          = "id"
	keyBytes       = "bytes"
	keyFrom        = "from"
	keyQP          = "qp"
	keyUID         = "uid"
	keyDelivery    = "delivery"
	keyChannel     = "channel"
	keyTo          = "to"
	keyResult      = "result"
	keyText        = "text"
	keyLocal       = "local"
	keyLocalMax    = "local_max"
	keyRemote      = "remote"
	keyRemoteMax   = "remote_max"
	resultSuccess  = "success"
	resultDeferral = "deferral"
	resultFailure  = "failure"
)

// log emits one event record at Info, the level of all of qmail-send's
// routine lines.
func log(l *slog.Logger, msg string, attrs ...slog.Attr) {
	l.LogAttrs(context.Background(), slog.LevelInfo, msg, attrs...)
}

func idAttr(id store.ID) slog.Attr { return slog.Uint64(keyID, uint64(id)) }

// LogNewMsg logs "new msg <id>": a message entered the queue.
func LogNewMsg(l *slog.Logger, id store.ID) { log(l, msgNew, idAttr(id)) }

// LogInfoMsg logs "info msg <id>: bytes <size> from <<sender>> qp <pid>
// uid <uid>" for a message just queued.
func LogInfoMsg(l *slog.Logger, m store.Message) {
	log(l, msgInfo, idAttr(m.ID), slog.Int64(keyBytes, m.Size), slog.String(keyFrom, m.Sender),
		slog.Int(keyQP, m.Intake.PID), slog.Int(keyUID, m.Intake.UID))
}

// LogStarting logs "starting delivery <n>: msg <id> to <channel> <rcpt>";
// channel is "local" or "remote".
func LogStarting(l *slog.Logger, n int, id store.ID, channel, rcpt string) {
	log(l, msgStarting, slog.Int(keyDelivery, n), idAttr(id), slog.String(keyChannel, channel), slog.String(keyTo, rcpt))
}

// LogStatus logs "status: local <l>/<cl> remote <r>/<cr>": deliveries in
// progress and the concurrency limit of each channel.
func LogStatus(l *slog.Logger, local, localMax, remote, remoteMax int) {
	log(l, msgStatus, slog.Int(keyLocal, local), slog.Int(keyLocalMax, localMax),
		slog.Int(keyRemote, remote), slog.Int(keyRemoteMax, remoteMax))
}

// LogDelivery logs the outcome of delivery n: "delivery <n>: success:
// <text>" for Delivered, "failure:" for Failed and "deferral:" for any
// other state.
func LogDelivery(l *slog.Logger, n int, state store.RcptState, text string) {
	result := resultDeferral
	switch state {
	case store.Delivered:
		result = resultSuccess
	case store.Failed:
		result = resultFailure
	}
	log(l, msgDelivery, slog.Int(keyDelivery, n), slog.String(keyResult, result), slog.String(keyText, text))
}

// LogBounce logs "bounce msg <id> qp <pid>": a bounce for message id was
// queued by process qp. As in qmail-send's injectbounce, id is the message
// that bounced; the bounce itself gets its own "new msg" line, whose
// "info msg" line carries the same qp.
func LogBounce(l *slog.Logger, id store.ID, qp int) {
	log(l, msgBounce, idAttr(id), slog.Int(keyQP, qp))
}

// LogEnd logs "end msg <id>": the message left the queue.
func LogEnd(l *slog.Logger, id store.ID) { log(l, msgEnd, idAttr(id)) }

// LogTripleBounce logs "triple bounce: discarding bounce/<id>": a double
// bounce failed and is dropped (qmail-send.c injectbounce()).
func LogTripleBounce(l *slog.Logger, id store.ID) { log(l, msgTriple, idAttr(id)) }

// LogDoubleBounceDiscard logs "double bounce: discarding bounce/<id>":
// a bounce failed and doublebounceto is empty, so qmail-send drops the
// double bounce (qmail-send.c injectbounce).
func LogDoubleBounceDiscard(l *slog.Logger, id store.ID) { log(l, msgDouble, idAttr(id)) }
