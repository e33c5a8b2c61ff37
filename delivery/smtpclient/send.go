package smtpclient

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// Envelope is the sender and recipients of one message.
type Envelope struct {
	Sender string // "" for the null sender (bounces)
	Rcpts  []string
}

// Message is a stored message to transfer.
type Message struct {
	// Body is the message as stored: lines end in LF (or CRLF), maybe
	// without a final line end. When the envelope needs more than one
	// transaction (MaxRcpts, 452 carry-over) the body is read again from
	// the start, which needs an io.Seeker (an *os.File or *bytes.Reader).
	Body     io.Reader
	Size     int64 // stored size
	EightBit bool  // the body has bytes over 127: BODY=8BITMIME when offered (RFC 6152)
	// WireSize is the size with CRLF line ends, which SIZE= gives (RFC
	// 1870 §3); 0 when unknown, and then Size is given.
	WireSize int64
	// SMTPUTF8 says the message came with SMTPUTF8 (RFC 6531 §3.4): when
	// it is EightBit too its header may hold UTF-8, so the server must
	// offer SMTPUTF8 unless the header is ASCII.
	SMTPUTF8 bool
}

// sizeParam is what SIZE= and the server's limit are compared with: the
// wire size, or the stored size when that is unknown. RFC 1870 §6 lets a
// client give an estimate: this one leaves out the CRLFs the writer adds
// when it folds lines over MaxLine octets (two octets a fold), which
// cannot be known without reading the body first.
func (m Message) sizeParam() int64 {
	if m.WireSize > 0 {
		return m.WireSize
	}
	return m.Size
}

// State is what became of one recipient.
type State int

// The states of a recipient. The zero value is Deferred: a recipient whose
// fate is unknown is tried again.
const (
	Deferred  State = iota // try again later
	Delivered              // the server took responsibility for the message
	Failed                 // permanently refused
)

// String returns "delivered", "deferred" or "failed".
func (s State) String() string {
	switch s {
	case Delivered:
		return "delivered"
	case Deferred:
		return "deferred"
	case Failed:
		return "failed"
	}
	return "state " + strconv.Itoa(int(s))
}

// RcptResult is the outcome for one recipient.
type RcptResult struct {
	Reply    Reply // the reply that decided this recipient (RCPT's, DATA's or the final one)
	Stage    Stage
	State    State
	AfterDot bool // the connection failed after the final dot: possible duplicate
	// NoSMTPUTF8 says the message needs SMTPUTF8, which the server did
	// not offer (RFC 6531 §3.2): nothing was sent, and Reply is made up.
	NoSMTPUTF8 bool
}

// Synthetic reply texts for refusals decided before anything is sent.
const (
	textNeedUTF8  = "5.6.7 the message needs SMTPUTF8, which the server does not offer"
	textTooBig    = "5.3.4 message size %d exceeds the server's limit %d"
	textNoReread  = "4.3.0 the message cannot be read again for another transaction"
	textRereadErr = "4.3.0 unable to read the message again: %v"
)

