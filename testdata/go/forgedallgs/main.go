// forgedallgs: a Go program whose runtime.allgs claims far more entries
// than it has goroutines (16,777,216 by default), most of them no g at
// all, for threadleak's bound on what it keeps of a hostile target.  Built
// with -ldflags=-checklinkname=0 (Go 1.23 and later refuse the linkname
// otherwise) by tests/integration/go-forged-allgs.
//
// It parks -parked goroutines in main.parked (a channel receive), then
// replaces the slice header of runtime.allgs (pointer, length, capacity)
// by one of -n entries: the real g's first, as they were, then, in turn,
// entries that are no g: null, unaligned (a real g's address + 4),
// unreadable (0x1000), a real g named again, and a block of this
// program's memory whose status field holds 0x77 (no goroutine status).
// The runtime itself then must not walk allgs: the garbage collector is
// off (debug.SetGCPercent(-1)), no goroutine is started after the forgery,
// and one goroutine stays in a blocking read(2) on a pipe, so that an M
// is always in a system call and the runtime's deadlock check, which
// walks allgs, never runs.
//
// Output: "pid PID", "real N" (the goroutines it has), "claims N" (what
// allgs now says), "ready".  Standard library only.
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"syscall"
	"time"
	"unsafe"
	_ "unsafe"
)

//go:linkname allgs runtime.allgs
var allgs []uintptr

// forged is the new backing array: uintptrs, so that nothing of ours
// takes them for pointers.
var forged []uintptr

// bogus: what the entries of bad status point at (no goroutine status).
var bogus [4096]byte

func parked(c chan int) { <-c }

func main() {
	n := flag.Int("n", 1<<24, "entries runtime.allgs claims")
	count := flag.Int("parked", 100, "goroutines parked in main.parked")
	flag.Parse()
	fmt.Printf("pid %d\n", os.Getpid())

	// an M always in a system call: the deadlock check never runs
	var p [2]int
	if err := syscall.Pipe(p[:]); err != nil {
		fmt.Fprintln(os.Stderr, "pipe:", err)
		os.Exit(1)
	}
	go func() {
		var b [1]byte
		syscall.Read(p[0], b[:])
	}()
	c := make(chan int)
	for i := 0; i < *count; i++ {
		go parked(c)
	}
	// every goroutine started and parked
	for runtime.NumGoroutine() < *count+2 {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond)
	debug.SetGCPercent(-1)
	runtime.GC() // nothing to do later: no collection runs again

	for i := range bogus {
		bogus[i] = 0x77
	}
	real := append([]uintptr(nil), allgs...)
	if *n < len(real) {
		*n = len(real)
	}
	forged = make([]uintptr, *n)
	copy(forged, real)
	for i := len(real); i < *n; i++ {
		switch i % 5 {
		case 0:
			forged[i] = 0
		case 1:
			forged[i] = real[i%len(real)] + 4
		case 2:
			forged[i] = 0x1000
		case 3:
			forged[i] = real[i%len(real)]
		case 4:
			forged[i] = uintptr(unsafe.Pointer(&bogus[0]))
		}
	}
	allgs = forged
	fmt.Printf("real %d\nclaims %d\nready\n", len(real), len(allgs))
	for {
		time.Sleep(time.Hour)
	}
}
