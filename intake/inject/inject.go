// Package inject is qmail-inject's header processing as a library: it
// reads a message and qmail-inject's options, environment and control
// values, and returns the envelope and the rewritten message that
// qmail-inject would queue or print (qmail-inject.c). It does no
// input or output of its own besides reading the message and the
// QMAILMFTFILE file, so every rule can be tested on its own; queueing is
// the caller's job (package intake/qq).
package inject

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/qsend/qsend/internal/envelope"
	"github.com/qsend/qsend/internal/trace"
)

// lineLen is the width qmail-inject folds rewritten address fields at
// (qmail-inject.c LINELEN).
const lineLen = 80

// Controls are the control values qmail-inject reads: defaultdomain,
// defaulthost, plusdomain and idhost, each defaulting to me
// (qmail-inject.8, CONTROL FILES). The environment overrides them
// (qmail-inject.8, ENVIRONMENT VARIABLES).
type Controls struct {
	DefaultDomain string
	DefaultHost   string
	PlusDomain    string
	IDHost        string
}

// Input is everything besides the message that decides what qmail-inject
// makes of it.
type Input struct {
	Options  Options
	Env      map[string]string // the environment; a name that is present counts even when empty
	Controls Controls
	Now      time.Time // the start time: Date, Message-ID and per-message VERP
	PID      int       // the process id in Message-ID and per-message VERP
}

// Message is a message as qmail-inject queues or prints it.
type Message struct {
	Envelope envelope.Envelope
	// Header is the header qmail-inject writes: with Options.Print it
	// starts with "Return-Path: <sender>".
	Header []byte
	// Body is the rest of the message: the empty line that ends the
	// header and the body, read from the input as it is read from here,
	// ending with a newline.
	Body io.Reader
}

// Reader returns the whole message: the header, then the body.
func (m *Message) Reader() io.Reader {
	return io.MultiReader(bytes.NewReader(m.Header), m.Body)
}

// state is one run of qmail-inject.
type state struct {
	in Input
	rw rewriter

	// QMAILINJECT letters (qmail-inject.8).
	nameComment, deleteSender, deleteFrom, deleteMessID, verpRecip, verpMess bool

	mailHost, mailRHost *string // QMAILHOST/MAILHOST, QMAILSHOST
	mailUser, mailRUser string
	userType            tokType // mailUser as an atom, or quoted when it must be

	mft map[string]bool // QMAILMFTFILE's addresses, lower case; nil without one

	sender    string
	senderSet bool

	seen                 [numFields]bool
	saved                []byte   // the header fields kept, in order
	args, hr, hrr, tocc  []string // recipients: arguments, header, Resent- header, To and Cc
	fromHeaderRecipients bool
}

// Inject reads the header of the message r and applies qmail-inject's rules
// (qmail-inject.8, qmail-inject.c). The returned Message reads the rest of r
// through its Body. Errors are *Error values with qmail-inject's text and
// exit status: 100 for an address it cannot parse, an invalid header field
// name, or (when queueing) a message without recipients; 111 for a read
// error.
func Inject(in Input, r io.Reader) (*Message, error) {
	s := &state{in: in}
	if err := s.setup(); err != nil {
		return nil, err
	}
	br := bufio.NewReader(r)
	prefix, err := s.readHeader(br)
	if err != nil {
		return nil, err
	}
	header, err := s.finishHeader()
	if err != nil {
		return nil, err
	}
	env := envelope.Envelope{Sender: s.sender, Recipients: s.recipients()}
	if !in.Options.Print && len(env.Recipients) == 0 {
		// qmail-inject hands such a message to qmail-queue, and qmail-send
		// drops it; qsend refuses it before anything is queued (docs/qmail.md,
		// deliberate differences).
		return nil, fatal(ExitPermanent, "no recipients")
	}
	return &Message{
		Envelope: env,
		Header:   header,
		Body:     io.MultiReader(bytes.NewReader(prefix), &bodyReader{r: br}),
	}, nil
}

// env returns an environment variable and whether it is set.
func (s *state) env(name string) (string, bool) {
	v, ok := s.in.Env[name]
	return v, ok
}

// firstEnv returns the first of names that is set.
func (s *state) firstEnv(names ...string) (string, bool) {
	for _, n := range names {
		if v, ok := s.env(n); ok {
			return v, true
		}
	}
	return "", false
}

