// Command zest-api serves the Zest Partner API, administers its tenants, and
// imports a partner's file of investors into a running server.
//
// `zest-api help` lists the commands and the environment variables;
// `zest-api help COMMAND` (or `zest-api COMMAND --help`) shows a command's
// arguments and flags. See README.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"text/tabwriter"

	"github.com/zestequity/zest-api/internal/config"
)

// streams are where a command writes: its results on stdout, logs and
// progress on stderr.
type streams struct{ stdout, stderr io.Writer }

// runner runs a command once its flags are parsed.
type runner func(ctx context.Context, pos []string, out streams) error

// command is one thing zest-api does. Its help is built from these fields
// and from the flags that setup defines, so that the help cannot drift from
// what is parsed.
type command struct {
	name    string // as typed: "serve", "tenants create"
	args    string // its positional arguments, as its usage shows them
	nargs   int
	summary string // one line, for the list of commands
	about   string // its own help, after the usage line
	setup   func(fs *flag.FlagSet) runner
}

// commands are listed in this order by the usage.
var commands = []*command{
	serveCommand,
	workerCommand,
	migrateCommand,
	checkCommand,
	tenantsCreateCommand,
	tenantsProvisionCommand,
	tenantsSuspendCommand,
	tokensCreateCommand,
	tokensListCommand,
	tokensRevokeCommand,
	keysAddCommand,
	keysListCommand,
	keysJWKSCommand,
	keysJWKSRemoveCommand,
	keysRevokeCommand,
	keysGenerateCommand,
	spvsCreateCommand,
	spvsListCommand,
	spvsCloseCommand,
	subscriptionsCompleteCommand,
	importCommand,
}

// usageError is a command line that cannot be run: main prints it with the
// usage of topic (a command or a group of commands; empty for all) and
// exits 2.
type usageError struct{ topic, msg string }

func (e *usageError) Error() string { return e.msg }

