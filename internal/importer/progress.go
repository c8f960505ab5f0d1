package importer

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/mattn/go-isatty"
)

// progress reports on a writer: on a terminal, one bar redrawn in place on
// every change; elsewhere (a log, a pipe, a test), a plain line every
// interval when something changed, and one at the end, so that logs stay
// readable.
type progress struct {
	w        io.Writer
	tty      bool
	mu       sync.Mutex
	counts   tally
	printed  tally // what the last plain line showed
	stop     chan struct{}
	finished sync.WaitGroup
}

func startProgress(w io.Writer, interval time.Duration, counts tally) *progress {
	p := &progress{w: w, tty: isTerminal(w), counts: counts, printed: counts, stop: make(chan struct{})}
	if p.tty {
		p.draw()
		return p
	}
	p.finished.Go(func() {
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-p.stop:
				return
			case <-t.C:
				p.mu.Lock()
				if p.counts != p.printed {
					p.line()
				}
				p.mu.Unlock()
			}
		}
	})
	return p
}

// isTerminal asks the terminal driver (an ioctl) rather than looking for a
// character device: /dev/null is one too, and redrawing a bar into it, or
// into a serial log, would be wasted or garble the log.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && isatty.IsTerminal(f.Fd())
}

func (p *progress) update(t tally) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.counts = t
	if p.tty {
		p.draw()
	}
}

// note reports an event, such as a retry, on a line of its own.
func (p *progress) note(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.tty {
		fmt.Fprint(p.w, "\r\x1b[K")
	}
	fmt.Fprintf(p.w, "import: "+format+"\n", args...)
	if p.tty {
		p.draw()
	}
}

// finish stops the reporting with a last, complete report.
func (p *progress) finish() {
	close(p.stop)
	p.finished.Wait()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.tty {
		p.draw()
		fmt.Fprintln(p.w)
		return
	}
	p.line()
}

func (p *progress) line() {
	p.printed = p.counts
	fmt.Fprintf(p.w, "import: %s\n", p.counts.describe())
}

const barWidth = 30

func (p *progress) draw() {
	done := p.counts.settled()
	filled := 0
	if total := p.counts.total(); total > 0 {
		filled = done * barWidth / total
	}
	fmt.Fprintf(p.w, "\r\x1b[K[%s%s] %s", strings.Repeat("#", filled), strings.Repeat(".", barWidth-filled), p.counts.describe())
}

func (t tally) describe() string {
	total, done := t.total(), t.settled()
	pct := 100
	if total > 0 {
		pct = done * 100 / total
	}
	s := fmt.Sprintf("%d/%d rows done (%d%%): %d created, %d already_exists, %d failed", done, total, pct, t.created, t.alreadyExists, t.failed)
	if t.resend > 0 {
		s += fmt.Sprintf(", %d to resend", t.resend)
	}
	return s
}
