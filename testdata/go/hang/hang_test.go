// Package hang has a test that never ends: TestHang waits on a channel
// nobody sends on, as a deadlocked test does, with a helper goroutine
// blocked the same way.  For `threadleak check --timeout`: go test
// -timeout would panic and dump every goroutine; check must report them
// (TestHang waiting in "chan receive" at the line marked below) and end
// the test.
//
// Once both are about to block, the test writes "pid PID" and "ready" to
// the file named by $HANG_READY (if set): whoever waits for the report
// knows the test reached its hang before the deadline.
package hang

import (
	"fmt"
	"os"
	"testing"
)

func helper(never chan int) {
	<-never // hang: helper
}

func TestHang(t *testing.T) {
	never := make(chan int)
	go helper(never)
	if path := os.Getenv("HANG_READY"); path != "" {
		text := fmt.Sprintf("pid %d\nready\n", os.Getpid())
		if err := os.WriteFile(path+".tmp", []byte(text), 0o644); err == nil {
			os.Rename(path+".tmp", path)
		}
	}
	<-never // hang: TestHang
}
