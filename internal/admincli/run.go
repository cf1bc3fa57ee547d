package admincli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// Run executes `certgate admin ARGS`: args are the words after "admin".
// env looks up environment variables (os.Getenv in production). Results go
// to stdout, usage and notes to stderr. Run prints no error itself: it
// returns it, and the caller reports it and exits non-zero. Asking for help
// (help, -h) returns nil.
func Run(ctx context.Context, args []string, env func(string) string, stdout, stderr io.Writer) error {
	if env == nil {
		env = func(string) string { return "" }
	}
	c := &cli{env: env, stdout: stdout, stderr: stderr, now: time.Now, g: globals{timeout: defaultTimeout}}
	defer c.close()
	return c.run(ctx, args)
}

// defaultTimeout bounds a whole command, every RPC it makes included.
const defaultTimeout = 30 * time.Second

// UsageError is a command line that cannot be run: an unknown noun, verb or
// flag, a missing argument or an invalid flag value. Nothing was sent to
// ca-core.
type UsageError struct {
	// Msg says what is wrong and how to get help.
	Msg string
}

func (e *UsageError) Error() string { return e.Msg }

func usageErrorf(format string, a ...any) error {
	return &UsageError{Msg: fmt.Sprintf(format, a...)}
}

// cli holds one invocation's state.
type cli struct {
	env    func(string) string
	stdout io.Writer
	stderr io.Writer
	now    func() time.Time
	g      globals
	// sess is the ca-core connection, opened by the first command that
	// needs it.
	sess *session
}

// globals are the flags accepted before the noun and after the verb.
type globals struct {
	endpointsFile string
	addr          string
	caFile        string
	certFile      string
	keyFile       string
	tenant        string
	json          bool
	timeout       time.Duration
}

// globalFlagNames lists the global flags.
func globalFlagNames() []string {
	return []string{"endpoints", "grpc", "ca-file", "cert", "key", "tenant", "json", "timeout"}
}

// register defines the global flags on fs, except those fs already has
// (a verb's own --cert or --key wins after the verb). The current values
// become the defaults, so a value parsed before the noun survives. It
// returns the names it defined.
func (g *globals) register(fs *flag.FlagSet) []string {
	var defined []string
	def := func(name string, f func()) {
		if fs.Lookup(name) == nil {
			f()
			defined = append(defined, name)
		}
	}
	def("endpoints", func() {
		fs.StringVar(&g.endpointsFile, "endpoints", g.endpointsFile, "endpoints.json `file` written by certgate dev (default: $CERTGATE_ENDPOINTS, else "+defaultEndpointsFile+")")
	})
	def("grpc", func() {
		fs.StringVar(&g.addr, "grpc", g.addr, "ca-core gRPC `address` (host:port), overriding endpoints.json")
	})
	def("ca-file", func() {
		fs.StringVar(&g.caFile, "ca-file", g.caFile, "PEM `file` of the CA that signed ca-core's server certificate")
	})
	def("cert", func() { fs.StringVar(&g.certFile, "cert", g.certFile, "administrator client certificate PEM `file`") })
	def("key", func() { fs.StringVar(&g.keyFile, "key", g.keyFile, "administrator client key PEM `file`") })
	def("tenant", func() {
		fs.StringVar(&g.tenant, "tenant", g.tenant, "tenant `ID` (default: endpoints.json's tenant, else \"default\")")
	})
	def("json", func() { fs.BoolVar(&g.json, "json", g.json, "print ca-core's answer as protobuf JSON") })
	def("timeout", func() { fs.DurationVar(&g.timeout, "timeout", g.timeout, "deadline for the whole command") })
	return defined
}

func (c *cli) close() {
	if c.sess != nil {
		_ = c.sess.conn.Close()
	}
}

func (c *cli) newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet("certgate admin "+name, flag.ContinueOnError)
	fs.SetOutput(c.stderr)
	return fs
}

