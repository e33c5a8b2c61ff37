package inject

import "strings"

// getopt reads options as qmail's sgetopt does: options cluster ("-af
// sender"), an option's argument is the rest of its word or the next word,
// "--" (or any word starting with "--") ends the options and is skipped,
// and "-" or the first word not starting with "-" ends them and is kept.
type getopt struct {
	args    []string // the arguments, without the program name
	opts    string   // letters, each followed by ':' when it takes an argument
	ind     int      // the word being read
	pos     int      // the letter being read in args[ind]; 0 between words
	arg     string   // the argument of the option just returned
	problem byte     // the option that caused '?'
}

// next returns the next option letter, '?' for an unknown option or a
// missing argument, or false once the options end.
func (g *getopt) next() (byte, bool) {
	g.arg = ""
	if g.ind >= len(g.args) {
		return 0, false
	}
	if g.pos > 0 && g.pos >= len(g.args[g.ind]) {
		g.ind++
		g.pos = 0
		if g.ind >= len(g.args) {
			return 0, false
		}
	}
	w := g.args[g.ind]
	if g.pos == 0 {
		if w == "" || w[0] != '-' {
			return 0, false
		}
		if len(w) == 1 {
			return 0, false // "-" is an argument
		}
		if w[1] == '-' {
			g.ind++
			return 0, false
		}
		g.pos = 1
	}
	c := w[g.pos]
	g.pos++
	i := strings.IndexByte(g.opts, c)
	if c == ':' || i < 0 {
		g.problem = c
		return '?', true
	}
	if i+1 < len(g.opts) && g.opts[i+1] == ':' {
		g.arg = w[g.pos:]
		g.ind++
		g.pos = 0
		if g.arg == "" {
			if g.ind >= len(g.args) {
				g.problem = c
				return '?', true
			}
			g.arg = g.args[g.ind]
			g.ind++
		}
	}
	return c, true
}

// skipWord drops the rest of the word being read, as sendmail does for the
// optional arguments of -E and -J.
func (g *getopt) skipWord() {
	if g.pos > 0 {
		g.pos = len(g.args[g.ind])
	}
}

// rest returns the arguments after the options.
func (g *getopt) rest() []string {
	if g.pos > 0 && g.ind < len(g.args) {
		// Only after a '?' in the middle of a word; the caller stops.
		return g.args[g.ind+1:]
	}
	return g.args[g.ind:]
}

// complaint is sgetopt's message for the last '?'.
func (g *getopt) complaint(prog string) string {
	if g.ind < len(g.args) {
		return prog + ": illegal option -- " + string(g.problem)
	}
	return prog + ": option requires an argument -- " + string(g.problem)
}
