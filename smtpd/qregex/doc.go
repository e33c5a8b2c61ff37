// Package qregex implements the qregex patch's bad lists for qmail-smtpd
// (README.qregex v2 20060423): badmailfrom,
// badrcptto (badmailto), badhelo and their norelay variants.
//
// Each line is a POSIX extended regular expression, matched
// case-insensitively and unanchored (regcomp with REG_EXTENDED|REG_ICASE,
// then regexec over the whole address or HELO argument), so "^" and "$"
// anchor where the administrator writes them. A line starting with '!'
// is negated: it lists the strings the expression does not match ("!@"
// lists senders without '@'); inside a bracket expression '!' is literal.
// The lines are tried in order and the first one that lists the string
// decides; a negated line whose expression matches lists nothing and the
// next line is tried (qregex's bmcheck).
//
// A vanilla badmailfrom entry such as "user@example.com" or
// "@example.com" is a regular expression to qregex like any other line,
// which also lists strings that merely contain it
// ("user@example.com.evil"). List keeps that, and also lists what vanilla
// qmail-smtpd lists for a non-negated line: the address equal to the line
// ignoring case, or, for a line starting with '@', any address whose last
// '@' starts that domain (qmail-smtpd.c bmfcheck()). So an entry
// holding a regular expression character, like "user+tag@example.com",
// still lists that exact address.
//
// POSIX syntax is translated to Go's RE2 syntax: bracket expressions keep
// their POSIX meaning (a backslash inside brackets is literal, "]" first is
// literal, [:class:] names), "\`" and "\'" become \A and \z, and what RE2
// cannot do (back-references, \< and \>, multi-character collating
// elements) is refused with an error naming the file and line, as is any
// escape that POSIX leaves undefined ("\d" is a plain "d" to glibc, not a
// digit).
package qregex
