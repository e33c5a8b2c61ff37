package smtpd

import (
	"slices"
	"strings"

	"github.com/qsend/qsend/internal/envelope"
)

// rcptAllowed reports whether a client that may not relay may send to
// addr. With rcpthosts: an address without '@' is allowed (qmail-send
// will add envnoathost), otherwise its lower-cased domain must be an entry
// or have a ".suffix" entry (qmail-smtpd.c addrallowed(), rcpthosts.c: the
// whole domain, then each suffix starting at a dot). Without rcpthosts
// (a deliberate deviation: qmail allows everything) the domain must be
// one of Locals, exactly, as qmail-send matches locals.
func (o *Options) rcptAllowed(addr string) bool {
	_, domain, ok := envelope.Split(addr)
	if !ok {
		return true
	}
	domain = strings.ToLower(domain)
	if o.Rcpthosts == nil {
		return slices.Contains(o.Locals, domain)
	}
	return domainListed(o.Rcpthosts, domain)
}

// domainListed walks domain's labels: "a.b.c", then ".b.c", then ".c".
func domainListed(set DomainSet, domain string) bool {
	for i := 0; i < len(domain); i++ {
		if (i == 0 || domain[i] == '.') && set.Contains(domain[i:]) {
			return true
		}
	}
	return false
}