func (c *cli) run(ctx context.Context, args []string) error {
	fs := c.newFlagSet("")
	c.g.register(fs)
	fs.Usage = func() { c.topUsage(fs.Output()) }
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return usageErrorf("admin: %v", err)
	}
	args = fs.Args()
	if len(args) == 0 {
		c.topUsage(c.stderr)
		return usageErrorf("admin: missing command; run 'certgate admin help'")
	}
	if args[0] == "help" {
		return c.help(args[1:])
	}
	n, ok := c.findNoun(args[0])
	if !ok {
		return usageErrorf("admin: unknown command %q; run 'certgate admin help'", args[0])
	}
	if n.name == "revoke" && len(args) > 1 && args[1] == "--bulk" {
		// `certgate admin revoke --bulk ...` reads better than `revoke bulk`.
		args = append([]string{args[0], "bulk"}, args[2:]...)
	}
	return c.runNoun(ctx, n, args[1:])
}

func (c *cli) help(args []string) error {
	if len(args) == 0 {
		c.topUsage(c.stdout)
		return nil
	}
	n, ok := c.findNoun(args[0])
	if !ok {
		return usageErrorf("admin help: unknown command %q", args[0])
	}
	if len(args) == 1 {
		c.nounUsage(c.stdout, n)
		return nil
	}
	v, ok := n.find(args[1])
	if !ok {
		return usageErrorf("admin help: %s has no verb %q", n.name, args[1])
	}
	fs := c.newFlagSet(n.name + " " + v.name)
	v.define(fs)
	globals := c.g.register(fs)
	c.verbUsage(c.stdout, n, v, fs, globals)
	return nil
}

func (c *cli) runNoun(ctx context.Context, n noun, args []string) error {
	fs := c.newFlagSet(n.name)
	c.g.register(fs)
	fs.Usage = func() { c.nounUsage(fs.Output(), n) }
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return usageErrorf("%s: %v", n.name, err)
	}
	args = fs.Args()
	if len(args) == 0 {
		c.nounUsage(c.stderr, n)
		return usageErrorf("%s: missing verb; run 'certgate admin %s help'", n.name, n.name)
	}
	if args[0] == "help" {
		if len(args) > 1 {
			return c.help([]string{n.name, args[1]})
		}
		c.nounUsage(c.stdout, n)
		return nil
	}
	v, ok := n.find(args[0])
	if !ok {
		return usageErrorf("%s: unknown verb %q; run 'certgate admin %s help'", n.name, args[0], n.name)
	}
	return c.runVerb(ctx, n, v, args[1:])
}