// setup reads the environment, the control values and the options
// (qmail-inject.8).
func (s *state) setup() error {
	flags, _ := s.env("QMAILINJECT")
	for _, c := range flags {
		switch c {
		case 'c':
			s.nameComment = true
		case 's':
			s.deleteSender = true
		case 'f':
			s.deleteFrom = true
		case 'i':
			s.deleteMessID = true
		case 'r':
			s.verpRecip = true
		case 'm':
			s.verpMess = true
		}
	}
	if h, ok := s.firstEnv("QMAILHOST", "MAILHOST"); ok {
		s.mailHost = &h
	}
	s.mailRHost = s.mailHost
	if h, ok := s.env("QMAILSHOST"); ok {
		s.mailRHost = &h
	}
	s.mailUser = "anonymous"
	if u, ok := s.firstEnv("QMAILUSER", "MAILUSER", "USER", "LOGNAME"); ok {
		s.mailUser = u
	}
	s.userType = tAtom
	if envelope.NeedQuote(s.mailUser) {
		s.userType = tQuote
	}
	s.mailRUser = s.mailUser
	if u, ok := s.env("QMAILSUSER"); ok {
		s.mailRUser = u
	}
	if err := s.readMFT(); err != nil {
		return err
	}

	c := s.in.Controls
	var err error
	control := func(value *string, envName, prefix string) []token {
		if v, ok := s.env(envName); ok {
			*value = v
		}
		line := prefix + *value
		ts, ok := tokenize(line)
		if !ok && err == nil {
			err = cantParse([]byte(line))
		}
		return ts
	}
	s.rw.defaultDomain = control(&c.DefaultDomain, "QMAILDEFAULTDOMAIN", ".")
	s.rw.defaultHost = control(&c.DefaultHost, "QMAILDEFAULTHOST", "@")
	s.rw.plusDomain = control(&c.PlusDomain, "QMAILPLUSDOMAIN", ".")
	if v, ok := s.env("QMAILIDHOST"); ok {
		c.IDHost = v
	}
	s.in.Controls = c
	if err != nil {
		return err
	}

	o := s.in.Options
	if o.SenderSet {
		quoted := envelope.QuoteAddr(o.Sender)
		ts, ok := tokenize(quoted)
		if !ok {
			return cantParse([]byte(quoted))
		}
		s.sender = unquote(reversed(s.rw.rewrite(reversed(ts))))
		s.senderSet = true
	}
	strategy := o.Recipients
	if strategy == RecipDefault {
		strategy = RecipHeader
		if len(o.Args) > 0 {
			strategy = RecipArgs
		}
	}
	if strategy != RecipHeader {
		for _, a := range o.Args {
			ts, ok := tokenize(envelope.QuoteAddr(a))
			if !ok {
				return fatal(ExitPermanent, "unable to parse address: %s", a)
			}
			s.args = append(s.args, unquote(reversed(s.rw.rewrite(reversed(ts)))))
		}
	}
	s.fromHeaderRecipients = strategy != RecipArgs
	return nil
}

// readMFT reads QMAILMFTFILE, a control file of mailing-list addresses
// (qmail-inject.8; control.c control_readfile() list syntax). A missing file means none.
func (s *state) readMFT() error {
	name, ok := s.env("QMAILMFTFILE")
	if !ok {
		return nil
	}
	b, err := os.ReadFile(name)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return &Error{Code: ExitTemporary, Msg: "qmail-inject: fatal: read error: " + err.Error(), Err: err}
	}
	s.mft = map[string]bool{}
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimRight(line, " \t\r")
		if line != "" && line[0] != '#' {
			s.mft[strings.ToLower(line)] = true
		}
	}
	return nil
}

// readHeader reads header fields from br until the empty line, a line that
// is not a field, or the end (qmail's headerbody), and returns what the
// body starts with: the empty line, or an empty line added before the
// first line that is not a field.
func (s *state) readHeader(br *bufio.Reader) ([]byte, error) {
	more := true
	// next returns the next line with its newline, one added to a last
	// line that lacks it, or nil at the end.
	next := func() ([]byte, error) {
		if !more {
			return nil, nil
		}
		line, err := br.ReadBytes('\n')
		if err != nil {
			if !errors.Is(err, io.EOF) {
				return nil, &Error{Code: ExitTemporary, Msg: "qmail-inject: fatal: read error: " + err.Error(), Err: err}
			}
			more = false
			if len(line) == 0 {
				return nil, nil
			}
			line = append(line, '\n')
		}
		return line, nil
	}
	var field []byte
	for {
		line, err := next()
		if err != nil {
			return nil, err
		}
		if line == nil {
			if field != nil {
				if err := s.field(field); err != nil {
					return nil, err
				}
			}
			return nil, nil // no body
		}
		if field != nil {
			if line[0] == ' ' || line[0] == '\t' {
				field = append(field, line...)
				continue
			}
			if err := s.field(field); err != nil {
				return nil, err
			}
		}
		switch {
		case len(line) == 1:
			return line, nil
		case bytes.HasPrefix(line, []byte("From ")):
			// An mbox separator becomes a field (qmail's headerbody).
			field = append([]byte("MBOX-Line: "), line...)
		case validField(line):
			field = line
		case brokenField(line):
			return nil, fatal(ExitPermanent, "invalid header field: %s", trimNL(line))
		default:
			return append([]byte("\n"), line...), nil
		}
	}
}

