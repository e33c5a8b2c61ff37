// Package dkim signs outgoing mail with DKIM (RFC 6376): the keys of
// control_dir/domainkeys, the signing of a message at intake with the key
// of its From: domain, the DNS record that publishes a key, and the
// counters of what was signed. The cryptography and canonicalisation are
// github.com/emersion/go-msgauth's; this package chooses the keys and the
// header fields and keeps a message's bytes out of memory.
package dkim

import (
	"bytes"
	"context"
	"crypto"
	"io"
	"log/slog"
	"os"
	"strings"

	msgdkim "github.com/emersion/go-msgauth/dkim"
)

// signedFields are the header fields signed (RFC 6376 §5.4.1's
// recommendation), each named once per instance it may have. From is
// listed twice so that a From: added in transit breaks the signature
// (oversigning, RFC 6376 §8.15).
var signedFields = []string{
	"From", "From", "Reply-To", "Subject", "Date", "To", "Cc", "Message-ID",
	"In-Reply-To", "References", "MIME-Version", "Content-Type",
	"Content-Transfer-Encoding", "List-Id", "List-Help", "List-Unsubscribe",
	"List-Unsubscribe-Post", "List-Subscribe", "List-Post", "List-Owner",
	"List-Archive",
}

// maxHeader is the most of a message read to find its From: field; a
// longer header goes out unsigned.
const maxHeader = 1 << 20

// Options configure a Signer.
type Options struct {
	// ScratchDir is where a message that cannot be read twice is kept
	// while it is signed (an unlinked file); "" is os.TempDir().
	ScratchDir string
	// Counters, when set, count what the Signer did (it may outlive the
	// Signer: the daemon keeps it across reloads).
	Counters *Counters
	Logger   *slog.Logger
}

// Signer signs messages with the keys in use of their author's domain.
// Its methods may be called concurrently.
type Signer struct {
	keys map[string][]*Key
	o    Options
}

// New returns a Signer of the keys in use of ks (nil: none).
func New(ks *Keys, o Options) *Signer {
	s := &Signer{keys: map[string][]*Key{}, o: o}
	if ks != nil {
		s.keys = ks.InUse
	}
	if s.o.Logger == nil {
		s.o.Logger = slog.New(slog.DiscardHandler)
	}
	if s.o.Counters == nil {
		s.o.Counters = &Counters{}
	}
	return s
}

// Domains returns how many domains have a key in use.
func (s *Signer) Domains() int {
	if s == nil {
		return 0
	}
	return len(s.keys)
}

// Counters returns the Signer's counters.
func (s *Signer) Counters() *Counters { return s.o.Counters }

// Message is a message to store, DKIM-Signature fields first when it was
// signed. Close releases what it holds.
type Message struct {
	io.Reader
	// Domain is the d= it was signed for; "" when it was not signed.
	Domain string
	file   *os.File
}

// Read reads the message; at its end (or at an error) the scratch file
// is released, so a reader that is only read needs no Close.
func (m *Message) Read(p []byte) (int, error) {
	n, err := m.Reader.Read(p)
	if err != nil {
		m.Close()
	}
	return n, err
}

// Close releases the scratch file, if any.
func (m *Message) Close() error {
	if m.file != nil {
		f := m.file
		m.file = nil
		return f.Close()
	}
	return nil
}

