package smtpd

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"strconv"
	"syscall"
	"time"
)

// ServeStdio serves one session on in and out: fd 0 and 1 under
// tcpserver, inetd or a systemd socket, with info from ConnFromEnv. When
// in and out are files (a socket or pipes), they are used through
// non-blocking duplicates so that the per-read timeout and STARTTLS work
// as on a network connection; other readers and writers get no timeout,
// and ctx then ends the session only at its next read.
func (s *Server) ServeStdio(ctx context.Context, in io.Reader, out io.Writer, info Conn) error {
	c, err := newStdioConn(in, out, info)
	if err != nil {
		return err
	}
	s.ServeConn(ctx, c, info)
	return nil
}

// stdioConn is a net.Conn made of a reader and a writer, which is what
// crypto/tls needs for STARTTLS on stdin and stdout.
type stdioConn struct {
	r      io.Reader
	w      io.Writer
	rf, wf *os.File // the duplicates, when deadlines work on them
	local  net.Addr
	remote net.Addr
}

func newStdioConn(in io.Reader, out io.Writer, info Conn) (*stdioConn, error) {
	c := &stdioConn{r: in, w: out,
		local:  stdioAddr{ip: addrString(info.LocalIP), port: info.LocalPort},
		remote: stdioAddr{ip: addrString(info.RemoteIP), port: info.RemotePort}}
	if f, ok := in.(*os.File); ok {
		nf, err := pollable(f)
		if err != nil {
			return nil, err
		}
		c.r, c.rf = nf, nf
	}
	if f, ok := out.(*os.File); ok {
		nf, err := pollable(f)
		if err != nil {
			c.Close()
			return nil, err
		}
		c.w, c.wf = nf, nf
	}
	return c, nil
}

// pollable duplicates f's descriptor in non-blocking mode, which makes
// os.NewFile return a file whose deadlines work (sockets and pipes).
func pollable(f *os.File) (*os.File, error) {
	rc, err := f.SyscallConn()
	if err != nil {
		return nil, err
	}
	var nfd int
	var derr error
	if err := rc.Control(func(fd uintptr) { nfd, derr = syscall.Dup(int(fd)) }); err != nil {
		return nil, err
	}
	if derr != nil {
		return nil, &os.PathError{Op: "dup", Path: f.Name(), Err: derr}
	}
	if err := syscall.SetNonblock(nfd, true); err != nil {
		syscall.Close(nfd)
		return nil, &os.PathError{Op: "set non-blocking", Path: f.Name(), Err: err}
	}
	return os.NewFile(uintptr(nfd), f.Name()), nil
}

func (c *stdioConn) Read(p []byte) (int, error)  { return c.r.Read(p) }
func (c *stdioConn) Write(p []byte) (int, error) { return c.w.Write(p) }

// Close closes the duplicates; the original descriptors stay open.
func (c *stdioConn) Close() error {
	var errs []error
	if c.rf != nil {
		errs = append(errs, c.rf.Close())
	}
	if c.wf != nil {
		errs = append(errs, c.wf.Close())
	}
	return errors.Join(errs...)
}

func (c *stdioConn) LocalAddr() net.Addr  { return c.local }
func (c *stdioConn) RemoteAddr() net.Addr { return c.remote }

func (c *stdioConn) SetDeadline(t time.Time) error {
	return errors.Join(c.SetReadDeadline(t), c.SetWriteDeadline(t))
}

func (c *stdioConn) SetReadDeadline(t time.Time) error {
	if c.rf == nil {
		return nil
	}
	return ignoreNoDeadline(c.rf.SetReadDeadline(t))
}

func (c *stdioConn) SetWriteDeadline(t time.Time) error {
	if c.wf == nil {
		return nil
	}
	return ignoreNoDeadline(c.wf.SetWriteDeadline(t))
}

// ignoreNoDeadline: a regular file or terminal has no deadlines; the
// session then simply has no timeout.
func ignoreNoDeadline(err error) error {
	if errors.Is(err, os.ErrNoDeadline) {
		return nil
	}
	return err
}

// stdioAddr is the address of a stdio session's end, from the environment.
type stdioAddr struct {
	ip   string
	port uint16
}

func (a stdioAddr) Network() string { return "tcp" }
func (a stdioAddr) String() string {
	return net.JoinHostPort(a.ip, strconv.Itoa(int(a.port)))
}
