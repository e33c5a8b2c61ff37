// Package control reads qmail control files with qmail's rules
// (netqmail control.c, qmail-control.5):
//
//   - A single-value file is its first line, trailing spaces, tabs, CRs and
//     LFs stripped. qmail strips only spaces, tabs and LFs; qsend also strips
//     CR so that a file saved with CRLF line ends means what it says.
//   - A list file is every line, trailing whitespace stripped, with empty
//     lines and lines starting with '#' skipped. A last line without LF
//     counts.
//   - A number is a single-value file holding a decimal number. qmail's
//     scan_ulong takes the leading digits and silently keeps the default when
//     there are none; this package instead reports anything that is not
//     entirely a decimal number as an error naming the file and line, so a
//     typo stops the program instead of being ignored.
//   - A missing file is absent (ok is false, err is nil): the caller's
//     default applies. Every other failure to open or read (permission,
//     a directory in place of the file, I/O) is an error naming the file.
//
// The functions take the control directory and the file's name, so the same
// reader serves me and concurrencyremote as well as tlshosts/<host>.pem
// checks, rcpthosts and smtproutes in other packages.
package control
