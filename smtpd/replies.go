package smtpd

// Reply texts. Those of qmail-smtpd are byte for byte qmail's
// (qmail-smtpd.c; qmail-tls qmail-smtpd.c); the AUTH texts are those of the qmail
// SMTP AUTH patches (235, 501, 503, 504, 530, 535 as qmail-smtpd-auth
// writes them); the rest are qsend's own, for limits qmail does not have.
const (
	// qmail-smtpd.c
	replyFlushed      = "250 flushed"
	replyOK           = "250 ok"
	replyVRFY         = "252 send some mail, i'll try my best"
	replyHelp         = "214 netqmail home page: http://qmail.org/netqmail"
	replyUnimpl       = "502 unimplemented (#5.5.1)"
	replyMailFirst    = "503 MAIL first (#5.5.1)"
	replyRcptFirst    = "503 RCPT first (#5.5.1)"
	replySyntax       = "555 syntax error (#5.5.4)"
	replyGoAhead      = "354 go ahead"
	replyBMF          = "553 sorry, your envelope sender is in my badmailfrom list (#5.7.1)"
	replyNoGateway    = "553 sorry, that domain isn't in my list of allowed rcpthosts"
	replyNoGatewayEnd = " (#5.7.1)"
	replyTooBig       = "552 sorry, that message size exceeds my databytes limit (#5.3.4)"
	replyHops         = "554 too many hops, this message is looping (#5.4.6)"
	replyStrayLF      = "451 See http://pobox.com/~djb/docs/smtplf.html."
	replyTimeout      = "451 timeout (#4.4.2)"

	// README.qregex, qregex qmail-smtpd.c
	replySenderDenied = "553 sorry, your envelope sender has been denied (#5.7.1)"
	replyRcptDenied   = "553 sorry, your envelope recipient has been denied (#5.7.1)"
	replyHeloDenied   = "553 sorry, your HELO host name has been denied (#5.7.1)"

	// qmail-tls qmail-smtpd.c smtp_tls(), tls_init(), tls_nogateway()
	replyReadyTLS      = "220 ready for tls"
	replyTLSParam      = "501 Syntax error (no parameters allowed) (#5.5.4)"
	replyTLSFailed     = "454 TLS connection failed: " // + error + " (#4.3.0)"
	replyTLSNoGateway  = "; no valid cert for gatewaying"
	replyTLSNotAvail   = "454 TLS not available due to temporary reason (#4.3.0)" // RFC 3207 §4
	replyTLSCodeSuffix = " (#4.3.0)"

	// SMTP AUTH (RFC 4954; texts of the qmail AUTH patches)
	replyAuthOK        = "235 ok, go ahead (#2.0.0)"
	replyAuthFailed    = "535 authorization failed (#5.7.0)"
	replyAuthAlready   = "503 you're already authenticated (#5.5.0)"
	replyAuthMail      = "503 no auth during mail transaction (#5.5.0)"
	replyAuthType      = "504 auth type unimplemented (#5.5.1)"
	replyAuthInput     = "501 malformed auth input (#5.5.4)"
	replyAuthCancelled = "501 auth exchange cancelled (#5.0.0)"
	replyAuthRequired  = "530 authentication required (#5.7.1)"
	replyAuthEncrypt   = "538 Encryption required for requested authentication mechanism (#5.7.11)" // RFC 4954 §6
	replyAuthTemp      = "454 temporary authentication failure (#4.3.0)"
	replyAuthTooMany   = "421 too many authentication failures (#4.7.0)"
	replyAuthBusy      = "454 too many authentication attempts at once from your address (#4.7.0)" // RFC 4954 §6
	replyAuthUser      = "334 VXNlcm5hbWU6"                                                        // base64 "Username:"
	replyAuthPass      = "334 UGFzc3dvcmQ6"                                                        // base64 "Password:"

	// RFC 6531 §3.5 (SMTPUTF8), RFC 5321 §4.1.1.11 (parameters)
	replyNeedUTF8        = "553 sorry, that address is not ASCII and MAIL did not ask for SMTPUTF8 (#5.6.7)"
	replyBadIDN          = "553 sorry, that domain is not a valid internationalized domain name (#5.1.3)" // RFC 5891 §5
	replyParamNotOffered = "555 sorry, that parameter is not offered here: "                              // + keyword + replyParamEnd
	replyParamSyntax     = "501 sorry, that parameter is malformed: "                                     // + parameter + replyParamEnd
	replyParamEnd        = " (#5.5.4)"

	// qsend's limits
	replyLineTooLong   = "500 line too long (#5.5.2)"                              // RFC 5321 §4.5.3.1.4
	replyTooManyRcpts  = "452 too many recipients (#4.5.3)"                        // RFC 5321 §4.5.3.1.10
	replyHeaderTooBig  = "552 sorry, the message header exceeds my limit (#5.3.4)" // as databytes, for the header
	replyTooManyErrors = "421 too many errors (#4.7.0)"
	replyTooManyConns  = "421 too many connections (#4.3.2)"
	replyTooManyClient = "421 too many connections from your address (#4.7.0)"
	replyShutdown      = "421 service shutting down (#4.3.2)"

	// qsend's time limits: qmail-smtpd's timeout text, with the reason,
	// as 421 since the connection is closed (RFC 5321 §3.8, §4.2.2)
	replySessionTooLong = "421 timeout: session time limit exceeded (#4.4.2)"
	replyLineTooSlow    = "421 timeout: command line too slow (#4.4.2)"
	replyDataTooSlow    = "421 timeout: data too slow (#4.4.2)"
	replyDropped        = "421 timeout: idle while the server is full (#4.4.2)"
)
