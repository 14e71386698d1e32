package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/exhibit-archive/exhibit/archive"
	"github.com/exhibit-archive/exhibit/archive/ingest"
	"github.com/mattn/go-isatty"
	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"k8s.io/klog/v2"
)

var (
	klogOnce  sync.Once
	klogLevel slog.LevelVar
)

// globals are the flags every command takes.
type globals struct {
	archive string
	verbose bool
	logger  *slog.Logger
}

func defaultArchive() string {
	if d := os.Getenv("EXHIBIT_ARCHIVE"); d != "" {
		return d
	}
	return "./exhibit-archive"
}

func newRoot() *cobra.Command {
	g := &globals{}
	root := &cobra.Command{
		Use:   "exhibit",
		Short: "A verifiable evidence archive with signed snapshots",
		Long: `exhibit captures a document (a URL or a file) with its provenance, stores its
bytes by SHA-256, logs a signed in-toto statement about it in an append-only
Merkle log (C2SP tlog-tiles, signed checkpoints, optionally cosigned by
witnesses and time-stamped by an RFC 3161 authority), and gives every
capture a record ID, a citation, an evidence bundle anyone can verify
offline and an evidence package for court. It also tracks documents over
time: versions of their text, word diffs, and quoted provisions re-checked
on every new version.`,
		Version:       archive.Version,
		SilenceUsage:  true,
		SilenceErrors: true,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usageError("unknown command %q\nRun 'exhibit --help' for usage.", args[0])
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error { return cmd.Help() },
		PersistentPreRun: func(cmd *cobra.Command, args []string) {
			level := slog.LevelWarn
			if g.verbose {
				level = slog.LevelDebug
			}
			g.logger = slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: level}))
			// Tessera logs through klog, a process-wide logger: route it to
			// slog on stderr once, at the level of this command line.
			klogLevel.Set(level)
			klogOnce.Do(func() {
				klog.SetSlogLogger(slog.New(canceledQuiet{newRepeatQuiet(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: &klogLevel}), time.Now)}))
			})
		},
	}
	root.PersistentFlags().StringVar(&g.archive, "archive", defaultArchive(), "archive directory (env EXHIBIT_ARCHIVE)")
	root.PersistentFlags().BoolVarP(&g.verbose, "verbose", "v", false, "log diagnostics to stderr")
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		return &exitError{code: 2, err: fmt.Errorf("%w\nRun '%s --help' for usage.", err, cmd.CommandPath())}
	})
	root.AddCommand(
		newInitCmd(g),
		newLogKeyCmd(g),
		newKeyCmd(g),
		newCaptureCmd(g),
		newImportCmd(g),
		newProveCmd(g),
		newShowCmd(g),
		newSearchCmd(g),
		newVerifyCmd(g),
		newAuditCmd(g),
		newPruneCmd(g),
		newReindexCmd(g),
		newUpgradeCmd(g),
		newStoreCmd(g),
		newServeCmd(g),
		newTokenCmd(g),
		newMonitorCmd(g),
		newTrackCmd(g),
		newReextractCmd(g),
		newHistoryCmd(g),
		newDiffCmd(g),
		newChangesCmd(g),
		newTextCmd(g),
		newQuoteCmd(g),
		newProvisionsCmd(g),
		newTaxonomyCmd(g),
		newAnalyzeCmd(g),
		newAnalysesCmd(g),
		newAlertsCmd(g),
		newCorroborateCmd(g),
		newExportCmd(g),
	)
	return root
}

// canceledQuiet logs Tessera's errors that only report a cancelled
// context ("NextIndex: failed to read DB: context canceled", at every
// clean shutdown) at debug level: they are no failure. Tessera flattens
// its errors into text (%v), so the text is all there is to match.
type canceledQuiet struct{ slog.Handler }

func (h canceledQuiet) Handle(ctx context.Context, r slog.Record) error {
	if r.Level > slog.LevelDebug && strings.HasSuffix(strings.TrimSpace(r.Message), context.Canceled.Error()) {
		if !h.Handler.Enabled(ctx, slog.LevelDebug) {
			return nil
		}
		r.Level = slog.LevelDebug
	}
	return h.Handler.Handle(ctx, r)
}

func (h canceledQuiet) WithAttrs(as []slog.Attr) slog.Handler {
	return canceledQuiet{h.Handler.WithAttrs(as)}
}

func (h canceledQuiet) WithGroup(name string) slog.Handler {
	return canceledQuiet{h.Handler.WithGroup(name)}
}

