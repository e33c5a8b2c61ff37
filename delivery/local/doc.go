// Package local is qsend's local channel: the Transport the scheduler calls
// for recipients that qmail-send's rewrite (package rewrite) sends to this
// host. It replaces qmail-lspawn and the parts of qmail-local an installation
// needs without .qmail files: delivery into a Maildir, to a mailbox server
// over LMTP (RFC 2033), or to a command run per recipient with qmail-local's
// exit codes, so that an existing qmail-local and its .qmail files keep
// working behind it.
//
// The method is chosen by the recipient's domain after the rewrite, else
// the default. Every method first applies qmail-local's loop check: a
// message that already carries "Delivered-To: <address>" for the address
// being delivered fails permanently.
//
// The address as the local channel sees it ("prepend-user@domain" for
// virtualdomains) is split as follows for templates:
//
//	{addr}   the whole rewritten address
//	{local}  its local part, as written
//	{domain} its domain, lower-cased
//	{user}   the local part lower-cased, up to the first '-'
//	{ext}    the rest of the local part after that '-', maybe empty
//	{home}   the home directory of {user} in the system user database
//	{sender} the envelope sender
//
// The {user}/{ext} split is qmail's user-ext convention with '-' as
// conf-break, simplified: qmail-getpw tries ever shorter '-'-separated
// prefixes against the user database, qsend takes the first one only (so
// "alice-lists@host" is user "alice", ext "lists"). "{{" writes a literal
// '{'.
package local
