// Package certrelay decides qmail-tls client-certificate relaying
// (qmail-tls qmail-smtpd.c tls_verify(); README.starttls): a client whose certificate
// verifies against control/clientca.pem, is not revoked by
// control/clientcrl.pem, and carries an e-mail address listed in
// control/tlsclients may relay as if RELAYCLIENT were set.
//
// qmail-tls renegotiates to ask for the certificate at the first RCPT that
// rcpthosts refuses; Go's TLS server cannot renegotiate, so smtpd requests
// (without requiring) a certificate in the handshake whenever Active
// reports that tlsclients exists, with ClientCAs as the acceptable CAs,
// and calls Check where qmail-tls would renegotiate (qmail-tls
// qmail-smtpd.c tls_verify()).
//
// The refusal reasons are qmail-tls's, which are OpenSSL's
// X509_verify_cert_error_string texts (OpenSSL 1.x wording, as in the
// qmail-tls era: "self signed certificate") and its own "contains no
// email address" and "email address not in my list of tlsclients".
//
// Deliberate differences from qmail-tls, each toward refusing:
//   - Besides the subject's emailAddress attribute (PKCS #9, the only
//     place qmail-tls looks), rfc822Name subject alternative names are
//     accepted, as current CAs put addresses there.
//   - A clientcrl.pem that exists but holds no parsable CRL makes every
//     check fail with "unable to get certificate CRL" (qmail-tls then
//     silently checks nothing). When CRLs are loaded every certificate of
//     the chain but the self-signed root needs a CRL from its issuer, as
//     with OpenSSL's X509_V_FLAG_CRL_CHECK_ALL that qmail-tls sets.
//
// tlsclients is matched as qmail's constmap does, ignoring case over the
// whole address. The three files are stat'ed at most once a second and
// read again when they change, so edits apply without a restart.
package certrelay