// signalContext is cancelled on SIGINT or SIGTERM: the command stops
// reading and writing, keeps what was acknowledged, releases the archive
// and exits with status 130. A second signal exits at once (status 130),
// whatever it is doing: the write lock goes with it, and what was
// acknowledged is durable all the same. (The second signal is caught, not
// left to its default action: a shell starts background jobs with SIGINT
// ignored.) The returned function stops watching for signals.
func signalContext() (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.Background())
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		defer signal.Stop(ch)
		select {
		case <-ch:
			cancel()
		case <-done:
			return
		}
		select {
		case <-ch:
			os.Exit(130)
		case <-done:
		}
	}()
	var once sync.Once
	return ctx, func() {
		cancel()
		once.Do(func() { close(done) })
	}
}

// openWrite opens the archive for writing; with create, a missing archive
// at the default place (--archive not given) is first created with
// defaults, and stderr says so. A missing archive at a directory --archive
// names is an error: a mistyped path would otherwise become a new archive,
// with a new key, holding what was meant for the existing one.
func (g *globals) openWrite(ctx context.Context, cmd *cobra.Command, create bool) (*archive.Archive, error) {
	if create {
		if _, err := archive.ReadConfig(g.archive); errors.Is(err, archive.ErrNoArchive) {
			if cmd.Flags().Changed("archive") {
				return nil, fmt.Errorf("%w: no archive at %s (no %s there): check the path, or run exhibit --archive %s init to create one (only the default archive, without --archive, is created on first use)", archive.ErrInput, g.archive, "exhibit.json", g.archive)
			}
			cfg, err := archive.Init(ctx, g.archive, archive.InitOptions{})
			if err != nil {
				return nil, err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "exhibit: created archive %s (origin %s)\n", g.archive, cfg.Origin)
		}
	}
	return archive.Open(ctx, g.archive, archive.OpenOptions{Write: true, Logger: g.logger})
}

// withRead runs f with the archive opened read-only and a context that
// ends on SIGINT or SIGTERM, and closes the archive after.
func (g *globals) withRead(f func(context.Context, *archive.Archive) error) error {
	ctx, cancel := signalContext()
	defer cancel()
	a, err := g.openRead(ctx)
	if err != nil {
		return err
	}
	defer a.Close(context.Background())
	return f(ctx, a)
}

// withWrite is withRead with the archive opened for writing (see
// openWrite).
func (g *globals) withWrite(cmd *cobra.Command, create bool, f func(context.Context, *archive.Archive) error) error {
	ctx, cancel := signalContext()
	defer cancel()
	a, err := g.openWrite(ctx, cmd, create)
	if err != nil {
		return err
	}
	defer a.Close(context.Background())
	return f(ctx, a)
}

func (g *globals) openRead(ctx context.Context) (*archive.Archive, error) {
	return archive.Open(ctx, g.archive, archive.OpenOptions{Logger: g.logger})
}

// isTerminal reports whether f is a terminal.
func isTerminal(f *os.File) bool {
	return isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd())
}

// newBar returns a progress bar on stderr when it is a terminal, else nil.
func newBar(total int, what string) *progressbar.ProgressBar {
	if !isTerminal(os.Stderr) {
		return nil
	}
	return progressbar.NewOptions(total,
		progressbar.OptionSetWriter(os.Stderr),
		progressbar.OptionSetDescription(what),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetItsString("records"),
		progressbar.OptionThrottle(100_000_000),
		progressbar.OptionClearOnFinish(),
	)
}

// checkOutput validates an --output value.
func checkOutput(v string, allowed ...string) error {
	for _, a := range allowed {
		if v == a {
			return nil
		}
	}
	return usageError("--output %q: want one of %v", v, allowed)
}

// phasedProgress returns a progress callback that shows one bar per phase
// on a terminal (nothing otherwise), labelled by label, and the function
// that ends the last bar.
func phasedProgress(label func(phase string) string) (progress func(phase string, done, total uint64), finish func()) {
	var bar *progressbar.ProgressBar
	phase := ""
	progress = func(p string, done, total uint64) {
		if !isTerminal(os.Stderr) {
			return
		}
		if p != phase || bar == nil {
			if bar != nil {
				bar.Finish()
			}
			bar, phase = newBar(int(total), label(p)), p
		}
		bar.Set(int(done))
	}
	finish = func() {
		if bar != nil {
			bar.Finish()
		}
	}
	return progress, finish
}

// maxSmallFile bounds the key, policy, certificate and state files the
// CLI reads whole.
const maxSmallFile = 1 << 20

// readSmall reads a small input file whole (a key, a witness policy,
// certificates, a monitor's state). Anything but a regular file is
// refused unread (a named pipe would block for ever; a device would not
// end), as is a file over maxSmallFile; both errors wrap archive.ErrInput.
func readSmall(path string) ([]byte, error) {
	f, err := ingest.OpenRegular(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxSmallFile+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxSmallFile {
		return nil, fmt.Errorf("%w: %s is over %d bytes: too large for a key, policy, certificate or state file", archive.ErrInput, path, maxSmallFile)
	}
	return b, nil
}