// Sign reads msg (LF line ends, as the queue stores it) and returns it to
// be stored, with one DKIM-Signature field per key in use of the domain of
// its From: address, or, when that domain has no key, of fallback's (""
// for none). Signing never loses a message: a message without a key, or
// whose signing failed (the failure is logged and counted), comes back
// unsigned. The error is msg's own read error, or ctx's.
//
// msg is read twice when it is an io.ReadSeeker (a spool file, a buffer);
// any other reader is copied to an unlinked scratch file as it is
// signed, so a message is never held in memory whole.
func (s *Signer) Sign(ctx context.Context, msg io.Reader, fallback string) (*Message, error) {
	if s == nil || len(s.keys) == 0 {
		return &Message{Reader: msg}, nil
	}
	seeker, _ := msg.(io.ReadSeeker)
	var start int64
	if seeker != nil {
		var err error
		if start, err = seeker.Seek(0, io.SeekCurrent); err != nil {
			seeker = nil
		}
	}
	head, err := readHeader(msg)
	if err != nil {
		return nil, err
	}
	unsigned := func() *Message { return &Message{Reader: io.MultiReader(bytes.NewReader(head), msg)} }
	domain, ok := FromDomain(head)
	keys := s.keys[domain]
	if len(keys) == 0 && fallback != "" {
		domain, keys = strings.ToLower(fallback), s.keys[strings.ToLower(fallback)]
	}
	if !ok && fallback == "" || len(keys) == 0 {
		return unsigned(), nil
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	signers := make([]*msgdkim.Signer, 0, len(keys))
	writers := make([]io.Writer, 0, len(keys)+1)
	closeAll := func() {
		for _, sg := range signers {
			sg.Close()
		}
	}
	for _, k := range keys {
		sg, err := msgdkim.NewSigner(&msgdkim.SignOptions{
			Domain:   k.Domain,
			Selector: k.Selector,
			Signer:   k.Signer,
			Hash:     crypto.SHA256,
			// RFC 6376 §3.4.2 and §3.4.4: relaxed survives the rewrapping
			// and whitespace changes of relays.
			HeaderCanonicalization: msgdkim.CanonicalizationRelaxed,
			BodyCanonicalization:   msgdkim.CanonicalizationRelaxed,
			HeaderKeys:             signedFields,
		})
		if err != nil {
			closeAll()
			s.failed(domain, err)
			return unsigned(), nil
		}
		signers = append(signers, sg)
		// A signer that fails stops taking bytes; the others go on.
		writers = append(writers, &tolerant{w: sg})
	}
	var scratch *os.File
	if seeker == nil {
		if scratch, err = os.CreateTemp(s.o.ScratchDir, "dkim-"); err != nil {
			closeAll()
			s.failed(domain, err)
			return unsigned(), nil
		}
		os.Remove(scratch.Name()) // nothing to clean up after a crash
		writers = append(writers, scratch)
	}
	// One pass feeds the signers (and the scratch file).
	w := io.MultiWriter(writers...)
	if _, err = w.Write(head); err == nil {
		// 32 KiB at a time, not at once through a WriteTo: the
		// canonicalisers copy each write.
		_, err = io.CopyBuffer(w, struct{ io.Reader }{msg}, make([]byte, 32<<10))
	}
	if err != nil {
		// msg's own error (the message is incomplete) or the scratch
		// file's: either way there is nothing whole to store.
		closeAll()
		if scratch != nil {
			scratch.Close()
		}
		return nil, err
	}
	var fields strings.Builder
	var signErr error
	for _, sg := range signers {
		if err := sg.Close(); err != nil {
			signErr = err
			continue
		}
		// The queue keeps LF line ends; delivery writes CRLF.
		fields.WriteString(strings.ReplaceAll(sg.Signature(), "\r\n", "\n"))
	}
	out := &Message{file: scratch}
	if scratch != nil {
		size, err := scratch.Seek(0, io.SeekCurrent)
		if err != nil {
			scratch.Close()
			return nil, err
		}
		out.Reader = io.MultiReader(bytes.NewReader(head), io.NewSectionReader(scratch, int64(len(head)), size-int64(len(head))))
	} else {
		if _, err := seeker.Seek(start, io.SeekStart); err != nil {
			return nil, err
		}
		out.Reader = seeker
	}
	if signErr != nil {
		s.failed(domain, signErr)
	}
	if fields.Len() == 0 {
		return out, nil
	}
	s.o.Counters.signed(domain)
	out.Domain = domain
	out.Reader = io.MultiReader(strings.NewReader(fields.String()), out.Reader)
	return out, nil
}

func (s *Signer) failed(domain string, err error) {
	s.o.Counters.failed()
	s.o.Logger.Warn("dkim: signing failed; the message goes out unsigned", "domain", domain, "err", err)
}

// tolerant passes writes to w until one fails, and then takes every
// write without passing it: its error is w's to report (at Close).
type tolerant struct {
	w      io.Writer
	broken bool
}

func (t *tolerant) Write(p []byte) (int, error) {
	if !t.broken {
		if _, err := t.w.Write(p); err != nil {
			t.broken = true
		}
	}
	return len(p), nil
}

// readHeader reads msg up to the end of its header section (the first
// empty line) and returns what it read, which may include some of the
// body; at most about maxHeader bytes.
func readHeader(msg io.Reader) ([]byte, error) {
	buf := make([]byte, 0, 8<<10)
	for len(buf) < maxHeader {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := msg.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if headerEnd(buf) >= 0 {
			return buf, nil
		}
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return nil, err
		}
	}
	return buf, nil
}
