package ciphers

import "crypto/tls"

// attr is a bit set of the properties OpenSSL's cipher aliases select on
// (ciphers(1), "CIPHER SUITE NAMES" and the alias list).
type attr uint32

const (
	kECDHE      attr = 1 << iota // ephemeral ECDH key exchange
	kRSA                         // RSA key exchange
	aRSA                         // RSA authentication
	aECDSA                       // ECDSA authentication
	encAES128                    // AES with a 128-bit key, CBC or GCM
	encAES256                    // AES with a 256-bit key, CBC or GCM
	encAESGCM                    // AES in GCM mode
	encCHACHA20                  // ChaCha20-Poly1305
	ench3DES                     // triple DES
	encRC4                       // RC4
	macSHA1                      // HMAC-SHA1
	macSHA256                    // HMAC-SHA256 (not the PRF hash of an AEAD suite, as in OpenSSL)
	macSHA384                    // HMAC-SHA384 (idem)
	macAEAD                      // an AEAD cipher, no separate MAC
	protoTLS1                    // usable from TLS 1.0 on (OpenSSL min_tls TLSv1)
	protoSSL3                    // usable from SSLv3 on (OpenSSL min_tls SSLv3)
	protoTLS12                   // TLS 1.2 only
	fips                         // in OpenSSL's FIPS alias
	insecure                     // in tls.InsecureCipherSuites: only when named explicitly
)

// suite is one TLS 1.2 cipher suite Go implements, with its OpenSSL name.
type suite struct {
	id       uint16
	name     string // OpenSSL name, as SSL_CIPHER_get_name prints it
	attrs    attr
	strength int // OpenSSL's strength_bits, for @STRENGTH
}

// suites lists every TLS 1.0–1.2 suite crypto/tls implements, in the order
// OpenSSL's "ALL" lists them (ssl_create_cipher_list: ECDHE before the rest,
// AEAD before CBC, TLS 1.2 MACs before SHA-1, stronger before weaker,
// RSA key exchange after ECDHE, 3DES and RC4 last). A bare alias adds
// suites in this order, as OpenSSL does.
var suites = []suite{
	{tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, "ECDHE-ECDSA-AES256-GCM-SHA384", kECDHE | aECDSA | encAES256 | encAESGCM | macAEAD | protoTLS12 | fips, 256},
	{tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, "ECDHE-RSA-AES256-GCM-SHA384", kECDHE | aRSA | encAES256 | encAESGCM | macAEAD | protoTLS12 | fips, 256},
	{tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, "ECDHE-ECDSA-CHACHA20-POLY1305", kECDHE | aECDSA | encCHACHA20 | macAEAD | protoTLS12, 256},
	{tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256, "ECDHE-RSA-CHACHA20-POLY1305", kECDHE | aRSA | encCHACHA20 | macAEAD | protoTLS12, 256},
	{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, "ECDHE-ECDSA-AES128-GCM-SHA256", kECDHE | aECDSA | encAES128 | encAESGCM | macAEAD | protoTLS12 | fips, 128},
	{tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, "ECDHE-RSA-AES128-GCM-SHA256", kECDHE | aRSA | encAES128 | encAESGCM | macAEAD | protoTLS12 | fips, 128},
	{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256, "ECDHE-ECDSA-AES128-SHA256", kECDHE | aECDSA | encAES128 | macSHA256 | protoTLS12 | fips | insecure, 128},
	{tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256, "ECDHE-RSA-AES128-SHA256", kECDHE | aRSA | encAES128 | macSHA256 | protoTLS12 | fips | insecure, 128},
	{tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA, "ECDHE-ECDSA-AES256-SHA", kECDHE | aECDSA | encAES256 | macSHA1 | protoTLS1 | fips, 256},
	{tls.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA, "ECDHE-RSA-AES256-SHA", kECDHE | aRSA | encAES256 | macSHA1 | protoTLS1 | fips, 256},
	{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, "ECDHE-ECDSA-AES128-SHA", kECDHE | aECDSA | encAES128 | macSHA1 | protoTLS1 | fips, 128},
	{tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA, "ECDHE-RSA-AES128-SHA", kECDHE | aRSA | encAES128 | macSHA1 | protoTLS1 | fips, 128},
	{tls.TLS_RSA_WITH_AES_256_GCM_SHA384, "AES256-GCM-SHA384", kRSA | aRSA | encAES256 | encAESGCM | macAEAD | protoTLS12 | fips | insecure, 256},
	{tls.TLS_RSA_WITH_AES_128_GCM_SHA256, "AES128-GCM-SHA256", kRSA | aRSA | encAES128 | encAESGCM | macAEAD | protoTLS12 | fips | insecure, 128},
	{tls.TLS_RSA_WITH_AES_128_CBC_SHA256, "AES128-SHA256", kRSA | aRSA | encAES128 | macSHA256 | protoTLS12 | fips | insecure, 128},
	{tls.TLS_RSA_WITH_AES_256_CBC_SHA, "AES256-SHA", kRSA | aRSA | encAES256 | macSHA1 | protoSSL3 | fips | insecure, 256},
	{tls.TLS_RSA_WITH_AES_128_CBC_SHA, "AES128-SHA", kRSA | aRSA | encAES128 | macSHA1 | protoSSL3 | fips | insecure, 128},
	{tls.TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA, "ECDHE-RSA-DES-CBC3-SHA", kECDHE | aRSA | ench3DES | macSHA1 | protoTLS1 | insecure, 112},
	{tls.TLS_RSA_WITH_3DES_EDE_CBC_SHA, "DES-CBC3-SHA", kRSA | aRSA | ench3DES | macSHA1 | protoSSL3 | insecure, 112},
	{tls.TLS_ECDHE_ECDSA_WITH_RC4_128_SHA, "ECDHE-ECDSA-RC4-SHA", kECDHE | aECDSA | encRC4 | macSHA1 | protoTLS1 | insecure, 128},
	{tls.TLS_ECDHE_RSA_WITH_RC4_128_SHA, "ECDHE-RSA-RC4-SHA", kECDHE | aRSA | encRC4 | macSHA1 | protoTLS1 | insecure, 128},
	{tls.TLS_RSA_WITH_RC4_128_SHA, "RC4-SHA", kRSA | aRSA | encRC4 | macSHA1 | protoSSL3 | insecure, 128},
}