// exitError ends the process with its own status, for commands whose exit
// status says more than success or failure.
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	err := run(ctx, os.Args[1:], streams{os.Stdout, os.Stderr})
	var ue *usageError
	var ee *exitError
	switch {
	case err == nil:
	case errors.As(err, &ue):
		fmt.Fprintf(os.Stderr, "zest-api: %s\n\n", ue.msg)
		printUsage(os.Stderr, ue.topic, false)
		os.Exit(2)
	case errors.As(err, &ee):
		fmt.Fprintf(os.Stderr, "zest-api: %s\n", ee.msg)
		os.Exit(ee.code)
	default:
		fmt.Fprintf(os.Stderr, "zest-api: %v\n", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, out streams) error {
	if len(args) == 0 {
		args = []string{serveCommand.name}
	}
	if isHelp(args[0]) {
		return help(args[1:], out.stdout)
	}
	if len(args) > 1 {
		if c := find(args[0] + " " + args[1]); c != nil {
			return c.run(ctx, args[2:], out)
		}
	}
	if c := find(args[0]); c != nil {
		return c.run(ctx, args[1:], out)
	}
	if subs := subcommands(args[0]); len(subs) > 0 {
		switch {
		case len(args) == 1:
			return &usageError{args[0], fmt.Sprintf("%s needs a subcommand: %s", args[0], orList(subs))}
		case isHelp(args[1]):
			return help(args[:1], out.stdout)
		}
		return &usageError{args[0], fmt.Sprintf("unknown %s subcommand %q; the subcommands are %s", args[0], args[1], orList(subs))}
	}
	return &usageError{"", fmt.Sprintf("unknown command %q", args[0])}
}

func isHelp(arg string) bool {
	return arg == "help" || arg == "-h" || arg == "-help" || arg == "--help"
}

// help prints the help of the topic named by words (all commands when
// there are none) on w.
func help(words []string, w io.Writer) error {
	topic := strings.Join(words, " ")
	if topic != "" && find(topic) == nil && len(subcommands(topic)) == 0 {
		return &usageError{"", fmt.Sprintf("no help for %q: there is no such command", topic)}
	}
	printUsage(w, topic, true)
	return nil
}

func find(name string) *command {
	for _, c := range commands {
		if c.name == name {
			return c
		}
	}
	return nil
}

// subcommands returns the subcommands of group, such as "tenants".
func subcommands(group string) []string {
	var subs []string
	for _, c := range commands {
		if g, sub, ok := strings.Cut(c.name, " "); ok && g == group {
			subs = append(subs, sub)
		}
	}
	return subs
}

func orList(words []string) string {
	if len(words) < 2 {
		return strings.Join(words, "")
	}
	return strings.Join(words[:len(words)-1], ", ") + " or " + words[len(words)-1]
}

// run parses the command's flags, wherever they appear among its
// arguments, and runs it.
func (c *command) run(ctx context.Context, args []string, out streams) error {
	fs := c.flagSet()
	exec := c.setup(fs)
	var pos []string
	for {
		err := fs.Parse(args)
		if errors.Is(err, flag.ErrHelp) {
			c.printUsage(out.stdout, true)
			return nil
		}
		if err != nil {
			return &usageError{c.name, err.Error()}
		}
		if fs.NArg() == 0 {
			break
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(pos) != c.nargs {
		if c.nargs == 0 {
			return &usageError{c.name, fmt.Sprintf("%s takes no argument, got %q", c.name, strings.Join(pos, " "))}
		}
		return &usageError{c.name, fmt.Sprintf("%s takes the argument %s, got %d argument(s)", c.name, c.args, len(pos))}
	}
	return exec(ctx, pos, out)
}

func (c *command) flagSet() *flag.FlagSet {
	fs := flag.NewFlagSet(c.name, flag.ContinueOnError)
	// Errors and help are printed by main and printUsage, with the
	// command's own usage.
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

// printUsage prints the usage of topic (a command, a group of commands, or
// every command when empty); long adds what each command is for, and the
// environment.
func printUsage(w io.Writer, topic string, long bool) {
	if c := find(topic); c != nil {
		c.printUsage(w, long)
		return
	}
	command := "COMMAND"
	if topic != "" {
		command = topic + " SUBCOMMAND"
	}
	fmt.Fprintf(w, "Usage:\n  zest-api %s [ARGUMENTS] [FLAGS]\n\nCommands:\n", command)
	tw := tabwriter.NewWriter(w, 0, 4, 3, ' ', 0)
	for _, c := range commands {
		if topic == "" || strings.HasPrefix(c.name, topic+" ") {
			fmt.Fprintf(tw, "  zest-api %s\t%s\n", strings.TrimSpace(c.name+" "+c.args), c.summary)
		}
	}
	tw.Flush()
	fmt.Fprintf(w, "\n`zest-api help %s` or `zest-api %s --help` shows its flags.\n", command, command)
	if topic != "" || !long {
		return
	}
	fmt.Fprint(w, "\nEnvironment (read by every command but import), with defaults:\n")
	tw = tabwriter.NewWriter(w, 0, 4, 3, ' ', 0)
	for _, v := range config.Vars {
		def := v.Default
		if def == "" {
			def = "unset"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", v.Name, def, v.Meaning)
	}
	tw.Flush()
	fmt.Fprint(w, "\nREADME.md says more.\n")
}

// printUsage prints the command's usage line and flags; long adds what it
// is for.
func (c *command) printUsage(w io.Writer, long bool) {
	fs := c.flagSet()
	c.setup(fs)
	line := "zest-api " + c.name
	hasFlags := false
	fs.VisitAll(func(*flag.Flag) { hasFlags = true })
	if hasFlags {
		line += " [FLAGS]"
	}
	if c.args != "" {
		line += " " + c.args
	}
	fmt.Fprintf(w, "Usage:\n  %s\n\n%s\n", line, c.summary)
	if long && c.about != "" {
		fmt.Fprintf(w, "\n%s\n", strings.TrimSpace(c.about))
	}
	fmt.Fprint(w, "\nFlags:\n")
	tw := tabwriter.NewWriter(w, 0, 4, 3, ' ', 0)
	fs.VisitAll(func(f *flag.Flag) {
		value, usage := flag.UnquoteUsage(f)
		name := "--" + f.Name
		if value != "" {
			name += " " + strings.ToUpper(value)
		}
		if f.DefValue != "" && f.DefValue != "0" && f.DefValue != "false" {
			usage += fmt.Sprintf(" (default %s)", f.DefValue)
		}
		fmt.Fprintf(tw, "  %s\t%s\n", name, usage)
	})
	fmt.Fprintf(tw, "  -h, --help\tprint this help\n")
	tw.Flush()
}
