// Command certgate is certgate's one binary. Its first argument picks the
// role: a service (ca-core, and each protocol front-end as it lands), the
// development suite (dev), or the administrator CLI (admin). main only
// parses flags and configuration and calls the role's Run; SIGINT and
// SIGTERM end every role cleanly.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"gopkg.in/yaml.v3"

	cacore "github.com/certgate/certgate/ca-core"
	"github.com/certgate/certgate/internal/admincli"
	"github.com/certgate/certgate/internal/devmode"
	"github.com/certgate/certgate/services/acme"
	"github.com/certgate/certgate/services/est"
	"github.com/certgate/certgate/services/mdmws"
	"github.com/certgate/certgate/services/scep"
	"github.com/certgate/certgate/services/wstep"
)

// role is one subcommand.
type role struct {
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

// roles is the explicit table of what the binary can be.
var roles = map[string]role{
	"ca-core": {"run the authority (gRPC, mutual TLS)", runCACore},
	"acme":    {"run the ACME (RFC 8555) service", runACME},
	"est":     {"run the EST (RFC 7030) service", runEST},
	"scep":    {"run the SCEP (RFC 8894) service, with Microsoft Intune validation", runSCEP},
	"mdmws":   {"run the MDM web service (challenges, PKCS#12) for Jamf, Workspace ONE, Ivanti, MaaS360", runMDMWS},
	"wstep":   {"run the Windows enrollment service (MS-XCEP policy, MS-WSTEP enrollment)", runWSTEP},
	"dev":     {"run the whole suite on loopback with embedded defaults", runDev},
	"admin":   {"administer tenants, CAs, profiles, endpoints and certificates", runAdmin},
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "certgate:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(stderr)
		if len(args) == 0 {
			return errors.New("no role given")
		}
		return flag.ErrHelp
	}
	r, ok := roles[args[0]]
	if !ok {
		usage(stderr)
		return fmt.Errorf("unknown role %q", args[0])
	}
	return r.run(ctx, args[1:], stdout, stderr)
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: certgate <role> [flags]")
	for _, name := range []string{"ca-core", "acme", "est", "scep", "mdmws", "wstep", "dev", "admin"} {
		fmt.Fprintf(w, "  %-8s %s\n", name, roles[name].summary)
	}
}

func runCACore(ctx context.Context, args []string, _, stderr io.Writer) error {
	fs := flag.NewFlagSet("certgate ca-core", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "/etc/certgate/ca-core.yaml", "configuration file (YAML); CERTGATE_* environment variables override it")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := cacore.LoadConfig(*path)
	if err != nil {
		return err
	}
	return cacore.Run(ctx, cfg, cacore.Options{Logger: cacore.NewLogger(stderr, cfg.Log, cfg.LogFormat)})
}

func runACME(ctx context.Context, args []string, _, stderr io.Writer) error {
	fs := flag.NewFlagSet("certgate acme", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "/etc/certgate/acme.yaml", "configuration file (YAML)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var cfg acme.Config
	if err := loadYAML(*path, &cfg); err != nil {
		return err
	}
	log := cacore.NewLogger(stderr, cfg.Log, "text")
	return acme.Run(ctx, cfg, acme.Options{Logger: log})
}

func runEST(ctx context.Context, args []string, _, stderr io.Writer) error {
	fs := flag.NewFlagSet("certgate est", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "/etc/certgate/est.yaml", "configuration file (YAML)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var cfg est.Config
	if err := loadYAML(*path, &cfg); err != nil {
		return err
	}
	return est.Run(ctx, cfg, est.Options{Logger: cacore.NewLogger(stderr, cfg.Log, "text")})
}

func runSCEP(ctx context.Context, args []string, _, stderr io.Writer) error {
	fs := flag.NewFlagSet("certgate scep", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "/etc/certgate/scep.yaml", "configuration file (YAML)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var cfg scep.Config
	if err := loadYAML(*path, &cfg); err != nil {
		return err
	}
	return scep.Run(ctx, cfg, scep.Options{Logger: cacore.NewLogger(stderr, cfg.Log, "text")})
}

func runMDMWS(ctx context.Context, args []string, _, stderr io.Writer) error {
	fs := flag.NewFlagSet("certgate mdmws", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "/etc/certgate/mdmws.yaml", "configuration file (YAML)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var cfg mdmws.Config
	if err := loadYAML(*path, &cfg); err != nil {
		return err
	}
	return mdmws.Run(ctx, cfg, mdmws.Options{Logger: cacore.NewLogger(stderr, cfg.Log, "text")})
}

func runWSTEP(ctx context.Context, args []string, _, stderr io.Writer) error {
	fs := flag.NewFlagSet("certgate wstep", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "/etc/certgate/wstep.yaml", "configuration file (YAML)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var cfg wstep.Config
	if err := loadYAML(*path, &cfg); err != nil {
		return err
	}
	return wstep.Run(ctx, cfg, wstep.Options{Logger: cacore.NewLogger(stderr, cfg.Log, "text")})
}

// loadYAML decodes a role's configuration strictly: unknown keys are errors.
func loadYAML(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

func runDev(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("certgate dev", flag.ContinueOnError)
	fs.SetOutput(stderr)
	data := fs.String("data", ".certgate-dev", "data directory; a second run reuses it")
	http01 := fs.Int("acme-http01-port", 5002, "port the ACME validator connects to for http-01")
	tlsalpn := fs.Int("acme-tlsalpn01-port", 5001, "port the ACME validator connects to for tls-alpn-01")
	resolver := fs.String("acme-resolver", "", "DNS server (host:port) the ACME validator asks for dns-01 and names; default the system's")
	if err := fs.Parse(args); err != nil {
		return err
	}
	return devmode.Run(ctx, devmode.Config{DataDir: *data, Stdout: stdout, Logger: cacore.NewLogger(stderr, "info", "text"),
		ACMEHTTP01Port: *http01, ACMETLSALPN01Port: *tlsalpn, ACMEResolver: *resolver})
}

func runAdmin(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return admincli.Run(ctx, args, os.Getenv, stdout, stderr)
}
