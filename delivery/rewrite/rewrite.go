// Package rewrite is qmail-send's address rewriting: it decides whether a
// recipient is delivered locally or remotely, and how its address reads
// for the local channel (qmail-send.c rewrite()).
package rewrite

import (
	"fmt"
	"strings"

	"github.com/qsend/qsend/internal/envelope"
)

// Rules are the control files the rewrite reads.
type Rules struct {
	envNoAtHost string
	percentHack map[string]bool
	locals      map[string]bool
	virtual     map[string]string // key (address, domain, .suffix or "") → prepend
}

// New builds Rules from envnoathost and the lines of locals, percenthack
// and virtualdomains. A virtualdomains line without ':' is an error naming
// it.
func New(envNoAtHost string, locals, percentHack, virtualDomains []string) (*Rules, error) {
	r := &Rules{
		envNoAtHost: envNoAtHost,
		percentHack: set(percentHack),
		locals:      set(locals),
		virtual:     make(map[string]string, len(virtualDomains)),
	}
	for i, line := range virtualDomains {
		key, prepend, ok := strings.Cut(line, ":")
		if !ok {
			return nil, fmt.Errorf("virtualdomains entry %d %q: no ':' between the domain and the prepend", i+1, line)
		}
		key = strings.ToLower(key)
		if _, dup := r.virtual[key]; !dup { // qmail's constmap: the first line wins
			r.virtual[key] = prepend
		}
	}
	return r, nil
}

func set(lines []string) map[string]bool {
	m := make(map[string]bool, len(lines))
	for _, l := range lines {
		m[strings.ToLower(l)] = true
	}
	return m
}

// Rewrite returns whether addr is delivered locally and the address as the
// channel sees it: for a virtual domain with a prepend, "prepend-addr".
func (r *Rules) Rewrite(addr string) (local bool, out string) {
	// No '@': append @envnoathost.
	if !strings.Contains(addr, "@") {
		addr += "@" + r.envNoAtHost
	}
	// percenthack: while the domain is listed, the rightmost '%' of the
	// local part becomes the new '@' and the old domain is dropped.
	for {
		local, domain, _ := envelope.Split(addr)
		if !r.percentHack[strings.ToLower(domain)] {
			break
		}
		pct := strings.LastIndexByte(local, '%')
		if pct < 0 {
			break
		}
		addr = local[:pct] + "@" + local[pct+1:]
	}
	_, domain, _ := envelope.Split(addr)
	domain = strings.ToLower(domain)
	if r.locals[domain] {
		return true, addr
	}
	// virtualdomains: the whole address, the domain, each .suffix, then
	// the empty default; the first key present decides.
	lower := strings.ToLower(addr)
	keys := []string{lower, domain}
	for i := 0; i < len(domain); i++ {
		if domain[i] == '.' {
			keys = append(keys, domain[i:])
		}
	}
	keys = append(keys, "")
	for _, k := range keys {
		if prepend, ok := r.virtual[k]; ok {
			if prepend == "" {
				return false, addr // an exception: remote after all
			}
			return true, prepend + "-" + addr
		}
	}
	return false, addr
}