// Send runs one or more transactions for env on the connection and returns
// one result per env.Rcpts entry, in order. err != nil means the connection
// is unusable (network error, malformed reply, or 421); the results then
// still say what is known: recipients already decided keep their results,
// the others are Deferred with Stage and AfterDot set accordingly.
func (c *Conn) Send(ctx context.Context, env Envelope, msg Message) ([]RcptResult, error) {
	res := make([]RcptResult, len(env.Rcpts))
	for i := range res {
		res[i].Stage = StageMail
	}
	if len(env.Rcpts) == 0 {
		return res, nil
	}
	if !c.Usable() {
		return res, &Error{Stage: StageMail, Err: errUnusable}
	}
	stop := c.watch(ctx)
	defer stop()

	utf8, rep, ok := needsUTF8(env, msg, c.ext.SMTPUTF8)
	if !ok {
		setAll(res, all(len(res)), rep, StageMail)
		return res, nil
	}
	if utf8 && !c.ext.SMTPUTF8 {
		// RFC 6531 §3.2: without SMTPUTF8 the message cannot go to this
		// server; nothing is sent.
		setAll(res, all(len(res)), synthetic(553, textNeedUTF8), StageMail)
		for i := range res {
			res[i].NoSMTPUTF8 = true
		}
		return res, nil
	}
	if size := msg.sizeParam(); c.ext.Size > 0 && size > c.ext.Size {
		// RFC 1870 §6: do not send a message larger than the limit.
		setAll(res, all(len(res)), synthetic(552, fmt.Sprintf(textTooBig, size, c.ext.Size)), StageMail)
		return res, nil
	}

	t := &txn{c: c, env: env, msg: msg, res: res, decided: make([]bool, len(res)), utf8: utf8}
	pending := all(len(res))
	bodyUsed := false
	for len(pending) > 0 {
		if bodyUsed {
			if rep, ok := rewind(msg.Body); !ok {
				setAll(res, pending, rep, StageData)
				return res, nil
			}
		}
		if c.dirty {
			if err := c.Reset(ctx); err != nil {
				t.fail(err, nil, pending)
				return res, c.ctxErr(ctx, err)
			}
		}
		n := min(c.o.MaxRcpts, len(pending))
		batch, rest := pending[:n], pending[n:]
		carry, mailRep, err := t.run(batch)
		bodyUsed = bodyUsed || t.bodyRead
		if err != nil {
			t.fail(err, batch, rest)
			return res, c.ctxErr(ctx, err)
		}
		if mailRep != nil {
			// MAIL refused: the sender is refused for every recipient.
			setAll(res, rest, *mailRep, StageMail)
			return res, nil
		}
		pending = append(carry[:len(carry):len(carry)], rest...)
	}
	return res, nil
}

// rewind seeks the body back to its start for another transaction.
func rewind(body io.Reader) (Reply, bool) {
	s, ok := body.(io.Seeker)
	if !ok {
		return synthetic(451, textNoReread), false
	}
	if _, err := s.Seek(0, io.SeekStart); err != nil {
		return synthetic(451, fmt.Sprintf(textRereadErr, err)), false
	}
	return Reply{}, true
}

// txn carries the state of Send across its transactions.
type txn struct {
	c        *Conn
	env      Envelope
	msg      Message
	res      []RcptResult
	decided  []bool
	utf8     bool
	bodyRead bool
}

// decide records the reply that decided recipient i.
func (t *txn) decide(i int, rep Reply, stage Stage) {
	t.res[i] = RcptResult{Reply: rep, Stage: stage, State: stateOf(rep)}
	t.decided[i] = true
}

// fail marks every undecided recipient Deferred after err ended the
// connection; AfterDot applies to those of the current transaction only.
func (t *txn) fail(err error, batch, rest []int) {
	var e *Error
	if !errors.As(err, &e) {
		e = &Error{Stage: StageMail, Err: err}
	}
	mark := func(idx []int, afterDot bool) {
		for _, i := range idx {
			if t.decided[i] {
				continue
			}
			t.res[i] = RcptResult{Stage: e.Stage, State: Deferred, AfterDot: afterDot}
			if e.Reply != nil {
				t.res[i].Reply = *e.Reply
			}
		}
	}
	mark(batch, e.AfterDot)
	mark(rest, false)
}

// mailCommand builds MAIL FROM with the parameters the server offers.
func (t *txn) mailCommand() string {
	c := t.c
	s := "MAIL FROM:<" + t.env.Sender + ">"
	if size := t.msg.sizeParam(); c.ext.SizeOffered && size > 0 {
		s += " SIZE=" + strconv.FormatInt(size, 10) // RFC 1870 §6, an estimate (Message.sizeParam)
	}
	if t.msg.EightBit && c.ext.EightBitMIME {
		s += " BODY=8BITMIME" // RFC 6152 §3
	}
	if t.utf8 {
		s += " SMTPUTF8" // RFC 6531 §3.4
	}
	return s
}

