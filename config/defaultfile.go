package config

import (
	"bufio"
	"io"
	"strings"
)

// WriteDefaultFile writes the configuration file qsend install puts in
// /etc/qsend/qsend.yaml: every key with its paragraph from the reference as
// a comment and its default. Keys that are also qmail control files, and
// keys whose default depends on the machine (me and what follows it), are
// written commented out: set in the file they would override the control
// file (the order of sources in the package comment). Loading the file
// gives the same values as no file at all.
func WriteDefaultFile(w io.Writer) error {
	bw := bufio.NewWriter(w)
	bw.WriteString("# qsend configuration (qsend.yaml(5)). Every key is shown at its default:\n" +
		"# a key left commented out keeps its default, and a key that is also a\n" +
		"# qmail control file is then read from control_dir.\n")
	// A section is written once its keys are known: one whose keys are
	// all commented out is commented out too (an empty mapping is an error).
	var section string
	var block strings.Builder
	active := false
	flush := func() {
		if section != "" {
			head := section + ":"
			if !active {
				head = "# " + head
			}
			bw.WriteString("\n" + head + "\n")
		}
		bw.WriteString(block.String())
		block.Reset()
		active = false
	}
	for _, k := range keysBySection() {
		sec, name, ok := strings.Cut(k.name, ".")
		indent := "  "
		if !ok {
			sec, name, indent = "", k.name, ""
		}
		if sec != section || sec == "" {
			flush()
			section = sec
		}
		block.WriteString("\n")
		writeComment(&block, indent, k.doc)
		value, commented := defaultFileValue(k)
		if commented {
			block.WriteString(indent + "# " + name + ": " + value + "\n")
			continue
		}
		active = true
		block.WriteString(indent + name + ": " + value + "\n")
	}
	flush()
	return bw.Flush()
}

// defaultFileValue returns k's default as YAML, and whether the line must
// stay commented out.
func defaultFileValue(k *keyDef) (string, bool) {
	switch {
	case k.me && k.kind == kList:
		return "[me]   # the effective me", true
	case k.me:
		return "me   # the effective me", true
	case k.name == "me":
		return "the host name", true
	case k.def == "" && (k.kind == kList || k.kind == kAddrList):
		return "[]   # none", true
	}
	v, err := k.parseText(k.def)
	if err != nil {
		panic("config: default of " + k.name + ": " + err.Error())
	}
	s := formatValue(v)
	if k.control {
		return s + "   # else control_dir/" + k.name, true
	}
	return s, false
}

// writeComment writes text as "# " lines of at most about 78 columns.
func writeComment(w *strings.Builder, indent, text string) {
	line := indent + "#"
	for _, word := range strings.Fields(text) {
		if len(line)+1+len(word) > 78 && line != indent+"#" {
			w.WriteString(line + "\n")
			line = indent + "#"
		}
		line += " " + word
	}
	w.WriteString(line + "\n")
}

// keysBySection returns the key table with each section's keys together,
// sections in the order of their first key.
func keysBySection() []*keyDef {
	var order []string
	groups := map[string][]*keyDef{}
	for i := range keys {
		k := &keys[i]
		sec, _, ok := strings.Cut(k.name, ".")
		if !ok {
			sec = "." + k.name // a key of its own
		}
		if _, seen := groups[sec]; !seen {
			order = append(order, sec)
		}
		groups[sec] = append(groups[sec], k)
	}
	out := make([]*keyDef, 0, len(keys))
	for _, sec := range order {
		out = append(out, groups[sec]...)
	}
	return out
}
