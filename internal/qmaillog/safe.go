package qmaillog

// Safe returns s as qmail-send logs addresses and delivery texts: LF
// becomes "/", and "%" and every byte below 33 or above 126 becomes "_"
// (qsutil.c logsafe()). The result is one line
// without spaces, so log tools can split it on whitespace.
func Safe(s string) string {
	b := []byte(s)
	for i, c := range b {
		switch {
		case c == '\n':
			b[i] = '/'
		case c == '%' || c < 33 || c > 126:
			b[i] = '_'
		}
	}
	return string(b)
}

// oneLine keeps a free-form message on one line without hiding its
// spaces: LF becomes "/" as in Safe, other control bytes "_".
func oneLine(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 32 || c == 127 {
			b := []byte(s)
			for j, c := range b[i:] {
				switch {
				case c == '\n':
					b[i+j] = '/'
				case c < 32 || c == 127:
					b[i+j] = '_'
				}
			}
			return string(b)
		}
	}
	return s
}
