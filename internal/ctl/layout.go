package ctl

import "path/filepath"

// Layout names the files the daemon keeps in state_dir.
type Layout struct {
	Dir      string
	Queue    string // the bbolt queue file
	Socket   string // the control socket, mode 0660
	Maildrop string // submissions written while the daemon is down, mode 1733
	Trigger  string // FIFO that wakes the daemon after a maildrop write, mode 0622
	Tmp      string // the daemon's scratch files, mode 0700
	Corrupt  string // maildrop files that failed validation, kept for the administrator
	PIDFile  string // the running daemon's pid, locked (flock) while it serves state_dir
}

// LayoutOf returns the layout of stateDir.
func LayoutOf(stateDir string) Layout {
	j := func(name string) string { return filepath.Join(stateDir, name) }
	return Layout{
		Dir:      stateDir,
		Queue:    j("queue.db"),
		Socket:   j(SocketName),
		Maildrop: j("maildrop"),
		Trigger:  j("trigger"),
		Tmp:      j("tmp"),
		Corrupt:  j("corrupt"),
		PIDFile:  j("daemon.pid"),
	}
}
