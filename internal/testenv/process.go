package testenv

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"
)

var builds struct {
	sync.Mutex
	dir  string
	bins map[string]string
}

// MustBuild builds the main package at pkg (a path relative to the module
// root, e.g. "./cmd/processor") once per test binary and returns the
// executable's path. Fault tests run the real binaries as processes, so
// that SIGKILL kills what production would run.
func MustBuild(tb testing.TB, pkg string) string {
	tb.Helper()
	builds.Lock()
	defer builds.Unlock()
	if bin, ok := builds.bins[pkg]; ok {
		return bin
	}
	if builds.dir == "" {
		dir, err := os.MkdirTemp("", "wildcat-bin-")
		if err != nil {
			tb.Fatal(err)
		}
		builds.dir, builds.bins = dir, map[string]string{}
	}
	root, err := moduleRoot()
	if err != nil {
		tb.Fatal(err)
	}
	bin := filepath.Join(builds.dir, filepath.Base(pkg))
	cmd := exec.Command("go", "build", "-o", bin, pkg)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("testenv: go build %s: %v\n%s", pkg, err, out)
	}
	builds.bins[pkg] = bin
	return bin
}

func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("testenv: no go.mod above the working directory")
		}
		dir = parent
	}
}

// FreeAddr returns a loopback address with a port that was free a moment
// ago.
func FreeAddr(tb testing.TB) string {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// Process is a binary running as a child process with its own
// environment, for fault tests. Its output is kept and shown if the test
// fails. Every process is killed when the test ends.
type Process struct {
	tb    testing.TB
	bin   string
	env   []string
	ready string // URL polled until it answers 200
	mu    sync.Mutex
	cmd   *exec.Cmd
	out   *bytes.Buffer
	done  chan struct{}
	Runs  int // how many times it was started
}

// MustStart starts bin with env (NAME=value, on top of PATH and HOME) and
// waits until readyURL answers 200.
func MustStart(tb testing.TB, bin string, env []string, readyURL string) *Process {
	tb.Helper()
	p := &Process{tb: tb, bin: bin, env: env, ready: readyURL, out: &bytes.Buffer{}}
	p.start()
	tb.Cleanup(func() {
		p.Kill()
		if tb.Failed() {
			tb.Logf("%s output:\n%s", filepath.Base(bin), p.Output())
		}
	})
	return p
}

type lockedWriter struct {
	mu *sync.Mutex
	b  *bytes.Buffer
}

func (w lockedWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(b)
}

func (p *Process) start() {
	p.tb.Helper()
	cmd := exec.Command(p.bin)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}, p.env...)
	w := lockedWriter{&p.mu, p.out}
	cmd.Stdout, cmd.Stderr = w, w
	if err := cmd.Start(); err != nil {
		p.tb.Fatalf("testenv: start %s: %v", p.bin, err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	p.mu.Lock()
	p.cmd, p.done = cmd, done
	p.Runs++
	p.mu.Unlock()
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case <-done:
			p.tb.Fatalf("testenv: %s exited during start-up:\n%s", filepath.Base(p.bin), p.Output())
		default:
		}
		if res, err := http.Get(p.ready); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			p.tb.Fatalf("testenv: %s not ready at %s after 60s:\n%s", filepath.Base(p.bin), p.ready, p.Output())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Kill sends SIGKILL and waits for the process to be gone.
func (p *Process) Kill() { p.signal(syscall.SIGKILL) }

// Stop sends SIGTERM and waits for the process to exit.
func (p *Process) Stop() { p.signal(syscall.SIGTERM) }

func (p *Process) signal(sig syscall.Signal) {
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(sig)
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
}

// Restart starts the process again (after Kill or Stop) with the same
// environment and waits until it is ready.
func (p *Process) Restart() {
	p.tb.Helper()
	p.start()
}

// Output returns everything the process wrote so far.
func (p *Process) Output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}
