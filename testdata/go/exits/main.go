// exits: a Go program that ends in a known way, for `threadleak check`.
//
//	exits done    starts four goroutines, receives from one, prints "done"
//	              and returns from main: the other three stay blocked in a
//	              channel send (goroutines, not threads), and the runtime's
//	              Ms (sysmon, idle Ms) are alive at the exit
//	exits osexit  the same, then a goroutine prints "done" and calls
//	              os.Exit(0) while main blocks for ever
package main

import (
	"fmt"
	"os"
	"time"
)

func main() {
	ch := make(chan int)
	for i := 0; i < 4; i++ {
		go func(i int) {
			time.Sleep(time.Duration(i) * time.Millisecond)
			ch <- i
		}(i)
	}
	<-ch
	if len(os.Args) > 1 && os.Args[1] == "osexit" {
		go func() {
			fmt.Println("done")
			os.Exit(0)
		}()
		select {}
	}
	fmt.Println("done")
}
