package mtasts

import (
	"errors"
	"fmt"
	"strings"
)

// ErrNoRecord is a domain without a usable _mta-sts TXT record: none, or
// several (RFC 8461 §3.1).
var ErrNoRecord = errors.New("mtasts: no usable _mta-sts TXT record")

// selectRecord picks the policy id from the TXT records of _mta-sts.<domain>:
// records not starting with "v=STSv1" are discarded, exactly one must be
// left, and it must be valid; otherwise the domain has no usable record
// (RFC 8461 §3.1). The version may be followed by white space before the ";"
// (sts-field-delim allows it; RFC 8461 erratum 6285).
func selectRecord(records []string) (string, error) {
	var sts []string
	for _, r := range records {
		if rest, ok := strings.CutPrefix(r, "v=STSv1"); ok &&
			(rest == "" || rest[0] == ';' || rest[0] == ' ' || rest[0] == '\t') {
			sts = append(sts, r)
		}
	}
	if len(sts) != 1 {
		return "", fmt.Errorf("%w: %d records start with v=STSv1", ErrNoRecord, len(sts))
	}
	return parseRecord(sts[0])
}

// parseRecord parses one record and returns its id (RFC 8461 §3.1):
//
//	sts-text-record = sts-version 1*(sts-field-delim sts-field) [sts-field-delim]
//	sts-field-delim = *WSP ";" *WSP
//	sts-id          = %s"id=" 1*32(ALPHA / DIGIT)
//	sts-extension   = sts-ext-name "=" sts-ext-value
func parseRecord(record string) (string, error) {
	fields := strings.Split(record, ";")
	if strings.Trim(fields[0], " \t") != "v=STSv1" || strings.TrimLeft(fields[0], " \t") != fields[0] {
		return "", fmt.Errorf("%w: record %q does not start with v=STSv1", ErrSyntax, record)
	}
	id := ""
	for i, f := range fields[1:] {
		f = strings.Trim(f, " \t")
		if f == "" && i == len(fields)-2 {
			break // the optional trailing delimiter
		}
		name, value, ok := strings.Cut(f, "=")
		switch {
		case !ok || !isFieldName(name) || !validExtValue(value):
			return "", fmt.Errorf("%w: record %q: bad field %q", ErrSyntax, record, f)
		case name != "id":
			continue // extensions are ignored
		case id != "":
			return "", fmt.Errorf("%w: record %q: two ids", ErrSyntax, record)
		case len(value) > 32 || strings.IndexFunc(value, func(c rune) bool { return c > 0x7f || !isAlnum(byte(c)) }) >= 0:
			return "", fmt.Errorf("%w: record %q: id %q is not 1 to 32 letters and digits", ErrSyntax, record, value)
		}
		id = value
	}
	if id == "" {
		return "", fmt.Errorf("%w: record %q has no id", ErrSyntax, record)
	}
	return id, nil
}

// validExtValue checks sts-ext-value = 1*(%x21-3A / %x3C / %x3E-7E): visible
// ASCII except ";" and "=".
func validExtValue(v string) bool {
	if v == "" {
		return false
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < 0x21 || c > 0x7e || c == ';' || c == '=' {
			return false
		}
	}
	return true
}
