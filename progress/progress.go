// Package progress shows how far a long operation has got: a status line
// redrawn in place on a terminal and, on anything else (CI logs, pipes,
// files), a plain line every few seconds, because carriage returns make
// logs unreadable. Drawing is driven by the caller's updates, so no
// goroutine is needed.
package progress

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"
)

// Config overrides what New detects about the writer.
type Config struct {
	// Terminal redraws each line in place instead of printing a new one.
	Terminal bool
	// Interval is the least time between two draws of one line
	// (0: 200ms on a terminal, 5s otherwise).
	Interval time.Duration
	// Now is the clock (nil: time.Now); tests set it.
	Now func() time.Time
}

// Printer writes status lines and notes to one writer. A nil *Printer, or
// one made for a nil writer, prints nothing. Its methods are safe for
// concurrent use.
type Printer struct {
	mu       sync.Mutex
	w        io.Writer
	cfg      Config
	lineOpen bool // a terminal line is drawn without its newline yet
}

// New returns a Printer for w, redrawing in place when w is a terminal.
func New(w io.Writer) *Printer {
	return NewConfig(w, Config{Terminal: IsTerminal(w)})
}

// NewConfig returns a Printer for w configured by c.
func NewConfig(w io.Writer, c Config) *Printer {
	if c.Interval <= 0 {
		c.Interval = 5 * time.Second
		if c.Terminal {
			c.Interval = 200 * time.Millisecond
		}
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return &Printer{w: w, cfg: c}
}

// IsTerminal reports whether w is a file open on a terminal.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(interface{ Fd() uintptr })
	return ok && term.IsTerminal(int(f.Fd()))
}

func (p *Printer) silent() bool { return p == nil || p.w == nil }

// Terminal reports whether lines are redrawn in place.
func (p *Printer) Terminal() bool { return !p.silent() && p.cfg.Terminal }

func (p *Printer) now() time.Time {
	if p == nil {
		return time.Now()
	}
	return p.cfg.Now()
}

// Notef prints a line of its own, ending an open status line first so the
// note does not overwrite it.
func (p *Printer) Notef(format string, args ...any) {
	if p.silent() {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.endLine()
	fmt.Fprintf(p.w, format+"\n", args...)
}

func (p *Printer) endLine() {
	if p.lineOpen {
		fmt.Fprintln(p.w)
		p.lineOpen = false
	}
}

// Line is the status of one operation (a download, an evaluation).
type Line struct {
	p           *Printer
	start, last time.Time
	width       int
	finished    bool
}

// Start begins a status line; its first draw comes one interval later.
func (p *Printer) Start() *Line {
	t := p.now()
	return &Line{p: p, start: t, last: t}
}

// Elapsed is the time since Start.
func (l *Line) Elapsed() time.Duration { return l.p.now().Sub(l.start) }

// Update draws the line render returns if an interval has passed since the
// last draw; render is not called otherwise.
func (l *Line) Update(render func() string) {
	p := l.p
	if p.silent() || l.finished {
		return
	}
	now := p.now()
	if now.Sub(l.last) < p.cfg.Interval {
		return
	}
	l.last = now
	l.draw(render(), false)
}

// Finish draws the line's final text and ends it; later calls do nothing.
func (l *Line) Finish(text string) {
	if l.p.silent() || l.finished {
		return
	}
	l.finished = true
	l.draw(text, true)
}

func (l *Line) draw(text string, final bool) {
	p := l.p
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.cfg.Terminal {
		fmt.Fprintln(p.w, text)
		return
	}
	// Spaces clear what a longer previous draw left on the line.
	pad := max(0, l.width-len(text))
	l.width = len(text)
	fmt.Fprintf(p.w, "\r%s%s", text, strings.Repeat(" ", pad))
	p.lineOpen = !final
	if final {
		fmt.Fprintln(p.w)
	}
}

// Bytes formats a byte count in decimal units, as the Hugging Face Hub and
// huggingface_hub's cache scan do: "999 B", "1.5 kB", "261.5 MB".
func Bytes(n int64) string {
	const unit = 1000
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 4; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %cB", float64(n)/float64(div), "kMGTP"[exp])
}