// closing handles a 421 (RFC 5321 §3.8): the recipients of batch not yet
// decided get the reply, and the connection is done.
func (t *txn) closing(rep Reply, stage Stage, batch []int) error {
	for _, i := range batch {
		if !t.decided[i] {
			t.decide(i, rep, stage)
		}
	}
	return &Error{Stage: stage, Reply: &rep}
}

// run is one transaction for the recipients in batch. It returns the
// recipients refused with "too many recipients" that may be tried in the
// next transaction, MAIL's reply when MAIL was refused, or an error that
// ends the connection.
func (t *txn) run(batch []int) (carry []int, mailRep *Reply, err error) {
	for _, i := range batch {
		t.decided[i] = false
	}
	if err := t.begin(batch); err != nil {
		return nil, nil, err
	}
	mrep, err := t.mail(batch)
	if err != nil {
		return nil, nil, err
	}
	mailOK := mrep.Positive()
	if !mailOK && !t.pipe() {
		return nil, &mrep, nil
	}
	accepted, carry, err := t.rcpts(batch, mailOK)
	if err != nil {
		return nil, nil, err
	}
	if len(accepted) == 0 && !t.pipe() {
		return nil, nil, nil // no body; RSET before the next transaction
	}
	open, err := t.data(accepted)
	switch {
	case err != nil:
	case !open: // refused: the accepted recipients have DATA's reply
	case len(accepted) == 0:
		err = t.emptyData()
	default:
		err = t.transfer(accepted)
	}
	if err != nil {
		return nil, nil, err
	}
	if !mailOK {
		return nil, &mrep, nil
	}
	return carry, nil, nil
}

// pipe reports whether the transaction is pipelined (RFC 2920).
func (t *txn) pipe() bool { return t.c.ext.Pipelining }

// begin sends MAIL; with PIPELINING the RCPTs and DATA go in the same
// write and their replies are read in order afterwards (RFC 2920 §3.1).
func (t *txn) begin(batch []int) error {
	c := t.c
	if err := c.write(StageMail, t.mailCommand()); err != nil {
		return err
	}
	if t.pipe() {
		for _, i := range batch {
			c.write(StageRcpt, t.rcptCommand(i))
		}
		c.write(StageData, "DATA")
	}
	c.startStage(StageMail)
	if err := c.flush(StageMail, false); err != nil {
		return err
	}
	c.dirty = true
	return nil
}

// ask returns the reply to a command after MAIL: in lock-step the
// command is sent now; in a pipelined group begin sent it, and only its
// reply, the next in order, is read.
func (t *txn) ask(stage Stage, line string) (Reply, error) {
	if t.pipe() {
		return t.c.read(stage)
	}
	return t.c.cmd(stage, line)
}

// rcptCommand is RCPT TO for recipient i.
func (t *txn) rcptCommand(i int) string {
	return "RCPT TO:<" + t.env.Rcpts[i] + ">"
}

// mail reads MAIL's reply. A refusal decides every recipient of batch:
// the sender is refused for all of them.
func (t *txn) mail(batch []int) (Reply, error) {
	rep, err := t.c.read(StageMail)
	if err != nil {
		return Reply{}, err
	}
	if rep.Code == 421 {
		return Reply{}, t.closing(rep, StageMail, batch)
	}
	if !rep.Positive() {
		for _, i := range batch {
			t.decide(i, rep, StageMail)
		}
	}
	return rep, nil
}

// rcpts gets the reply to RCPT for each recipient of batch, in order, and
// returns those accepted and those refused as too many that a later
// transaction may take. After a refused MAIL the replies of a pipelined
// group are read and decide nothing.
func (t *txn) rcpts(batch []int, mailOK bool) (accepted, carry []int, err error) {
	var refused452 []int
	for _, i := range batch {
		rep, err := t.ask(StageRcpt, t.rcptCommand(i))
		if err != nil {
			return nil, nil, err
		}
		if rep.Code == 421 {
			return nil, nil, t.closing(rep, StageRcpt, batch)
		}
		switch {
		case !mailOK:
		case rep.Positive():
			accepted = append(accepted, i)
		default:
			t.decide(i, rep, StageRcpt)
			if tooManyRcpts(rep) {
				refused452 = append(refused452, i)
			}
		}
	}
	// RFC 5321 §4.5.3.1.10: recipients refused as too many are tried in a
	// later transaction, when this one made progress.
	if len(accepted) > 0 {
		carry = refused452
	}
	return accepted, carry, nil
}

