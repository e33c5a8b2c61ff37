package tcprules

import (
	"net/netip"

	"github.com/qsend/qsend/smtpd/cdb"
)

// DB is an open rules cdb (tcp.smtp.cdb). Its methods may be called from
// several goroutines at once.
type DB struct {
	db *cdb.DB
}

// Open opens a rules cdb compiled by tcprules or by CompileFile.
func Open(cdbPath string) (*DB, error) {
	db, err := cdb.Open(cdbPath)
	if err != nil {
		return nil, err
	}
	return &DB{db: db}, nil
}

// Close closes the file.
func (d *DB) Close() error { return d.db.Close() }

// Lookup returns the rule tcpserver would follow for a client at ip whose
// host name is remoteHost ($TCPREMOTEHOST) and whose ident answer is
// remoteInfo ($TCPREMOTEINFO); an empty string means the variable is not
// set. ok is false when no rule applies, which tcpserver treats as allow
// with no variables. An error means the cdb could not be read; tcpserver
// then drops the connection, and callers should too.
//
// The keys tried, first match wins (tcprules(1), ADDRESSES; ucspi-tcp-0.88
// rules.c): info@ip, info@=host, ip, =host, the prefixes of ip ending in
// '.' (':' for IPv6) from longest to shortest, the suffixes of host
// starting with '.' as "=.suffix" from longest to shortest, "=", and "".
// Steps that use host or info are skipped when they are empty.
func (d *DB) Lookup(ip netip.Addr, remoteHost, remoteInfo string) (Rule, bool, error) {
	for _, key := range Keys(ip, remoteHost, remoteInfo) {
		data, ok, err := d.db.Get([]byte(key))
		if err != nil {
			return Rule{}, false, err
		}
		if ok {
			return decode(key, data), true, nil
		}
	}
	return Rule{}, false, nil
}

// Keys returns the cdb keys Lookup tries, in order.
func Keys(ip netip.Addr, remoteHost, remoteInfo string) []string {
	// An IPv4-mapped client is looked up as IPv4 (tcprules(1) of the IPv6
	// patch: "::ffff" addresses "will be converted to IPv4 before looking
	// at the rules").
	ip = ip.Unmap().WithZone("")
	var addr string
	if ip.IsValid() {
		addr = ip.String()
	}
	sep := byte('.')
	if ip.Is6() {
		sep = ':'
	}
	var keys []string
	// Without a valid address the address keys are skipped and only the
	// host name rules and the default apply.
	if remoteInfo != "" {
		if addr != "" {
			keys = append(keys, remoteInfo+"@"+addr)
		}
		if remoteHost != "" {
			keys = append(keys, remoteInfo+"@="+remoteHost)
		}
	}
	if addr != "" {
		keys = append(keys, addr)
	}
	if remoteHost != "" {
		keys = append(keys, "="+remoteHost)
	}
	for n := len(addr); n > 0; n-- {
		if addr[n-1] == sep {
			keys = append(keys, addr[:n])
		}
	}
	if remoteHost != "" {
		for i := 0; i < len(remoteHost); i++ {
			if remoteHost[i] == '.' {
				keys = append(keys, "="+remoteHost[i:])
			}
		}
		keys = append(keys, "=")
	}
	return append(keys, "")
}
