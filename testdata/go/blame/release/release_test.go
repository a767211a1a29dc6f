// Package release: a second test binary for `go test ./...`; its last
// test releases 60 goroutines as it returns (they are woken, not leaked:
// with GOMAXPROCS=1 they cannot run before the exit).  Each test says
// what it leaves ("expect-leak TestName N").
package release

import (
	"fmt"
	"sync"
	"testing"
)

var never = make(chan struct{})

func TestLeakInRelease(t *testing.T) {
	go func() { <-never }()
	fmt.Println("expect-leak TestLeakInRelease 1")
}

// The last test of the binary: its goroutines are released as it returns.
func TestRelease60(t *testing.T) {
	release := make(chan struct{})
	var started sync.WaitGroup
	started.Add(60)
	for i := 0; i < 60; i++ {
		go func() {
			started.Done()
			<-release
		}()
	}
	started.Wait()
	fmt.Println("expect-leak TestRelease60 0")
	close(release)
}
