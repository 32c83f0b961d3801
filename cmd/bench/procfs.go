package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

func countPrefix(s, prefix string) int {
	n := 0
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, prefix) {
			n++
		}
	}
	return n
}

func field(s, name string) string {
	for _, l := range strings.Split(s, "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == name {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// peakRSS returns VmHWM (peak resident set) in MB of the process whose pid
// is in pidFile.
func peakRSS(pidFile string) (float64, bool) {
	b, err := os.ReadFile(pidFile)
	if err != nil {
		return 0, false
	}
	pid := strings.TrimSpace(string(b))
	st, err := os.ReadFile(filepath.Join("/proc", pid, "status"))
	if err != nil {
		return 0, false
	}
	v := strings.Fields(field(string(st), "VmHWM"))
	if len(v) == 0 {
		return 0, false
	}
	kb, err := strconv.ParseFloat(v[0], 64)
	if err != nil {
		return 0, false
	}
	return kb / 1024, true
}
