#!/usr/bin/python3
# verify.py DNSHOST DNSPORT < message: verifies every DKIM-Signature of the
# message with dkimpy, asking the DNS server at DNSHOST:DNSPORT for the
# keys. Exit 0 when all verify; prints one line per signature.
import sys

import dkim
import dns.resolver

res = dns.resolver.Resolver(configure=False)
res.nameservers = [sys.argv[1]]
res.port = int(sys.argv[2])
res.lifetime = 5


def dnsfunc(name, timeout=5):
    name = name.decode() if isinstance(name, bytes) else name
    ans = res.resolve(name, "TXT")
    return b"".join(b"".join(r.strings) for r in ans)


msg = sys.stdin.buffer.read()
d = dkim.DKIM(msg)
n = len([h for h in d.headers if h[0].lower() == b"dkim-signature"])
if n == 0:
    print("no signature")
    sys.exit(1)
ok = True
for i in range(n):
    good = d.verify(idx=i, dnsfunc=dnsfunc)
    print("signature %d: %s %s" % (i, "pass" if good else "fail", d.signature_fields.get(b"a", b"").decode()))
    ok = ok and good
sys.exit(0 if ok else 1)
