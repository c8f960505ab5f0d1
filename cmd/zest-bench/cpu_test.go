package main

import (
	"os"
	"testing"
	"time"
)

func TestStatCPU(t *testing.T) {
	// A command may hold spaces and parentheses; utime 250 and stime 50
	// ticks follow it as fields 14 and 15.
	line := "4242 (post gres) (x)) S 1 4242 4242 0 -1 4194560 2110 0 0 0 250 50 0 0 20 0 1 0 12345 1000 200 18446744073709551615\n"
	if d, ok := statCPU(line); !ok || d != 3*time.Second {
		t.Errorf("statCPU = %v, %v; want 3s", d, ok)
	}
	for _, bad := range []string{"", "4242 (x S 1", "4242 (x) S 1 2 3", "4242 (x) S 1 4242 4242 0 -1 4194560 2110 0 0 0 u s 0"} {
		if _, ok := statCPU(bad); ok {
			t.Errorf("statCPU(%q) accepted", bad)
		}
	}
}

// The bench's own CPU, read from /proc, follows what the kernel reports to
// getrusage, to within a clock tick or two.
func TestProcessCPUFollowsRusage(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc here")
	}
	pid := os.Getpid()
	before, self := processCPU([]int{pid}), selfCPU()
	x := 0
	for selfCPU()-self < 200*time.Millisecond {
		for i := range 1_000_000 {
			x += i
		}
	}
	_ = x
	used, ok := processCPU([]int{pid}).since(before)
	if !ok {
		t.Fatal("no CPU time read for this process")
	}
	if spent := selfCPU() - self; used < spent-3*clockTick || used > spent+3*clockTick {
		t.Errorf("/proc says %v, getrusage %v", used, spent)
	}
}
