// frames: goroutines whose stacks Go's own traceback prints in its own
// way, for threadleak's frames and groups (tests/integration/go-frames.sh
// compares them with this program's own dumps).  Standard library only;
// builds with Go 1.19 through 1.27.
//
// Each kind parks in a function of its own, on one channel nobody sends
// on; the number of goroutines of each is in the table below:
//
//	main.inClosure          2  under a closure with an argument, started
//	                           in main by `go func(x int) {` whose `}(i)`
//	                           closes lines below: the compiler's wrapper
//	                           (main.main.gowrapN from 1.22, main.main.funcN
//	                           before) calls it, and Go hides the wrapper
//	main.inMethodClosure    2  the same in a method, (*worker).start
//	main.inPlainClosure     1  under a closure without arguments (`go
//	                           func() {`): no wrapper, the closure is the
//	                           program's own and shown
//	main.inMethod           2  `go w.wait(i)`: a method with an argument,
//	                           its wrapper hidden
//	main.genericOuter[...]  3  a generic function instantiated with int (2)
//	                           and string (1), parked at the same place: Go
//	                           prints the shapes as [...]
//	main.reflectTarget      1  called through reflect.Value.Call: Go hides
//	                           runtime.call16, the assembly that calls it
//	main.deepFrame          2  12 calls of itself deep, each frame with
//	                           512 bytes of its own: its stack goes on
//	                           far past the top that threadleak reads with
//	                           the g (2 KiB)
//
// Flags:
//
//	-dump0 PATH   where SIGUSR1 writes the goroutine profile at debug=0
//	-dump1 PATH   where SIGUSR1 writes the goroutine profile at debug=1
//	-dump2 PATH   where SIGUSR1 writes the goroutine profile at debug=2
//
// Output on stdout, one line each: "pid PID", "expect FUNCTION COUNT" for
// each kind above, then "ready" once every goroutine is started
// (runtime.NumGoroutine() is the count expected) and parked (none of them
// runnable in runtime.Stack).  SIGUSR1: once no goroutine is runnable,
// write the dumps (each to PATH.tmp, renamed to PATH), then print
// "dumped".  Anything that goes wrong is printed on stderr, exit status 1.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"reflect"
	"runtime"
	"syscall"
	"threadleak.test/testdata/internal/dump"
	"time"
)

// never: nobody sends on it
var never = make(chan int)

var sink []interface{}

//go:noinline
func inClosure(x int) {
	<-never
	sink = append(sink, x)
}

//go:noinline
func inMethodClosure(x int) {
	<-never
	sink = append(sink, x)
}

//go:noinline
func inPlainClosure() {
	<-never
}

type worker struct {
	name string
}

//go:noinline
func inMethod(w *worker, x int) {
	<-never
	sink = append(sink, w, x)
}

func (w *worker) wait(x int) {
	inMethod(w, x)
}

// start: a go statement in a method, its call closing lines below.
func (w *worker) start(n int) {
	for i := 0; i < n; i++ {
		go func(x int) {
			inMethodClosure(x)
			sink = append(sink,
				x)
		}(
			i)
	}
}

//go:noinline
func genericOuter[T any](v T) {
	<-never
	sink = append(sink, v)
}

//go:noinline
func reflectTarget(x int) {
	<-never
	sink = append(sink, x)
}

//go:noinline
func deepFrame(depth int) int {
	var pad [512]byte
	pad[depth%len(pad)] = byte(depth)
	if depth == 0 {
		<-never
	} else {
		deepFrame(depth - 1)
	}
	return int(pad[depth%len(pad)])
}

func viaReflect() {
	reflect.ValueOf(reflectTarget).Call([]reflect.Value{reflect.ValueOf(7)})
}

func die(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "frames: "+format+"\n", args...)
	os.Exit(1)
}

func main() {
	dump0 := flag.String("dump0", "", "SIGUSR1 writes the debug=0 goroutine profile to `PATH`")
	dump1 := flag.String("dump1", "", "SIGUSR1 writes the debug=1 goroutine profile to `PATH`")
	dump2 := flag.String("dump2", "", "SIGUSR1 writes the debug=2 goroutine profile to `PATH`")
	flag.Parse()
	if flag.NArg() > 0 {
		flag.Usage()
		os.Exit(2)
	}
	fmt.Printf("pid %d\n", os.Getpid())
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGUSR1)
	want := 2 // main, the os/signal loop

	// A go statement whose call closes lines below its `go func(x int) {`.
	for i := 0; i < 2; i++ {
		go func(x int) {
			inClosure(x)
			sink = append(sink,
				x)
		}(
			i)
	}
	w := &worker{name: "w"}
	w.start(2)
	go func() {
		inPlainClosure()
	}()
	for i := 0; i < 2; i++ {
		go w.wait(i)
	}
	go genericOuter(1)
	go genericOuter(2)
	go genericOuter("three")
	go viaReflect()
	go deepFrame(12)
	go deepFrame(12)
	expect := []struct {
		name  string
		count int
	}{
		{"main.inClosure", 2},
		{"main.inMethodClosure", 2},
		{"main.inPlainClosure", 1},
		{"main.inMethod", 2},
		{"main.genericOuter[...]", 3},
		{"main.reflectTarget", 1},
		{"main.deepFrame", 2},
	}
	for _, e := range expect {
		want += e.count
	}

	deadline := time.Now().Add(120 * time.Second)
	for runtime.NumGoroutine() != want || !dump.Settled() {
		if time.Now().After(deadline) {
			die("not ready after 120 s: %d goroutines, %d expected", runtime.NumGoroutine(), want)
		}
		time.Sleep(5 * time.Millisecond)
	}
	for _, e := range expect {
		fmt.Printf("expect %s %d\n", e.name, e.count)
	}
	fmt.Println("ready")
	for range sigs {
		for end := time.Now().Add(30 * time.Second); !dump.Settled() && time.Now().Before(end); {
			time.Sleep(time.Millisecond)
		}
		for _, d := range []struct {
			path  string
			debug int
		}{{*dump0, 0}, {*dump1, 1}, {*dump2, 2}} {
			if err := dump.Write(d.path, d.debug); err != nil {
				die("dump%d: %v", d.debug, err)
			}
		}
		fmt.Println("dumped")
	}
}
