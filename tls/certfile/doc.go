// Package certfile reads certificates the way qmail-tls keeps them: the
// certificate chain and its private key in one PEM file
// (control/servercert.pem, control/clientcert.pem; qmail-tls qmail-remote.c tls_init(),
// §2.2), and CA files such as control/tlshosts/<host>.pem and
// control/clientca.pem. A Reloader serves a certificate file to crypto/tls
// and picks up a replaced file without a restart; a PoolCache does the same
// for CA files.
package certfile