// selector describes an alias: a suite belongs to it when it has at least
// one bit of anyOf (or anyOf is zero) and every bit of allOf.
type selector struct {
	anyOf, allOf attr
}

// aliases maps OpenSSL's alias names (ciphers(1), OpenSSL 1.1/3.x meanings)
// to the suites they select. Aliases select only the suites Go considers
// secure; insecure suites are reached by their explicit names alone.
// Aliases whose suites Go does not implement at all are in noneAliases.
var aliases = map[string]selector{
	"ALL":      {},
	"DEFAULT":  {}, // ALL:!COMPLEMENTOFDEFAULT:!eNULL, which for Go's suites is ALL
	"HIGH":     {anyOf: encAES128 | encAES256 | encCHACHA20},
	"FIPS":     {allOf: fips},
	"kECDHE":   {allOf: kECDHE},
	"kEECDH":   {allOf: kECDHE},
	"ECDHE":    {allOf: kECDHE},
	"EECDH":    {allOf: kECDHE},
	"kRSA":     {allOf: kRSA},
	"RSA":      {allOf: kRSA}, // "RSA is an alias for kRSA" (ciphers(1))
	"aRSA":     {allOf: aRSA},
	"aECDSA":   {allOf: aECDSA},
	"ECDSA":    {allOf: aECDSA},
	"AES":      {anyOf: encAES128 | encAES256},
	"AES128":   {allOf: encAES128},
	"AES256":   {allOf: encAES256},
	"AESGCM":   {allOf: encAESGCM},
	"CHACHA20": {allOf: encCHACHA20},
	"3DES":     {allOf: ench3DES},
	"RC4":      {allOf: encRC4},
	"SHA1":     {allOf: macSHA1},
	"SHA":      {allOf: macSHA1},
	"SHA256":   {allOf: macSHA256},
	"SHA384":   {allOf: macSHA384},
	"AEAD":     {allOf: macAEAD},
	"TLSv1.2":  {allOf: protoTLS12},
	"TLSv1":    {allOf: protoTLS1},
	"TLSv1.0":  {allOf: protoTLS1},
	"SSLv3":    {allOf: protoSSL3},
	"MEDIUM":   {anyOf: ench3DES | encRC4},
}

// noneAliases are OpenSSL aliases that select nothing Go implements: key
// exchanges, ciphers and digests crypto/tls lacks, and the sets of ciphers
// OpenSSL itself excludes from DEFAULT.
var noneAliases = map[string]bool{
	"COMPLEMENTOFDEFAULT": true, "COMPLEMENTOFALL": true,
	"LOW": true, "EXPORT": true, "EXP": true, "EXPORT40": true, "EXPORT56": true,
	"eNULL": true, "NULL": true, "aNULL": true, "ADH": true, "AECDH": true,
	"kDHE": true, "kEDH": true, "DHE": true, "EDH": true, "DH": true, "kDH": true,
	"kDHr": true, "kDHd": true, "kECDHr": true, "kECDHe": true, "kECDH": true, "ECDH": true,
	"aDSS": true, "DSS": true, "aDH": true, "aECDH": true, "aGOST": true, "aGOST01": true,
	"kGOST": true, "GOST94": true, "GOST89MAC": true, "kPSK": true, "kECDHEPSK": true,
	"kDHEPSK": true, "kRSAPSK": true, "PSK": true, "aPSK": true, "kSRP": true, "SRP": true,
	"aSRP": true, "kKRB5": true, "aKRB5": true, "KRB5": true, "kFZA": true, "aFZA": true,
	"eFZA": true, "FZA": true, "DES": true, "RC2": true, "IDEA": true, "SEED": true,
	"CAMELLIA": true, "CAMELLIA128": true, "CAMELLIA256": true, "ARIA": true,
	"ARIA128": true, "ARIA256": true, "ARIAGCM": true,
	"AESCCM": true, "AESCCM8": true, "CCM": true, "CCM8": true,
	"MD5": true, "SSLv2": true, "SUITEB128": true, "SUITEB128ONLY": true,
	"SUITEB128C2": true, "SUITEB192": true,
}

// tls13Names are the TLS 1.3 suites. OpenSSL takes them from a separate
// list (SSL_CTX_set_ciphersuites) and Go does not let them be chosen at
// all; a cipher string that names them is accepted and they add nothing.
var tls13Names = map[string]uint16{
	"TLS_AES_128_GCM_SHA256":       tls.TLS_AES_128_GCM_SHA256,
	"TLS_AES_256_GCM_SHA384":       tls.TLS_AES_256_GCM_SHA384,
	"TLS_CHACHA20_POLY1305_SHA256": tls.TLS_CHACHA20_POLY1305_SHA256,
}
