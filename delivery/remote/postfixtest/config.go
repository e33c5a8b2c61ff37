package postfixtest

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// mainCF returns the instance's main.cf. Everything the instance needs is
// set here so that no file under /etc/postfix is read or changed; keys not
// named keep Postfix's compiled-in defaults (postconf -d).
func mainCF(root string, o Options, uid, gid int) string {
	settings := map[string]string{
		"compatibility_level":   "3.6",
		"config_directory":      root + "/etc",
		"queue_directory":       root + "/queue",
		"data_directory":        root + "/data",
		"maillog_file":          root + "/maillog",
		"maillog_file_prefixes": root,
		// The instance speaks only on loopback over IPv4; 127.0.0.1 is an
		// address of an interface, which inet_interfaces requires.
		"inet_interfaces": "127.0.0.1",
		"inet_protocols":  "ipv4",
		"myhostname":      "mx." + o.Domain,
		"mydomain":        o.Domain,
		"myorigin":        "$myhostname",
		// No client is trusted to relay: the instance behaves like an
		// Internet MX, and bare-LF leniency for mynetworks does not apply.
		"mynetworks":               "",
		"smtpd_relay_restrictions": "reject_unauth_destination",
		// Domain is final here through the virtual delivery agent, which
		// puts every local part into one Maildir (trailing slash).
		"mydestination":           "",
		"virtual_mailbox_domains": o.Domain,
		"virtual_mailbox_base":    root + "/mail",
		"virtual_mailbox_maps":    "static:inbox/",
		"virtual_uid_maps":        fmt.Sprintf("static:%d", uid),
		"virtual_gid_maps":        fmt.Sprintf("static:%d", gid),
		"virtual_minimum_uid":     fmt.Sprint(uid),
		// No table needs the proxymap service, no lookup needs DNS (the
		// machine may have no reachable resolver).
		"alias_maps":             "",
		"alias_database":         "",
		"local_recipient_maps":   "",
		"smtpd_peername_lookup":  "no",
		"smtp_dns_support_level": "disabled",
		"biff":                   "no",
		"append_dot_mydomain":    "no",
		// Tests want answers, not tarpits.
		"smtpd_error_sleep_time": "0",
		"in_flow_delay":          "0",
	}
	if o.TLS {
		settings["smtpd_tls_security_level"] = "may"
		settings["smtpd_tls_cert_file"] = root + "/etc/cert.pem"
		settings["smtpd_tls_key_file"] = root + "/etc/key.pem"
		settings["smtpd_tls_loglevel"] = "1"
		settings["smtpd_tls_received_header"] = "yes"
	}
	maps.Copy(settings, o.Main)

	var b strings.Builder
	b.WriteString("# Private Postfix instance for qsend's interoperability tests.\n")
	for _, k := range slices.Sorted(maps.Keys(settings)) {
		fmt.Fprintf(&b, "%s = %s\n", k, settings[k])
	}
	return b.String()
}

// masterCF returns the instance's master.cf: the services of Debian's
// master.cf.dist that receiving and delivering into the Maildir use, none
// chrooted (the queue directory is not set up as a chroot jail), with the
// SMTP server on port instead of "smtp".
func masterCF(port int) string {
	services := []string{
		// service type private unpriv chroot wakeup maxproc command
		fmt.Sprintf("%d inet n - n - - smtpd", port),
		"pickup unix n - n 60 1 pickup",
		"cleanup unix n - n - 0 cleanup",
		"qmgr unix n - n 300 1 qmgr",
		"tlsmgr unix - - n 1000? 1 tlsmgr",
		"rewrite unix - - n - - trivial-rewrite",
		"bounce unix - - n - 0 bounce",
		"defer unix - - n - 0 bounce",
		"trace unix - - n - 0 bounce",
		"verify unix - - n - 1 verify",
		"flush unix n - n 1000? 0 flush",
		"proxymap unix - - n - - proxymap",
		"proxywrite unix - - n - 1 proxymap",
		"smtp unix - - n - - smtp",
		"relay unix - - n - - smtp",
		"showq unix n - n - - showq",
		"error unix - - n - - error",
		"retry unix - - n - - error",
		"discard unix - - n - - discard",
		"local unix - n n - - local",
		"virtual unix - n n - - virtual",
		"lmtp unix - - n - - lmtp",
		"anvil unix - - n - 1 anvil",
		"scache unix - - n - 1 scache",
		// maillog_file is written by postlogd, reached over this socket.
		"postlog unix-dgram n - n - 1 postlogd",
	}
	return "# Private Postfix instance for qsend's interoperability tests.\n" +
		strings.Join(services, "\n") + "\n"
}