// field processes one header field, continuation lines included (qmail's
// doheaderfield).
func (s *state) field(h []byte) error {
	f := knownField(h)
	switch {
	case s.deleteFrom && f == fFrom, s.deleteMessID && f == fMessageID, s.deleteSender && f == fReturnPath:
		return nil
	case f != fUnknown:
		s.seen[f] = true
	case !validField(h):
		return fatal(ExitPermanent, "invalid header field: %s", trimNL(h))
	}
	var rw func([]token) []token
	switch f {
	case fTo, fCc:
		rw = func(a []token) []token {
			a = s.rw.rewrite(a)
			addr := unquote(reversed(a))
			s.hr = append(s.hr, addr)
			s.tocc = append(s.tocc, addr)
			return a
		}
	case fBcc, fApparentlyTo:
		rw = func(a []token) []token {
			a = s.rw.rewrite(a)
			s.hr = append(s.hr, unquote(reversed(a)))
			return a
		}
	case fResentTo, fResentCc, fResentBcc:
		rw = func(a []token) []token {
			a = s.rw.rewrite(a)
			s.hrr = append(s.hrr, unquote(reversed(a)))
			return a
		}
	case fReturnPath:
		rw = s.returnPath
	case fSender, fFrom, fReplyTo, fReturnReceiptTo, fErrorsTo, fResentSender, fResentFrom, fResentReplyTo:
		rw = s.rw.rewrite
	}
	if rw != nil {
		var err error
		if h, err = rewriteField(h, rw); err != nil {
			return err
		}
	}
	switch f {
	case fBcc, fResentBcc, fReturnPath, fContentLength:
		return nil
	}
	s.saved = append(s.saved, h...)
	return nil
}

// rewriteField tokenizes the field h, applies rw to each of its addresses
// and prints it again.
func rewriteField(h []byte, rw func([]token) []token) ([]byte, error) {
	ts, ok := tokenize(string(h))
	if !ok {
		return nil, cantParse(h)
	}
	out, ok := addrList(ts, rw)
	if !ok {
		return nil, cantParse(h)
	}
	return unparse(out, lineLen), nil
}

// returnPath rewrites an address of Return-Path; the first one sets the
// envelope sender unless -f did.
func (s *state) returnPath(a []token) []token {
	a = s.rw.rewrite(a)
	if !s.senderSet {
		s.sender = unquote(reversed(a))
		if s.verpRecip {
			s.sender += "-@[]" // qmail-send's per-recipient VERP marker
		}
		s.senderSet = true
	}
	return a
}

// resent reports whether the message is being resent: it has any Resent-
// field qmail-inject knows.
func (s *state) resent() bool {
	for _, f := range []field{fResentSender, fResentFrom, fResentReplyTo, fResentTo, fResentCc, fResentBcc, fResentDate, fResentMessageID} {
		if s.seen[f] {
			return true
		}
	}
	return false
}

// finishHeader returns the header: Return-Path when printing, the fields
// qmail-inject adds, then the message's own (qmail's finishheader).
func (s *state) finishHeader() ([]byte, error) {
	if !s.senderSet {
		if err := s.defaultReturnPath(); err != nil {
			return nil, err
		}
	}
	var b bytes.Buffer
	if s.in.Options.Print {
		b.WriteString("Return-Path: <" + envelope.QuoteAddr(s.sender) + ">\n")
	}
	now := s.in.Now.UTC()
	date := "Date: " + trace.Date(now) + "\n"
	msgID := fmt.Sprintf("Message-ID: <%d%02d%02d%02d%02d%02d.%d.qmail@%s>\n",
		now.Year(), int(now.Month()), now.Day(), now.Hour(), now.Minute(), now.Second(), s.in.PID, s.in.Controls.IDHost)
	if s.resent() {
		if !s.seen[fResentDate] {
			b.WriteString("Resent-" + date)
		}
		if !s.seen[fResentMessageID] {
			b.WriteString("Resent-" + msgID)
		}
		if !s.seen[fResentFrom] {
			from, err := s.defaultFrom()
			if err != nil {
				return nil, err
			}
			b.WriteString("Resent-")
			b.Write(from)
		}
		if !s.seen[fResentTo] && !s.seen[fResentCc] {
			b.WriteString("Resent-Cc: recipient list not shown: ;\n")
		}
	} else {
		if !s.seen[fDate] {
			b.WriteString(date)
		}
		if !s.seen[fMessageID] {
			b.WriteString(msgID)
		}
		if !s.seen[fFrom] {
			from, err := s.defaultFrom()
			if err != nil {
				return nil, err
			}
			b.Write(from)
		}
		if !s.seen[fTo] && !s.seen[fCc] {
			b.WriteString("Cc: recipient list not shown: ;\n")
		}
		s.mailFollowupTo(&b)
	}
	b.Write(s.saved)
	return b.Bytes(), nil
}

