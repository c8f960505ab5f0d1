package importer

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
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

// On a terminal, progress is one bar redrawn in place; a note gets a line
// of its own and the bar comes back under it.
func TestProgressBar(t *testing.T) {
	var buf bytes.Buffer
	p := &progress{w: &buf, tty: true, counts: tally{pending: 4}, stop: make(chan struct{})}
	p.update(tally{created: 1, failed: 1, pending: 2})
	p.note("batch 2: 503 service_unavailable; retrying")
	p.update(tally{created: 3, failed: 1})
	p.finish()
	want := "\r\x1b[K[###############...............] 2/4 rows done (50%): 1 created, 0 already_exists, 1 failed" +
		"\r\x1b[Kimport: batch 2: 503 service_unavailable; retrying\n" +
		"\r\x1b[K[###############...............] 2/4 rows done (50%): 1 created, 0 already_exists, 1 failed" +
		"\r\x1b[K[##############################] 4/4 rows done (100%): 3 created, 0 already_exists, 1 failed" +
		"\r\x1b[K[##############################] 4/4 rows done (100%): 3 created, 0 already_exists, 1 failed\n"
	if got := buf.String(); got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}

// Elsewhere, a plain line every interval when something changed, and one at
// the end.
func TestProgressLines(t *testing.T) {
	var buf testkit.SyncBuffer
	p := startProgress(&buf, time.Millisecond, tally{pending: 2})
	p.update(tally{created: 1, pending: 1})
	for deadline := time.Now().Add(5 * time.Second); !strings.Contains(buf.String(), "1/2"); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no progress line within 5s of the update: %q", buf.String())
		}
	}
	p.update(tally{created: 1, resend: 1})
	p.finish()
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if last := lines[len(lines)-1]; last != "import: 1/2 rows done (50%): 1 created, 0 already_exists, 0 failed, 1 to resend" {
		t.Errorf("lines %q", lines)
	}
	if strings.Contains(buf.String(), "\r") {
		t.Errorf("a bar in plain output: %q", buf.String())
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
