package qmaillog

import (
	"log/slog"
)

// eventLine renders r as the qmail-send line of the event it records; ok
// is false when r is not an event (another message, or an attribute
// missing).
func eventLine(r slog.Record) (line string, ok bool) {
	if r.NumAttrs() == 0 {
		return "", false
	}
	switch r.Message {
	case msgNew, msgInfo, msgStarting, msgStatus, msgDelivery, msgBounce, msgEnd, msgTriple, msgDouble:
	default:
		return "", false
	}
	a := make(map[string]string, r.NumAttrs())
	r.Attrs(func(at slog.Attr) bool {
		a[at.Key] = valueString(at.Value.Resolve())
		return true
	})
	// get returns the attributes named by keys made safe for the log, or
	// ok false if one is missing.
	get := func(keys ...string) ([]string, bool) {
		vs := make([]string, len(keys))
		for i, k := range keys {
			v, found := a[k]
			if !found {
				return nil, false
			}
			vs[i] = Safe(v)
		}
		return vs, true
	}
	var v []string
	// Line shapes: qmail-log.5 (qmail-send.c, qsutil.c).
	switch r.Message {
	case msgNew:
		if v, ok = get(keyID); ok {
			line = "new msg " + v[0]
		}
	case msgInfo:
		if v, ok = get(keyID, keyBytes, keyFrom, keyQP, keyUID); ok {
			line = "info msg " + v[0] + ": bytes " + v[1] + " from <" + v[2] + "> qp " + v[3] + " uid " + v[4]
		}
	case msgStarting:
		if v, ok = get(keyDelivery, keyID, keyChannel, keyTo); ok {
			line = "starting delivery " + v[0] + ": msg " + v[1] + " to " + v[2] + " " + v[3]
		}
	case msgStatus:
		if v, ok = get(keyLocal, keyLocalMax, keyRemote, keyRemoteMax); ok {
			line = "status: local " + v[0] + "/" + v[1] + " remote " + v[2] + "/" + v[3]
		}
	case msgDelivery:
		if v, ok = get(keyDelivery, keyResult, keyText); ok {
			switch v[1] {
			case resultSuccess, resultDeferral, resultFailure:
				line = "delivery " + v[0] + ": " + v[1] + ": " + v[2]
			default:
				ok = false
			}
		}
	case msgBounce:
		if v, ok = get(keyID, keyQP); ok {
			line = "bounce msg " + v[0] + " qp " + v[1]
		}
	case msgEnd:
		if v, ok = get(keyID); ok {
			line = "end msg " + v[0]
		}
	case msgTriple:
		if v, ok = get(keyID); ok {
			line = "triple bounce: discarding bounce/" + v[0]
		}
	case msgDouble:
		if v, ok = get(keyID); ok {
			line = "double bounce: discarding bounce/" + v[0]
		}
	}
	return line, ok
}
