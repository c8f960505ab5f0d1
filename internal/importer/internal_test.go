package importer

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/zestequity/zest-api/internal/testkit"
)

// A journal whose last line was torn by a kill keeps its complete entries,
// and the next entry starts on a line of its own.
func TestJournalSurvivesATornLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "r.csv.journal")
	h := journalHeader{Journal: journalVersion, File: "f", BatchSize: 2, Server: "http://x", Tenant: "t"}
	j, entries, err := openJournal(path, h)
	if err != nil || len(entries) != 0 {
		t.Fatal(entries, err)
	}
	first := journalEntry{Key: "k1", Rows: []journalRow{{Line: 2, outcome: outcome{Status: statusCreated, ZestPersonID: "psn_a"}}}}
	if err := j.append(first); err != nil {
		t.Fatal(err)
	}
	j.f.WriteString(`{"key":"k2","rows":[{"li`)
	j.close()

	j, entries, err = openJournal(path, h)
	if err != nil || len(entries) != 1 || entries[0].Key != "k1" || entries[0].Rows[0] != first.Rows[0] || j.entries != 1 {
		t.Fatalf("reopened: %+v, %v", entries, err)
	}
	if err := j.append(journalEntry{Key: "k3"}); err != nil {
		t.Fatal(err)
	}
	j.close()
	_, entries, _ = openJournal(path, h)
	if len(entries) != 2 || entries[1].Key != "k3" {
		t.Errorf("after the repair: %+v", entries)
	}

	h.BatchSize = 3
	if _, entries, _ = openJournal(path, h); len(entries) != 0 {
		t.Errorf("a journal of other batches was used: %+v", entries)
	}
}

// On a terminal, progress is one bar redrawn in place, on each change and
// each tick; a note gets a line of its own and the bar comes back under it.
func TestProgressBar(t *testing.T) {
	var buf testkit.SyncBuffer
	clock := testkit.NewClock(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	tick := make(chan time.Time)
	p := startProgress(&buf, true, tick, clock.Now, tally{pending: 4})
	clock.Advance(2 * time.Second)
	p.update(tally{created: 1, failed: 1, pending: 2})
	p.note("batch 2: 503 service_unavailable; retrying")
	clock.Advance(2 * time.Second)
	tickAndWait(&buf, tick, clock.Now(), "\r")
	p.update(tally{created: 3, failed: 1})
	p.finish()
	want := "\r\x1b[K[..............................] 0/4 rows done (0%): 0 created, 0 already_exists, 0 failed; 0s elapsed" +
		"\r\x1b[K[###############...............] 2/4 rows done (50%): 1 created, 0 already_exists, 1 failed; 2s elapsed, 1.0 rows/s, ETA 2s" +
		"\r\x1b[Kimport: batch 2: 503 service_unavailable; retrying\n" +
		"\r\x1b[K[###############...............] 2/4 rows done (50%): 1 created, 0 already_exists, 1 failed; 2s elapsed, 1.0 rows/s, ETA 2s" +
		"\r\x1b[K[###############...............] 2/4 rows done (50%): 1 created, 0 already_exists, 1 failed; 4s elapsed, 0.5 rows/s, ETA 4s" +
		"\r\x1b[K[##############################] 4/4 rows done (100%): 3 created, 0 already_exists, 1 failed; 4s elapsed, 1.0 rows/s" +
		"\r\x1b[K[##############################] 4/4 rows done (100%): 3 created, 0 already_exists, 1 failed; 4s elapsed, 1.0 rows/s\n"
	if got := buf.String(); got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}

// Elsewhere, a plain line on every tick, whether or not a row was answered
// since the last one (a long batch), and one at the end. The rate counts
// only the rows this run answered, not those of an earlier run's journal.
func TestProgressLines(t *testing.T) {
	var buf testkit.SyncBuffer
	clock := testkit.NewClock(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	tick := make(chan time.Time)
	p := startProgress(&buf, false, tick, clock.Now, tally{alreadyExists: 1000, pending: 3000})
	clock.Advance(5 * time.Second)
	tickAndWait(&buf, tick, clock.Now(), "\n")
	p.update(tally{alreadyExists: 1000, created: 1000, pending: 2000})
	clock.Advance(5 * time.Second)
	tickAndWait(&buf, tick, clock.Now(), "\n")
	clock.Advance(5 * time.Second)
	tickAndWait(&buf, tick, clock.Now(), "\n")
	p.update(tally{alreadyExists: 1000, created: 1500, resend: 500, pending: 1000})
	clock.Advance(5 * time.Second)
	tickAndWait(&buf, tick, clock.Now(), "\n")
	p.update(tally{alreadyExists: 1000, created: 3000})
	clock.Advance(time.Second)
	p.finish()
	want := []string{
		"import: 1000/4000 rows done (25%): 0 created, 1000 already_exists, 0 failed; 5s elapsed",
		"import: 2000/4000 rows done (50%): 1000 created, 1000 already_exists, 0 failed; 10s elapsed, 100 rows/s, ETA 20s",
		"import: 2000/4000 rows done (50%): 1000 created, 1000 already_exists, 0 failed; 15s elapsed, 67 rows/s, ETA 30s",
		"import: 2500/4000 rows done (62%): 1500 created, 1000 already_exists, 0 failed, 500 to resend; 20s elapsed, 75 rows/s, ETA 20s",
		"import: 4000/4000 rows done (100%): 3000 created, 1000 already_exists, 0 failed; 21s elapsed, 143 rows/s",
	}
	if got := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n"); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if strings.Contains(buf.String(), "\r") {
		t.Errorf("a bar in plain output: %q", buf.String())
	}
}

// tickAndWait ticks, then waits for the report the tick causes (one more
// sep in buf): the report is written after the tick is received.
func tickAndWait(buf *testkit.SyncBuffer, tick chan<- time.Time, now time.Time, sep string) {
	n := strings.Count(buf.String(), sep)
	tick <- now
	for strings.Count(buf.String(), sep) == n {
		runtime.Gosched()
	}
}

// Neither /dev/null (a character device, but no terminal), a file nor a
// buffer gets the bar.
func TestIsTerminal(t *testing.T) {
	devNull, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer devNull.Close()
	regular, err := os.Create(filepath.Join(t.TempDir(), "log"))
	if err != nil {
		t.Fatal(err)
	}
	defer regular.Close()
	for name, w := range map[string]io.Writer{os.DevNull: devNull, "a regular file": regular, "a buffer": &bytes.Buffer{}} {
		if isTerminal(w) {
			t.Errorf("%s taken for a terminal", name)
		}
	}
}

// Backoff doubles from the base up to the cap, jittered over its upper half,
// and never undercuts a Retry-After.
func TestBackoff(t *testing.T) {
	r := Retry{Attempts: 6, BaseDelay: 100 * time.Millisecond, MaxDelay: time.Second}
	for range 100 {
		for attempt, want := range map[int]time.Duration{1: 100 * time.Millisecond, 3: 400 * time.Millisecond, 5: time.Second, 40: time.Second} {
			if d := r.delay(attempt, 0); d < want/2 || d > want {
				t.Fatalf("attempt %d: %s, want %s to %s", attempt, d, want/2, want)
			}
		}
		if d := r.delay(1, 3*time.Second); d != 3*time.Second {
			t.Fatalf("Retry-After 3s: %s", d)
		}
	}
}
