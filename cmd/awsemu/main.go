// Command awsemu serves the in-memory AWS emulator (internal/awsemu) over
// HTTP, for demos and end-to-end tests of tools such as packer and the aws
// CLI.
//
// Usage:
//
//	awsemu [--addr 127.0.0.1:0] [--addr-file PATH] [--pending-delay 300ms] [--quiet]
//
// Clients sign requests as usual; the access key decides the account (its
// last 12 characters if they are digits, else 123456789012) and the signing
// region the region, and the signing service the service (EC2 and STS, one
// endpoint for all). Once listening, awsemu prints the endpoint URL on
// stdout and, with --addr-file, writes it atomically to PATH. Each call is
// logged on stderr unless --quiet. SIGINT or SIGTERM shut it down gracefully.
//
// Exit status: 0 after a signal-initiated shutdown, 1 if serving failed, 2
// for bad usage.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/ami-bakery/ami-bakery/internal/awsemu"
)

type options struct {
	addr         string
	addrFile     string
	pendingDelay time.Duration
	tagDelay     time.Duration
	quiet        bool
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var opts options
	fs := flag.NewFlagSet("awsemu", flag.ContinueOnError)
	fs.StringVar(&opts.addr, "addr", "127.0.0.1:0", "listen `address`; port 0 picks a free port")
	fs.StringVar(&opts.addrFile, "addr-file", "", "once listening, write the endpoint URL to `path` (atomically)")
	fs.DurationVar(&opts.pendingDelay, "pending-delay", awsemu.DefaultPendingDelay, "how long images, snapshots and instance transitions stay pending")
	fs.DurationVar(&opts.tagDelay, "tag-delay", 0, "how long new tags stay invisible (eventual consistency)")
	fs.BoolVar(&opts.quiet, "quiet", false, "do not log each call on stderr")
	if err := fs.Parse(os.Args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		os.Exit(2)
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "awsemu: error: unexpected argument %q\n", fs.Arg(0))
		os.Exit(2)
	}
	if err := run(ctx, opts, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintf(os.Stderr, "awsemu: error: %v\n", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, opts options, stdout, stderr io.Writer) error {
	// Calls are logged from the server's goroutines, concurrently.
	stderr = &syncWriter{w: stderr}
	emuOpts := awsemu.Options{PendingDelay: opts.pendingDelay, TagVisibilityDelay: opts.tagDelay}
	if !opts.quiet {
		emuOpts.OnCall = func(c awsemu.Call) {
			status := "ok"
			if c.ErrorCode != "" {
				status = c.ErrorCode
			}
			fmt.Fprintf(stderr, "awsemu: %s %s %s %s %s\n", c.Region, c.Account, c.Action, status, c.Duration.Round(time.Microsecond))
		}
	}
	ln, err := net.Listen("tcp", opts.addr)
	if err != nil {
		return fmt.Errorf("failed to listen on %s: %w", opts.addr, err)
	}
	url := "http://" + ln.Addr().String()
	srv := &http.Server{Handler: awsemu.New(emuOpts), ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()

	if opts.addrFile != "" {
		if err := writeAtomic(opts.addrFile, url+"\n"); err != nil {
			_ = srv.Close()
			return err
		}
	}
	fmt.Fprintln(stdout, url)
	fmt.Fprintf(stderr, "awsemu: listening on %s\n", url)

	select {
	case err := <-errc:
		return fmt.Errorf("failed to serve: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("failed to shut down: %w", err)
	}
	fmt.Fprintln(stderr, "awsemu: stopped")
	return nil
}

// syncWriter serializes writes to w.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// writeAtomic writes data to a temporary file beside path and renames it, so
// a reader never sees a partial file.
func writeAtomic(path, data string) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".awsemu-addr-*")
	if err != nil {
		return fmt.Errorf("failed to write address file: %w", err)
	}
	if _, err := tmp.WriteString(data); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return fmt.Errorf("failed to write address file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("failed to write address file: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("failed to write address file: %w", err)
	}
	return nil
}
