// Package leaktest has a test that passes but leaves a goroutine blocked
// for ever (a send nobody receives), as goleak would catch:
// `threadleak check -- go test ./leaktest` must fail and name
// leakyHelper, where the goroutine was started.
package leaktest

import "testing"

func leakyHelper(ch chan int) {
	go func() { ch <- 1 }()
}

func TestLeaks(t *testing.T) {
	leakyHelper(make(chan int))
}