// data gets DATA's reply and reports whether it opened the data (354). A
// refusal decides the accepted recipients: c.read ended the connection on
// any other reply but 354 (RFC 5321 §4.3.2).
func (t *txn) data(accepted []int) (open bool, err error) {
	rep, err := t.ask(StageData, "DATA")
	if err != nil {
		return false, err
	}
	if rep.Code == 421 {
		return false, t.closing(rep, StageData, accepted)
	}
	if rep.Code != 354 {
		for _, i := range accepted {
			t.decide(i, rep, StageData)
		}
		return false, nil
	}
	return true, nil
}

// emptyData ends data that a pipelined DATA opened although no recipient
// was accepted. RFC 2920 §3.1: the client "should send a single dot"; its
// reply is of no use.
func (t *txn) emptyData() error {
	c := t.c
	c.write(StageBody, ".")
	c.startStage(StageBody)
	if err := c.flush(StageBody, true); err != nil {
		return err
	}
	if c.o.LMTP {
		// RFC 2033 §4.2: DATA must fail without a successful RCPT, and
		// the dot is owed one reply per such RCPT, none here. A server
		// that broke the first rule cannot be trusted to keep the
		// second: end the connection rather than misread replies.
		// Every recipient of the batch is decided already.
		return c.netErr(StageBody, errLMTPNoRcpt, false)
	}
	_, err := c.readAfter(StageBody, true)
	return err
}

// transfer sends the message and reads what decides the accepted
// recipients after the final dot: one reply for all of them (SMTP), or
// one each (LMTP).
func (t *txn) transfer(accepted []int) error {
	if err := t.body(); err != nil {
		return err
	}
	final := t.smtpReply
	if t.c.o.LMTP {
		final = t.lmtpReplies
	}
	if err := final(accepted); err != nil {
		return err
	}
	// RFC 5321 §4.1.1.4, RFC 2033 §4.2: the last reply ends the transaction.
	t.c.dirty = false
	return nil
}

// body writes the message in transparency form and the final dot, within
// a deadline that grows with the message's size (Options.Phases.DataXfer
// and MinDataRate); the session's cap grows by the same allowance.
func (t *txn) body() error {
	c := t.c
	t.bodyRead = true
	deadline, allowance := c.o.Phases.transfer(t.msg.Size)
	c.tc.session = c.tc.session.Add(allowance)
	c.sessionLimit += allowance
	c.startPhase("message transfer", deadline)
	if c.buf == nil {
		c.buf = make([]byte, 32*1024+MaxLine+1)
	}
	rerr, werr := writeBody(c.w, t.msg.Body, c.buf[:32*1024], c.buf[32*1024:])
	if rerr != nil {
		// The data cannot be ended without sending a truncated message as
		// if whole: drop the connection instead.
		return c.netErr(StageData, fmt.Errorf("reading the message: %w", rerr), false)
	}
	if werr != nil {
		return c.netErr(StageData, werr, false)
	}
	// Whatever is still buffered includes the final dot: from here on a
	// failure may leave a delivered message (qmail-remote.c dropped(),
	// "Possible duplicate!").
	return c.flush(StageBody, true)
}

// smtpReply reads the one reply after the final dot of an SMTP
// transaction, which decides every accepted recipient (RFC 5321 §4.1.1.4).
func (t *txn) smtpReply(accepted []int) error {
	rep, err := t.c.readAfter(StageBody, true)
	if err != nil {
		return err
	}
	if rep.Code == 421 {
		return t.closing(rep, StageBody, accepted)
	}
	for _, i := range accepted {
		t.decide(i, rep, StageBody)
	}
	return nil
}

