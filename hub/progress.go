package hub

import (
	"fmt"
	"strings"
	"time"

	"github.com/askqa/ask/progress"
)

// bar tracks one file's transfer on a progress.Printer (nil: silent); it
// is an io.Writer so it can sit in an io.MultiWriter beside the file.
type bar struct {
	p     *progress.Printer
	line  *progress.Line
	name  string
	total int64 // -1 unknown
	base  int64 // bytes present before this run (resumed)
	done  int64 // bytes present now
}

func startBar(p *progress.Printer, name string, total, already int64) *bar {
	if already > 0 {
		p.Notef("%s: resuming at %s of %s", name, progress.Bytes(already), formatTotal(total))
	}
	return &bar{p: p, line: p.Start(), name: name, total: total, base: already, done: already}
}

// reset is for a server that ignored Range: the count starts over.
func (b *bar) reset() { b.done, b.base = 0, 0 }

func (b *bar) Write(q []byte) (int, error) {
	b.done += int64(len(q))
	b.line.Update(func() string { return b.render(false) })
	return len(q), nil
}

func (b *bar) finish() { b.line.Finish(b.render(true)) }

func (b *bar) render(final bool) string {
	elapsed := b.line.Elapsed().Seconds()
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
	done, rate := progress.Bytes(b.done), progress.Bytes(int64(speed))
	switch {
	case b.p.Terminal() && final:
		return fmt.Sprintf("%-28.28s %s %s in %.1fs (%s/s)", b.name, pct, done, elapsed, rate)
	case b.p.Terminal():
		const width = 24
		fill := 0
		if b.total > 0 {
			fill = min(int(float64(width)*float64(b.done)/float64(b.total)), width)
		}
		return fmt.Sprintf("%-28.28s %s [%s%s] %s/%s %s/s ETA %s",
			b.name, pct, strings.Repeat("=", fill), strings.Repeat(" ", width-fill), done, formatTotal(b.total), rate, eta)
	case final:
		return fmt.Sprintf("%s: done, %s in %.1fs (%s/s)", b.name, done, elapsed, rate)
	default:
		return fmt.Sprintf("%s: %s/%s %s, %s/s, ETA %s", b.name, done, formatTotal(b.total), pct, rate, eta)
	}
}

func formatTotal(n int64) string {
	if n < 0 {
		return "?"
	}
	return progress.Bytes(n)
}
