// Package certfile reads certificates the way qmail-tls keeps them: the
// certificate chain and its private key in one PEM file
// (control/servercert.pem, control/clientcert.pem; qmail-tls qmail-remote.c and
// qmail-smtpd.c tls_init()), and CA files such as control/tlshosts/<host>.pem and
// control/clientca.pem. A Reloader serves a certificate file to crypto/tls
// and picks up a replaced file without a restart; a PoolCache does the same
// for CA files.
package certfile
