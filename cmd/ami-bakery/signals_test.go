package main

import (
	"io"
	"os"
	"syscall"
	"testing"
	"time"
)

// A second signal ends the process even when Main is stuck; when Main
// returns in time, nothing is forced.
func TestSecondSignalForcesExit(t *testing.T) {
	newSignals := func() (*signals, chan os.Signal, chan int) {
		exited := make(chan int, 1)
		h := &signals{
			stderr: io.Discard, cancel: func() {}, exit: func(c int) { exited <- c }, forceAfter: 10 * time.Millisecond,
			interrupted: make(chan struct{}), kill: make(chan struct{}), done: make(chan struct{}),
		}
		sigs := make(chan os.Signal, 2)
		go h.watch(sigs)
		return h, sigs, exited
	}

	h, sigs, exited := newSignals()
	sigs <- syscall.SIGINT
	sigs <- syscall.SIGTERM
	select {
	case code := <-exited:
		if code != exitInterrupted {
			t.Fatalf("exit(%d), want %d", code, exitInterrupted)
		}
	case <-time.After(time.Minute): // generous: it must only happen
		t.Fatal("a second signal did not end a stuck Main")
	}
	<-h.kill // closed by the second signal

	h, sigs, exited = newSignals()
	sigs <- syscall.SIGINT
	<-h.interrupted
	close(h.done) // Main returned after the first signal
	time.Sleep(50 * time.Millisecond)
	select {
	case code := <-exited:
		t.Fatalf("exit(%d) after Main returned", code)
	default:
	}
}