func (c *cli) runVerb(ctx context.Context, n noun, v verb, args []string) error {
	name := n.name + " " + v.name
	fs := c.newFlagSet(name)
	act := v.define(fs)
	globals := c.g.register(fs)
	fs.Usage = func() { c.verbUsage(fs.Output(), n, v, fs, globals) }
	if len(args) == 1 && args[0] == "help" {
		c.verbUsage(c.stdout, n, v, fs, globals)
		return nil
	}
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return usageErrorf("%s: %v", name, err)
	}
	if len(pos) != v.nargs {
		switch {
		case v.nargs == 0:
			return usageErrorf("%s: unexpected argument %q; usage: certgate admin %s %s", name, pos[0], name, v.usage)
		case len(pos) < v.nargs:
			return usageErrorf("%s: missing argument; usage: certgate admin %s %s", name, name, v.usage)
		default:
			return usageErrorf("%s: too many arguments; usage: certgate admin %s %s", name, name, v.usage)
		}
	}
	if c.g.timeout < 0 {
		return usageErrorf("%s: --timeout must not be negative", name)
	}
	if c.g.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.g.timeout)
		defer cancel()
	}
	if err := act(ctx, pos); err != nil {
		var ue *UsageError
		if errors.As(err, &ue) {
			return usageErrorf("%s: %s", name, ue.Msg)
		}
		if ctx.Err() != nil && c.sess != nil {
			return fmt.Errorf("%s: %w (no answer from ca-core at %s within --timeout %s)", name, err, c.sess.addr, c.g.timeout)
		}
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

// parseInterspersed parses flags anywhere among the positional arguments
// (`cas csr ID --out F`), which flag.FlagSet.Parse alone does not. "--"
// ends flag parsing.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// action runs a verb once its flags are parsed; args are the positional
// arguments, already counted.
type action func(ctx context.Context, args []string) error

// verb is one `<noun> <verb>` command.
type verb struct {
	name string
	// usage is the synopsis after "certgate admin <noun> <verb>".
	usage   string
	summary string
	// nargs is the exact number of positional arguments.
	nargs int
	// define registers the verb's flags and returns the action reading them.
	define func(fs *flag.FlagSet) action
}

// noun groups the verbs acting on one kind of object.
type noun struct {
	name    string
	summary string
	verbs   []verb
}

func (n noun) find(name string) (verb, bool) {
	for _, v := range n.verbs {
		if v.name == name {
			return v, true
		}
	}
	return verb{}, false
}

// nouns is the command table. It is built on each call, so nothing is
// shared between invocations.
func nouns(c *cli) []noun {
	return []noun{
		tenantsNoun(c),
		casNoun(c),
		profilesNoun(c),
		endpointsNoun(c),
		certsNoun(c),
		endEntitiesNoun(c),
		challengesNoun(c),
		eabNoun(c),
		digitalIDsNoun(c),
		templatesNoun(c),
		pendingNoun(c),
		auditNoun(c),
		revokeNoun(c),
	}
}

func (c *cli) findNoun(name string) (noun, bool) {
	for _, n := range nouns(c) {
		if n.name == name {
			return n, true
		}
	}
	return noun{}, false
}

func (c *cli) topUsage(w io.Writer) {
	fmt.Fprintln(w, "usage: certgate admin [global flags] <noun> <verb> [flags] [args]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Nouns:")
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	for _, n := range nouns(c) {
		names := make([]string, len(n.verbs))
		for i, v := range n.verbs {
			names[i] = v.name
		}
		fmt.Fprintf(tw, "  %s\t%s\t(%s)\n", n.name, n.summary, strings.Join(names, ", "))
	}
	_ = tw.Flush()
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Global flags (before the noun, or after the verb unless the verb has a flag of that name):")
	fs := c.newFlagSet("")
	g := c.g
	names := g.register(fs)
	printFlags(w, fs, func(name string) bool { return slices.Contains(names, name) })
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Run 'certgate admin <noun> help' for a noun's verbs and 'certgate admin <noun> <verb> -h' for a verb's flags.")
}

func (c *cli) nounUsage(w io.Writer, n noun) {
	fmt.Fprintf(w, "usage: certgate admin %s <verb> [flags] [args]\n\n%s.\n\nVerbs:\n", n.name, capitalize(n.summary))
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	for _, v := range n.verbs {
		fmt.Fprintf(tw, "  %s %s\t%s\n", v.name, v.usage, v.summary)
	}
	_ = tw.Flush()
	fmt.Fprintf(w, "\nRun 'certgate admin %s <verb> -h' for a verb's flags and 'certgate admin help' for the global flags.\n", n.name)
}

func (c *cli) verbUsage(w io.Writer, n noun, v verb, fs *flag.FlagSet, globals []string) {
	fmt.Fprintf(w, "usage: certgate admin %s %s %s\n\n%s.\n", n.name, v.name, v.usage, capitalize(v.summary))
	own := func(name string) bool { return !slices.Contains(globals, name) }
	has := false
	fs.VisitAll(func(f *flag.Flag) { has = has || own(f.Name) })
	if has {
		fmt.Fprintln(w, "\nFlags:")
		printFlags(w, fs, own)
	}
	fmt.Fprintln(w, "\nGlobal flags such as --tenant, --json and --timeout are also accepted; see 'certgate admin help'.")
}

// printFlags writes the flags selected by keep in flag.PrintDefaults'
// layout, with double dashes.
func printFlags(w io.Writer, fs *flag.FlagSet, keep func(string) bool) {
	fs.VisitAll(func(f *flag.Flag) {
		if !keep(f.Name) {
			return
		}
		typ, usage := flag.UnquoteUsage(f)
		line := "  --" + f.Name
		if typ != "" {
			line += " " + typ
		}
		line += "\n    \t" + strings.ReplaceAll(usage, "\n", "\n    \t")
		if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "0" && f.DefValue != "[]" {
			line += fmt.Sprintf(" (default %s)", f.DefValue)
		}
		fmt.Fprintln(w, line)
	})
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
