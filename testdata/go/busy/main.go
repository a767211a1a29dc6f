// busy: a Go program with goroutines that never stop running, for
// threadleak's reading of running goroutines (tests/integration/
// go-running.sh) and of goroutines that come and go by the thousand
// (go-churn.sh).  Standard library only; builds with Go 1.19 through 1.26.
//
// The busy goroutines (-spin K, default 1) each run an endless loop that
// calls nothing, main.spin, reached through two named functions that are
// never inlined:
//
//	main.busyOuter -> main.busyMiddle -> main.spin   (status: running)
//
// The parked ones (-n N, default 3) wait in main.parked for a channel
// nobody sends on (chan receive).  With -churn W, W goroutines start
// short-lived ones without end (main.churner): each starts a batch of 16
// main.shortLived goroutines, which call two functions deep, yield once,
// and end; then waits for the batch, and starts the next.
//
// Flags:
//
//	-spin K      busy goroutines (default 1)
//	-n N         parked goroutines (default 3)
//	-churn W     churners (default 0)
//	-exit        main returns right after ready, the others still going
//	             (for `threadleak check`)
//	-dump2 PATH  where SIGUSR1 writes the goroutine profile at debug=2 (to
//	             PATH.tmp, renamed to PATH: a reader never sees half a
//	             file), then prints "dumped"; Go stops every goroutine for
//	             the dump, the busy ones too (they are preempted)
//
// Output on stdout, one line each: "pid PID", "expect main.spin K",
// "expect main.parked N", "goid FUNCTION ID" for each parked goroutine
// and each churner (main.parked, main.churner: its goroutine id, which
// every snapshot must have), then "ready" once every busy goroutine is
// in its loop (it said so before entering it), every parked one parked
// and every churner started.
//
// Anything that goes wrong is printed on stderr and the exit status is 1;
// 2 for a bad flag.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"threadleak.test/testdata/internal/dump"
	"time"
)

// counters: each busy goroutine's own, so that its loop has something to
// do that the compiler keeps.
var counters [64]uint64

var spinning int32 // busy goroutines in their loop (or about to be)

var stopSpin int32 // never set: the loop's end, so that it is kept

// spin never returns and calls nothing.
//
//go:noinline
func spin(i int) {
	for atomic.LoadInt32(&stopSpin) == 0 {
		counters[i&63]++
	}
}

//go:noinline
func busyMiddle(i int) {
	spin(i)
}

// busyOuter takes no argument: `go busyOuter()` needs no wrapper (the
// compiler's gowrap, which Go's traceback hides and a thread's stack
// shows), so that the goroutine's frames and its thread's are the same.
//
//go:noinline
func busyOuter() {
	busyMiddle(int(atomic.AddInt32(&spinning, 1)) - 1)
}

// goid: the calling goroutine's id, from the header of its own stack
// ("goroutine N [running]:").
func goid() int64 {
	buf := make([]byte, 64)
	buf = buf[:runtime.Stack(buf, false)]
	var id int64
	if _, err := fmt.Sscanf(string(buf), "goroutine %d ", &id); err != nil {
		die("cannot read the goroutine id in %q: %v", buf, err)
	}
	return id
}

type started struct {
	fn string
	id int64
}

//go:noinline
func parked(ch chan int, ids chan<- started) {
	ids <- started{"main.parked", goid()}
	<-ch
}

var churned uint64 // short-lived goroutines ended

//go:noinline
func shortInner(n int) int {
	runtime.Gosched()
	return n * 3
}

//go:noinline
func shortLived(n int, wg *sync.WaitGroup) {
	defer wg.Done()
	if shortInner(n) < 0 {
		fmt.Fprintln(os.Stderr, "never")
	}
	atomic.AddUint64(&churned, 1)
}

//go:noinline
func churner(ids chan<- started) {
	ids <- started{"main.churner", goid()}
	var wg sync.WaitGroup
	for i := 0; ; i++ {
		for k := 0; k < 16; k++ {
			wg.Add(1)
			go shortLived(i+k, &wg)
		}
		wg.Wait()
	}
}

func die(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "busy: "+format+"\n", args...)
	os.Exit(1)
}

func main() {
	spinners := flag.Int("spin", 1, "busy goroutines")
	n := flag.Int("n", 3, "parked goroutines")
	churn := flag.Int("churn", 0, "goroutines that start short-lived ones without end")
	dump2 := flag.String("dump2", "", "SIGUSR1 writes the debug=2 goroutine profile to `PATH`")
	exit := flag.Bool("exit", false, "return from main right after ready")
	flag.Parse()
	if flag.NArg() > 0 || *spinners < 0 || *spinners > 64 || *n < 0 || *churn < 0 {
		flag.Usage()
		os.Exit(2)
	}
	fmt.Printf("pid %d\n", os.Getpid())
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGUSR1)

	never := make(chan int)
	ids := make(chan started)
	for i := 0; i < *n; i++ {
		go parked(never, ids)
	}
	for i := 0; i < *spinners; i++ {
		go busyOuter()
	}
	for i := 0; i < *churn; i++ {
		go churner(ids)
	}
	var goids []started
	for i := 0; i < *n+*churn; i++ {
		goids = append(goids, <-ids)
	}
	// ready: every busy goroutine on its way into its loop, and the
	// parked ones parked (runtime.Stack says so); 120 s at most, a hang
	// guard on a loaded machine
	deadline := time.Now().Add(120 * time.Second)
	for atomic.LoadInt32(&spinning) < int32(*spinners) || !allParked(*n) ||
		(*churn > 0 && atomic.LoadUint64(&churned) == 0) {
		if time.Now().After(deadline) {
			die("not ready after 120 s")
		}
		time.Sleep(time.Millisecond)
	}
	fmt.Printf("expect main.spin %d\n", *spinners)
	fmt.Printf("expect main.parked %d\n", *n)
	for _, s := range goids {
		fmt.Printf("goid %s %d\n", s.fn, s.id)
	}
	fmt.Println("ready")
	if *exit {
		return
	}
	for range sigs {
		if *dump2 == "" {
			continue
		}
		if err := dump.Write(*dump2, 2); err != nil {
			die("dump2: %v", err)
		}
		fmt.Println("dumped")
	}
}

// allParked: n goroutines wait in main.parked, from runtime.Stack.
func allParked(n int) bool {
	if n == 0 {
		return true
	}
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	got := 0
	for _, b := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(b, "main.parked(") && strings.Contains(b, "[chan receive") {
			got++
		}
	}
	return got >= n
}
