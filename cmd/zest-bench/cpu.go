package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// clockTick is the unit of /proc's CPU times: USER_HZ, 100 on every Linux
// platform Go supports.
const clockTick = 10 * time.Millisecond

// cpuSample is CPU time used so far, by process.
type cpuSample map[int]time.Duration

// processCPU returns the user and system CPU time of the given processes,
// and of every process whose command is one of names. It is empty where
// there is no /proc, or when the database runs on another machine: its
// figures are then left out of the report.
func processCPU(pids []int, names ...string) cpuSample {
	out := cpuSample{}
	read := func(pid int, dir string) {
		b, err := os.ReadFile(filepath.Join(dir, "stat"))
		if err != nil {
			return
		}
		if d, ok := statCPU(string(b)); ok {
			out[pid] = d
		}
	}
	for _, pid := range pids {
		read(pid, "/proc/"+strconv.Itoa(pid))
	}
	if len(names) > 0 {
		dirs, _ := filepath.Glob("/proc/[0-9]*")
		for _, dir := range dirs {
			comm, err := os.ReadFile(filepath.Join(dir, "comm"))
			if err != nil {
				continue
			}
			for _, n := range names {
				if strings.TrimSpace(string(comm)) == n {
					pid, _ := strconv.Atoi(filepath.Base(dir))
					read(pid, dir)
				}
			}
		}
	}
	return out
}

// statCPU reads the user and system CPU time from a /proc/PID/stat line.
func statCPU(stat string) (time.Duration, bool) {
	// The command, in parentheses, may hold spaces and parentheses: the
	// fields count from the last closing one. utime and stime are fields
	// 14 and 15.
	end := strings.LastIndexByte(stat, ')')
	if end < 0 {
		return 0, false
	}
	f := strings.Fields(stat[end+1:])
	if len(f) < 13 {
		return 0, false
	}
	u, err1 := strconv.ParseInt(f[11], 10, 64)
	s, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return time.Duration(u+s) * clockTick, true
}

// since returns the CPU time used between earlier and s, by the processes
// of s (one that started in between counts from zero). ok is false when s
// holds none.
func (s cpuSample) since(earlier cpuSample) (d time.Duration, ok bool) {
	for pid, t := range s {
		d += t - earlier[pid]
	}
	return d, len(s) > 0
}

// perBatch is d spent on rows rows, per 1000 of them.
func perBatch(d time.Duration, rows int) time.Duration {
	return d * 1000 / time.Duration(max(rows, 1))
}

// selfCPU is this process's own user and system CPU time.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
