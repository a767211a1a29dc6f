// Package pool: tests that leak goroutines in the ways a test can, for
// tests/integration/check-go-blame.sh.  Each test says on stdout what it
// leaves behind ("expect-leak TestName N"): the oracle `threadleak check`
// is compared with, test by test, as `defer goleak.VerifyNone(t)` in each
// test would judge (a subtest's leaks are its top-level test's too).
package pool

import (
	"fmt"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"testing"
)

// never is never closed: what leaked goroutines wait on.
var never = make(chan struct{})

func block() { <-never }

func expect(name string, n int) { fmt.Printf("expect-leak %s %d\n", name, n) }

// A goroutine started by the test itself.
func TestLeakDirect(t *testing.T) {
	// what the runtime was given: check adds to the user's GODEBUG
	fmt.Printf("godebug %s\n", os.Getenv("GODEBUG"))
	go block()
	expect("TestLeakDirect", 1)
}

// startWorkers starts n blocked workers from a goroutine of its own,
// which ends: a chain of two go statements, every creator gone.
func startWorkers(n int) {
	var started sync.WaitGroup
	started.Add(n)
	done := make(chan struct{})
	go func() {
		for i := 0; i < n; i++ {
			go func() {
				started.Done()
				block()
			}()
		}
		close(done)
	}()
	<-done
	started.Wait()
}

func TestPoolLeaks(t *testing.T) {
	startWorkers(4)
	expect("TestPoolLeaks", 4)
}

// A subtest leaks; its sibling does not.
func TestSub(t *testing.T) {
	t.Run("leaks", func(t *testing.T) {
		go block()
		go block()
	})
	t.Run("clean", func(t *testing.T) {
		var wg sync.WaitGroup
		wg.Add(1)
		go func() { wg.Done() }()
		wg.Wait()
	})
	expect("TestSub", 2)
}

func TestParallelA(t *testing.T) {
	t.Parallel()
	startWorkers(2)
	expect("TestParallelA", 2)
}

func TestParallelB(t *testing.T) {
	t.Parallel()
	go block()
	expect("TestParallelB", 1)
}

// Goroutines that end before the test returns.
func TestClean(t *testing.T) {
	var wg sync.WaitGroup
	for i := 0; i < 5; i++ {
		wg.Add(1)
		go func() { defer wg.Done() }()
	}
	wg.Wait()
	expect("TestClean", 0)
}

// signal.Notify starts os/signal's own loop, which goleak ignores.
func TestSignal(t *testing.T) {
	c := make(chan os.Signal, 1)
	signal.Notify(c, syscall.SIGUSR1)
	expect("TestSignal", 0)
}
