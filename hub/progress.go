package hub

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// progress reports downloads to a writer: a bar redrawn in place on a
// terminal, and on anything else (CI logs, pipes) a plain line every few
// seconds, because carriage returns make logs unreadable. Rendering is
// driven by the bytes arriving, so no goroutine is needed.
type progress struct {
	mu       sync.Mutex
	w        io.Writer // nil: silent
	tty      bool
	interval time.Duration
	now      func() time.Time
	lineOpen bool // a terminal bar is drawn without its newline yet
}

func newProgress(w io.Writer) *progress {
	p := &progress{w: w, now: time.Now}
	p.tty = isTerminal(w)
	if p.tty {
		p.interval = 200 * time.Millisecond
	} else {
		p.interval = 5 * time.Second
	}
	return p
}

// isTerminal reports whether w is a file on a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(interface{ Fd() uintptr })
	if !ok {
		return false
	}
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

func (p *progress) notef(format string, args ...any) {
	if p == nil || p.w == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.lineOpen { // end the bar's line so the note does not overwrite it
		fmt.Fprintln(p.w)
		p.lineOpen = false
	}
	fmt.Fprintf(p.w, format+"\n", args...)
}

// bar tracks one file's transfer; it is an io.Writer so it can sit in an
// io.MultiWriter beside the file.
type bar struct {
	p                   *progress
	name                string
	total               int64 // -1 unknown
	start               time.Time
	base                int64 // bytes present before this run (resumed)
	done                int64 // bytes present now
	lastDraw            time.Time
	lastWidth           int
	drewLine, finalised bool
}

func (p *progress) start(name string, total, already int64) *bar {
	b := &bar{p: p, name: name, total: total, base: already, done: already}
	if p != nil {
		b.start = p.now()
		b.lastDraw = b.start
		if already > 0 {
			p.notef("%s: resuming at %s of %s", name, formatBytes(already), formatTotal(total))
		}
	}
	return b
}

// reset is for a server that ignored Range: the count starts over.
func (b *bar) reset() { b.done, b.base = 0, 0 }

func (b *bar) Write(q []byte) (int, error) {
	b.done += int64(len(q))
	if b.p == nil || b.p.w == nil {
		return len(q), nil
	}
	if now := b.p.now(); now.Sub(b.lastDraw) >= b.p.interval {
		b.lastDraw = now
		b.draw(false)
	}
	return len(q), nil
}

func (b *bar) finish() {
	if b.p == nil || b.p.w == nil || b.finalised {
		return
	}
	b.finalised = true
	b.draw(true)
}

func (b *bar) draw(final bool) {
	p := b.p
	p.mu.Lock()
	defer p.mu.Unlock()
	elapsed := p.now().Sub(b.start).Seconds()
	speed := 0.0
	if elapsed > 0 {
		speed = float64(b.done-b.base) / elapsed
	}
	eta := "?"
	if b.total > 0 && speed > 0 {
		eta = (time.Duration(float64(b.total-b.done)/speed) * time.Second).Round(time.Second).String()
	}
	pct := ""
	if b.total > 0 {
		pct = fmt.Sprintf("%3.0f%%", 100*float64(b.done)/float64(b.total))
	}
	if p.tty {
		width := 24
		fill := 0
		if b.total > 0 {
			fill = int(float64(width) * float64(b.done) / float64(b.total))
			fill = min(fill, width)
		}
		line := fmt.Sprintf("%-28.28s %s [%s%s] %s/%s %s/s ETA %s",
			b.name, pct, strings.Repeat("=", fill), strings.Repeat(" ", width-fill),
			formatBytes(b.done), formatTotal(b.total), formatBytes(int64(speed)), eta)
		if final {
			line = fmt.Sprintf("%-28.28s %s %s in %.1fs (%s/s)", b.name, pct, formatBytes(b.done), elapsed, formatBytes(int64(speed)))
		}
		pad := max(0, b.lastWidth-len(line))
		b.lastWidth = len(line)
		fmt.Fprintf(p.w, "\r%s%s", line, strings.Repeat(" ", pad))
		p.lineOpen = !final
		if final {
			fmt.Fprintln(p.w)
		}
		return
	}
	if final {
		fmt.Fprintf(p.w, "%s: done, %s in %.1fs (%s/s)\n", b.name, formatBytes(b.done), elapsed, formatBytes(int64(speed)))
		return
	}
	fmt.Fprintf(p.w, "%s: %s/%s %s, %s/s, ETA %s\n", b.name, formatBytes(b.done), formatTotal(b.total), pct, formatBytes(int64(speed)), eta)
}

func formatTotal(n int64) string {
	if n < 0 {
		return "?"
	}
	return formatBytes(n)
}

// formatBytes uses decimal units, like the Hub's web pages.
func formatBytes(n int64) string {
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