// errLMTPNoRcpt ends an LMTP connection whose server accepted DATA
// without an accepted recipient.
var errLMTPNoRcpt = errors.New("LMTP server accepted DATA without an accepted recipient (RFC 2033 §4.2)")

// lmtpReplies reads the replies after the final dot of an LMTP transaction:
// one per recipient accepted at RCPT, in RCPT order, each deciding its own
// recipient (RFC 2033 §4.2). Recipients whose reply was read keep it when
// the connection fails before the others'; a 421 decides the rest.
func (t *txn) lmtpReplies(accepted []int) error {
	for k, i := range accepted {
		rep, err := t.c.readAfter(StageBody, true)
		if err != nil {
			return err
		}
		if rep.Code == 421 {
			return t.closing(rep, StageBody, accepted[k:])
		}
		t.decide(i, rep, StageBody)
	}
	return nil
}

// tooManyRcpts reports a refusal that means "not in this transaction":
// 452 (RFC 5321 §4.5.3.1.10) or 4.5.3 (RFC 3463 §3.6).
func tooManyRcpts(r Reply) bool {
	return r.Code == 452 || r.Enhanced == "4.5.3"
}

// stateOf maps a reply to a recipient state.
func stateOf(r Reply) State {
	switch {
	case r.Positive():
		return Delivered
	case r.Code >= 500:
		return Failed
	}
	return Deferred
}

// synthetic makes a reply for a decision taken without asking the server.
func synthetic(code int, text string) Reply {
	return Reply{Code: code, Enhanced: enhancedCode(code, text), Lines: []string{text}}
}

func setAll(res []RcptResult, idx []int, rep Reply, stage Stage) {
	for _, i := range idx {
		res[i] = RcptResult{Reply: rep, Stage: stage, State: stateOf(rep)}
	}
}

func all(n int) []int {
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	return idx
}

// needsUTF8 decides whether the transaction needs SMTPUTF8 (RFC 6531 §3.4:
// "If the envelope or message being sent requires any of the SMTPUTF8
// extension capabilities, the SMTP client MUST supply the SMTPUTF8
// parameter"): an address that is not ASCII, or a message that came with
// SMTPUTF8 and has a byte over 127. Such a message, for a server that
// does not offer SMTPUTF8 (offered reports it), needs it only when the
// byte is in its header (RFC 6532 §3): the header is read, and the body
// rewound. ok false means the body could not be read; rep says why.
func needsUTF8(env Envelope, msg Message, offered bool) (need bool, rep Reply, ok bool) {
	if !ascii(env.Sender) {
		return true, Reply{}, true
	}
	for _, r := range env.Rcpts {
		if !ascii(r) {
			return true, Reply{}, true
		}
	}
	if !msg.SMTPUTF8 || !msg.EightBit {
		return false, Reply{}, true
	}
	if offered {
		return true, Reply{}, true
	}
	need, err := headerNot7Bit(msg.Body)
	if err != nil {
		return false, synthetic(451, fmt.Sprintf(textRereadErr, err)), false
	}
	if rep, ok := rewind(msg.Body); !ok {
		return false, rep, false
	}
	return need, Reply{}, true
}

// ascii reports whether s has no byte over 127.
func ascii(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// headerNot7Bit reads the message's header, up to the first empty line,
// and reports whether it has a byte over 127.
func headerNot7Bit(body io.Reader) (bool, error) {
	var buf [4096]byte
	lineStart := true
	for {
		n, err := body.Read(buf[:])
		for _, b := range buf[:n] {
			switch {
			case b >= 0x80:
				return true, nil
			case b == '\n':
				if lineStart {
					return false, nil
				}
				lineStart = true
			case b != '\r':
				lineStart = false
			}
		}
		if err == io.EOF {
			return false, nil
		}
		if err != nil {
			return false, err
		}
	}
}
