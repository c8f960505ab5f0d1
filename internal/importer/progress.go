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
// every change and on every tick (so that the rate and ETA move while a
// batch is on the wire); elsewhere (a log, a pipe, a test), a plain line on
// every tick and one at the end, so that logs stay readable and a long
// batch still shows signs of life.
//
// The bar is our own rather than a progress bar library's: it shows the
// rows by outcome, interleaves notes, and reads the time from a clock that
// tests replace, which the libraries do not allow.
type progress struct {
	w        io.Writer
	tty      bool
	now      func() time.Time
	start    time.Time
	base     int // rows settled before this run started; the rate leaves them out
	mu       sync.Mutex
	counts   tally
	stop     chan struct{}
	finished sync.WaitGroup
}

// startProgress reports until finish, as a bar if tty, drawing or printing
// on every value of tick.
func startProgress(w io.Writer, tty bool, tick <-chan time.Time, now func() time.Time, counts tally) *progress {
	p := &progress{w: w, tty: tty, now: now, start: now(), base: counts.settled(), counts: counts, stop: make(chan struct{})}
	if p.tty {
		p.draw()
	}
	p.finished.Go(func() {
		for {
			select {
			case <-p.stop:
				return
			case <-tick:
				p.mu.Lock()
				if p.tty {
					p.draw()
				} else {
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
	fmt.Fprintf(p.w, "import: %s\n", p.describe())
}

const barWidth = 30

func (p *progress) draw() {
	done := p.counts.settled()
	filled := 0
	if total := p.counts.total(); total > 0 {
		filled = done * barWidth / total
	}
	fmt.Fprintf(p.w, "\r\x1b[K[%s%s] %s", strings.Repeat("#", filled), strings.Repeat(".", barWidth-filled), p.describe())
}

// describe says how far the import is, and, once this run has settled a
// row, how fast it goes and when it should be done at that pace.
func (p *progress) describe() string {
	t := p.counts
	total, done := t.total(), t.settled()
	pct := 100
	if total > 0 {
		pct = done * 100 / total
	}
	s := fmt.Sprintf("%d/%d rows done (%d%%): %d created, %d already_exists, %d failed", done, total, pct, t.created, t.alreadyExists, t.failed)
	if t.resend > 0 {
		s += fmt.Sprintf(", %d to resend", t.resend)
	}
	elapsed := p.now().Sub(p.start)
	s += fmt.Sprintf("; %s elapsed", elapsed.Round(time.Second))
	if moved := done - p.base; moved > 0 && elapsed > 0 {
		rate := float64(moved) / elapsed.Seconds()
		prec := 0
		if rate < 10 {
			prec = 1 // a slow import (small batches, retries) would read "0 rows/s"
		}
		s += fmt.Sprintf(", %.*f rows/s", prec, rate)
		if left := total - done; left > 0 {
			s += fmt.Sprintf(", ETA %s", (time.Duration(float64(left) / rate * float64(time.Second))).Round(time.Second))
		}
	}
	return s
}
