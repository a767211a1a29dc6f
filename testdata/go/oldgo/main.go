// oldgo: a Go program that the oldest toolchains build too (Go 1.17,
// 1.18: tests/integration/go-versions.sh, which threadleak refuses in one
// line): three goroutines parked on a channel, "ready" on stdout, then it
// waits to be killed.
package main

import (
	"fmt"
	"os"
	"time"
)

func park(c chan int) { <-c }

func main() {
	c := make(chan int)
	for i := 0; i < 3; i++ {
		go park(c)
	}
	fmt.Println("ready")
	os.Stdout.Sync()
	for { // (select {} would be a deadlock the runtime ends)
		time.Sleep(time.Hour)
	}
}