// defaultFrom builds the From field from the environment: "Name"
// <user@host>, or user@host (Name) with QMAILINJECT c (qmail's
// defaultfrommake).
func (s *state) defaultFrom() ([]byte, error) {
	name, hasName := s.firstEnv("QMAILNAME", "MAILNAME", "NAME")
	ts := []token{{typ: tAtom, s: "From"}, {typ: tColon}}
	if hasName && !s.nameComment {
		ts = append(ts, token{typ: tQuote, s: name}, token{typ: tLeft})
	}
	ts = append(ts, token{typ: s.userType, s: s.mailUser})
	if s.mailHost != nil {
		ts = append(ts, token{typ: tAt}, token{typ: tAtom, s: *s.mailHost})
	}
	if hasName && !s.nameComment {
		ts = append(ts, token{typ: tRight})
	}
	if hasName && s.nameComment {
		ts = append(ts, token{typ: tComment, s: name})
	}
	return rewriteField(unparse(ts, lineLen), s.rw.rewrite)
}

// defaultReturnPath sets the envelope sender from the environment, with
// the VERP suffixes QMAILINJECT m and r ask for (qmail's
// dodefaultreturnpath).
func (s *state) defaultReturnPath() error {
	user := s.mailRUser
	if s.verpMess {
		user += "-" + strconv.FormatInt(s.in.Now.Unix(), 10) + "." + strconv.Itoa(s.in.PID)
	}
	if s.verpRecip {
		user += "-"
	}
	ts := []token{{typ: tAtom, s: "Return-Path"}, {typ: tColon}, {typ: tQuote, s: user}}
	if s.mailRHost != nil {
		ts = append(ts, token{typ: tAt}, token{typ: tAtom, s: *s.mailRHost})
	}
	_, err := rewriteField(unparse(ts, lineLen), s.returnPath)
	return err
}

// mailFollowupTo writes Mail-Followup-To when the message has none and
// its To or Cc names an address of QMAILMFTFILE (qmail's finishmft).
func (s *state) mailFollowupTo(b *bytes.Buffer) {
	if s.mft == nil || s.seen[fMailFollowupTo] {
		return
	}
	found := false
	for _, a := range s.tocc {
		if s.mft[strings.ToLower(a)] {
			found = true
			break
		}
	}
	if !found {
		return
	}
	b.WriteString("Mail-Followup-To: ")
	for i := len(s.tocc) - 1; i >= 0; i-- {
		b.WriteString(envelope.QuoteAddr(s.tocc[i]))
		if i > 0 {
			b.WriteString(",\n  ")
		}
	}
	b.WriteString("\n")
}

// recipients returns the envelope recipients: the arguments first, then
// the header's (qmail-inject.c finishheader()).
func (s *state) recipients() []string {
	rcpts := append([]string(nil), s.args...)
	if s.fromHeaderRecipients {
		if s.resent() {
			rcpts = append(rcpts, s.hrr...)
		} else {
			rcpts = append(rcpts, s.hr...)
		}
	}
	return rcpts
}

// bodyReader passes the body through and ends it with a newline when its
// last line has none (qmail's headerbody adds one).
type bodyReader struct {
	r      io.Reader
	last   byte
	some   bool // something was read
	eof    bool // r has ended
	needNL bool // the added newline is still to be returned
}

func (b *bodyReader) Read(p []byte) (int, error) {
	if b.eof {
		if !b.needNL {
			return 0, io.EOF
		}
		if len(p) == 0 {
			return 0, nil
		}
		p[0] = '\n'
		b.needNL = false
		return 1, io.EOF
	}
	n, err := b.r.Read(p)
	if n > 0 {
		b.last, b.some = p[n-1], true
	}
	if errors.Is(err, io.EOF) {
		b.eof = true
		b.needNL = b.some && b.last != '\n'
		if b.needNL && n < len(p) {
			p[n] = '\n'
			n++
			b.needNL = false
		}
		if b.needNL {
			return n, nil
		}
	}
	return n, err
}
