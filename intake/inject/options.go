package inject

// Recipients says where qmail-inject takes the envelope recipients from
// (qmail-inject.8).
type Recipients int

const (
	// RecipDefault (-A) takes the arguments if there are any, else the
	// header.
	RecipDefault Recipients = iota
	// RecipArgs (-a) takes the arguments only.
	RecipArgs
	// RecipHeader (-h) takes the header only; arguments are ignored.
	RecipHeader
	// RecipBoth (-H) takes the arguments and the header.
	RecipBoth
)

// Options are qmail-inject's command-line options.
type Options struct {
	Recipients Recipients
	// Print (-n) asks for the message on stdout, after a Return-Path
	// line, instead of queueing it.
	Print bool
	// Sender (-f), when SenderSet, is the envelope sender before
	// rewriting; it overrides Return-Path and the environment.
	Sender    string
	SenderSet bool
	// Args are the arguments after the options: recipients.
	Args []string
}

// ParseArgs reads qmail-inject's command line, without the program name,
// with qmail's getopt string "aAhHnNf:". Any other option is an *Error
// with exit status 100 and sgetopt's complaint
// ("qmail-inject: illegal option -- x").
func ParseArgs(args []string) (Options, error) {
	var o Options
	g := &getopt{args: args, opts: "aAhHnNf:"}
	for {
		c, ok := g.next()
		if !ok {
			break
		}
		switch c {
		case 'a':
			o.Recipients = RecipArgs
		case 'A':
			o.Recipients = RecipDefault
		case 'h':
			o.Recipients = RecipHeader
		case 'H':
			o.Recipients = RecipBoth
		case 'n':
			o.Print = true
		case 'N':
			o.Print = false
		case 'f':
			o.Sender, o.SenderSet = g.arg, true
		default:
			return Options{}, &Error{Code: ExitPermanent, Msg: g.complaint("qmail-inject")}
		}
	}
	o.Args = g.rest()
	return o, nil
}
