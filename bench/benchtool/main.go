//go:build linux

// Command benchtool is the part of bench/run.sh that is easier to get right
// in Go than in shell: it generates the trees to fingerprint, and it times
// commands, and the machine's SHA-256 limit, against each other.
//
// Usage:
//
//	benchtool gen-large DIR MIB FILES   FILES files of pseudo-random bytes, MIB MiB in all
//	benchtool gen-small DIR FILES       FILES files of 0 to 4 KiB, 100 to a directory
//	benchtool floor DIR                 the least work a fingerprint of DIR can be
//	benchtool race [-n N] [-w N] -- NAME ARGS... [::: NAME ARGS...]...
//	benchtool raw-describe ENDPOINT REGION TAG_KEY FINGERPRINT
//
// The generators are deterministic (fixed seeds), so every run hashes the
// same trees.
//
// floor lists DIR, a directory at a time, while all cores open (relative to
// the directory), fstat, read, SHA-256 and close every regular file in it:
// the system calls and hashing that any fingerprint of the tree needs, and
// nothing else (no ignore rules, no symlink checks, no sorting, no
// manifest). It shows how fast a fingerprint of many small files can
// practically be on this machine.
//
// raw-describe is one signed EC2 DescribeImages round trip and nothing
// else, the no-op's lookup made by hand: the query ami-bakery sends (owner
// self, tag:TAG_KEY=FINGERPRINT, state available or pending), signed with
// the SDK's SigV4 signer and the credentials in AWS_ACCESS_KEY_ID and
// AWS_SECRET_ACCESS_KEY, posted with net/http. It prints the first image id
// of the answer. It is the floor of any no-op: a process that makes the one
// call a no-op must make.
//
// race times commands against each other. The machine is shared, so load
// comes and goes: race runs the commands round-robin (after -w warm-up
// rounds, -n measured rounds), so that every command sees the same load, and
// prints for each "NAME MEDIAN_S MIN_S MAX_S MEDIAN_MAXRSS_KIB PAIRED
// MEDIAN_CPU_S PAIRED_CPU". PAIRED is the median, over the rounds, of the
// command's time divided by the first command's time in the same round: a
// ratio that drifting load moves less than a ratio of medians. CPU is the
// command's user and system time (wait4(2)'s rusage), PAIRED_CPU its
// paired ratio: what the command costs the machine, which waiting for a
// core on a loaded machine does not inflate. Peak RSS is ru_maxrss from wait4(2),
// the figure GNU time's %M prints. A command that fails stops the race. "{n}" in an argument becomes a number unique to the
// run (say, to give each build a new fingerprint).
//
// The command "@sha256 FILE..." is the machine's hashing limit, measured in
// race's own process: the files are read into memory once, and each round
// hashes them on GOMAXPROCS goroutines, each its own equal share, with
// crypto/sha256 (SHA-NI where the CPU has it). No I/O, no allocation and no
// coordination: as fast as this machine computes SHA-256 on all its cores.
// Each share is copied into a cache-sized buffer a piece at a time and
// hashed from there, as read(2) hands a fingerprint its bytes: on some CPUs
// (an Intel Xeon VM, 2026-11-28) SHA-256 straight from a buffer far larger
// than the caches ran at 0.7x of that, slower than ami-bakery itself, so it
// was no limit.
package main

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"hash"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintf(os.Stderr, "benchtool: error: %v\n", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) == 0 {
		return errors.New("want a command: gen-large, gen-small, floor or race")
	}
	cmd, args := args[0], args[1:]
	switch {
	case cmd == "gen-large" && len(args) == 3:
		mib, err1 := strconv.Atoi(args[1])
		files, err2 := strconv.Atoi(args[2])
		if err := errors.Join(err1, err2); err != nil || mib < 1 || files < 1 || mib%files != 0 {
			return fmt.Errorf("gen-large: want DIR MIB FILES, with MIB a multiple of FILES")
		}
		return genLarge(args[0], mib, files)
	case cmd == "gen-small" && len(args) == 2:
		n, err := strconv.Atoi(args[1])
		if err != nil || n < 1 {
			return fmt.Errorf("gen-small: want DIR FILES")
		}
		return genSmall(args[0], n)
	case cmd == "floor" && len(args) == 1:
		return floor(args[0])
	case cmd == "raw-describe" && len(args) == 4:
		return rawDescribe(args[0], args[1], args[2], args[3])
	case cmd == "race":
		return race(args)
	case cmd == "spawn":
		return spawn(args)
	}
	return fmt.Errorf("unknown command or wrong arguments: %q", append([]string{cmd}, args...))
}

// fill writes pseudo-random bytes into b.
func fill(rng *rand.ChaCha8, b []byte) {
	_, _ = rng.Read(b) // never fails
}

func genLarge(dir string, mib, files int) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	rng := rand.NewChaCha8([32]byte{1})
	block := make([]byte, 4<<20)
	for i := range files {
		f, err := os.Create(filepath.Join(dir, fmt.Sprintf("disk%d.img", i)))
		if err != nil {
			return err
		}
		for left := (mib / files) << 20; left > 0; left -= len(block) {
			fill(rng, block)
			if _, err := f.Write(block[:min(left, len(block))]); err != nil {
				f.Close()
				return err
			}
		}
		if err := f.Close(); err != nil {
			return err
		}
	}
	return nil
}

// genSmall writes n files of 0 to 4 KiB: 100 to a directory, 20
// directories to a parent, like the Go benchmark BenchmarkComputeSmallFiles.
// File i has the same size and bytes in every run; directories are written
// on all cores, since creating files is most of the time bench/run.sh takes.
func genSmall(dir string, n int) error {
	rng := rand.NewChaCha8([32]byte{2})
	content := make([]byte, 4096)
	fill(rng, content)
	dirs := make(chan int)
	errs := make(chan error, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for range cap(errs) {
		wg.Go(func() {
			buf := slices.Clone(content)
			for d := range dirs {
				if err := genSmallDir(dir, d, min(100, n-d*100), buf); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	for d := 0; d*100 < n; d++ {
		select {
		case dirs <- d:
		case err := <-errs:
			close(dirs)
			wg.Wait()
			return err
		}
	}
	close(dirs)
	wg.Wait()
	select {
	case err := <-errs:
		return err
	default:
		return nil
	}
}

// genSmallDir writes the files of directory d, files d*100 on.
func genSmallDir(root string, d, files int, buf []byte) error {
	dir := filepath.Join(root, fmt.Sprintf("d%03d", d/20), fmt.Sprintf("e%04d", d))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for j := range files {
		i := d*100 + j
		size := rand.New(rand.NewPCG(3, uint64(i))).IntN(len(buf) + 1)
		buf[0], buf[1] = byte(i), byte(i>>8) // no two files alike
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("f%03d.sh", j)), buf[:size], 0o644); err != nil {
			return err
		}
	}
	return nil
}

func floor(dir string) error {
	type batch struct {
		dir   string
		names []string
	}
	batches := make(chan batch, 1024)
	var (
		walkErr error
		wg      sync.WaitGroup
	)
	wg.Go(func() {
		defer close(batches)
		walkErr = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
			if err != nil || !d.IsDir() {
				return err
			}
			ents, err := os.ReadDir(p)
			if err != nil {
				return err
			}
			var names []string
			for _, e := range ents {
				if e.Type().IsRegular() {
					names = append(names, e.Name())
				}
			}
			batches <- batch{p, names}
			return nil
		})
	})
	errs := make([]error, runtime.GOMAXPROCS(0))
	for w := range errs {
		wg.Go(func() {
			buf := make([]byte, 256<<10)
			h := sha256.New()
			for b := range batches {
				if errs[w] != nil {
					continue
				}
				errs[w] = hashDir(b.dir, b.names, h, buf)
			}
		})
	}
	wg.Wait()
	return errors.Join(append(errs, walkErr)...)
}

// hashDir hashes the named files of dir, opened relative to it.
func hashDir(dir string, names []string, h hash.Hash, buf []byte) error {
	dfd, err := syscall.Open(dir, syscall.O_RDONLY|syscall.O_CLOEXEC|syscall.O_DIRECTORY, 0)
	if err != nil {
		return err
	}
	defer syscall.Close(dfd)
	for _, name := range names {
		if err := hashOne(dfd, name, h, buf); err != nil {
			return err
		}
	}
	return nil
}

func hashOne(dfd int, name string, h hash.Hash, buf []byte) error {
	fd, err := syscall.Openat(dfd, name, syscall.O_RDONLY|syscall.O_CLOEXEC|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return err
	}
	defer syscall.Close(fd)
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != nil {
		return err
	}
	h.Reset()
	for n := int64(0); n < st.Size; {
		m, err := syscall.Read(fd, buf)
		if err != nil || m == 0 {
			return err
		}
		h.Write(buf[:m])
		n += int64(m)
	}
	h.Sum(buf[:0])
	return nil
}

// A contender is one command of a race.
type contender struct {
	name  string
	args  []string
	data  []byte // @sha256: the bytes to hash
	times []float64
	rss   []int64 // KiB
	cpu   []float64
}

func race(args []string) error {
	fs := flag.NewFlagSet("race", flag.ContinueOnError)
	rounds := fs.Int("n", 9, "measured rounds")
	warmup := fs.Int("w", 2, "warm-up rounds, not measured")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var cs []*contender
	for group := range strings.SplitSeq(strings.Join(fs.Args(), "\x00"), "\x00:::\x00") {
		f := strings.Split(strings.Trim(group, "\x00"), "\x00")
		if len(f) < 2 {
			return fmt.Errorf("race: want NAME ARGS... for each command, got %q", f)
		}
		c := &contender{name: f[0], args: f[1:]}
		if c.args[0] == "@sha256" {
			var err error
			if c.data, err = readAll(c.args[1:]); err != nil {
				return err
			}
		}
		cs = append(cs, c)
	}
	if *rounds < 1 || len(cs) == 0 {
		return errors.New("race: want at least one round and one command")
	}
	n := 0
	for r := range *warmup + *rounds {
		for _, c := range cs {
			n++
			secs, rss, cpu, err := c.run(n)
			if err != nil {
				return fmt.Errorf("race: %s: %w", c.name, err)
			}
			if r >= *warmup {
				c.times = append(c.times, secs)
				c.rss = append(c.rss, rss)
				c.cpu = append(c.cpu, cpu)
			}
		}
	}
	for _, c := range cs {
		paired := make([]float64, len(c.times))
		pairedCPU := make([]float64, len(c.times))
		for r, t := range c.times {
			paired[r] = t / cs[0].times[r]
			pairedCPU[r] = c.cpu[r] / cs[0].cpu[r]
		}
		slices.Sort(paired)
		slices.Sort(pairedCPU)
		times := slices.Sorted(slices.Values(c.times))
		cpu := slices.Sorted(slices.Values(c.cpu))
		slices.Sort(c.rss)
		fmt.Printf("%s %.6f %.6f %.6f %d %.4f %.6f %.4f\n", c.name, times[len(times)/2], times[0], times[len(times)-1], c.rss[len(c.rss)/2],
			paired[len(paired)/2], cpu[len(cpu)/2], pairedCPU[len(pairedCPU)/2])
	}
	return nil
}

// readAll returns the contents of the files, one after the other, read
// into one allocation of the right size.
func readAll(paths []string) ([]byte, error) {
	sizes := make([]int, len(paths))
	total := 0
	for i, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		sizes[i] = int(fi.Size())
		total += sizes[i]
	}
	data := make([]byte, total)
	off := 0
	for i, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			return nil, err
		}
		_, err = io.ReadFull(f, data[off:off+sizes[i]])
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", p, err)
		}
		off += sizes[i]
	}
	return data, nil
}

// limitBuf is the piece of its share that each @sha256 goroutine copies
// and hashes at a time: well inside a core's L2 cache.
const limitBuf = 256 << 10

// run runs the contender once and returns its wall time, peak RSS and CPU
// time (user and system; for @sha256, race's own process's while it hashes).
func (c *contender) run(n int) (secs float64, rss int64, cpu float64, err error) {
	if c.data != nil {
		workers := runtime.GOMAXPROCS(0)
		share := len(c.data) / workers
		bufs := make([][]byte, workers)
		for w := range bufs {
			bufs[w] = make([]byte, limitBuf)
		}
		before := selfCPU()
		start := time.Now()
		var wg sync.WaitGroup
		for w := range workers {
			part, buf := c.data[w*share:(w+1)*share], bufs[w]
			wg.Go(func() {
				h := sha256.New()
				for len(part) > 0 {
					n := copy(buf, part)
					h.Write(buf[:n])
					part = part[n:]
				}
				h.Sum(nil)
			})
		}
		wg.Wait()
		// Scaled to the whole: the remainder (under one byte per worker)
		// was not hashed.
		scale := float64(len(c.data)) / float64(share*workers)
		return time.Since(start).Seconds() * scale, 0, (selfCPU() - before) * scale, nil
	}
	args := make([]string, len(c.args))
	for i, a := range c.args {
		args[i] = strings.ReplaceAll(a, "{n}", strconv.Itoa(n))
	}
	self, err := os.Executable()
	if err != nil {
		return 0, 0, 0, err
	}
	cmd := exec.Command(self, append([]string{"spawn"}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		tail := stderr.Bytes()
		tail = tail[max(0, len(tail)-2000):]
		return 0, 0, 0, fmt.Errorf("%q: %w\n%s", args, err, tail)
	}
	if _, err := fmt.Sscan(stdout.String(), &secs, &rss, &cpu); err != nil {
		return 0, 0, 0, fmt.Errorf("%q: reading what spawn measured: %w", args, err)
	}
	return secs, rss, cpu, nil
}

// selfCPU returns this process's user and system time so far, in seconds.
func selfCPU() float64 {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru) // cannot fail with RUSAGE_SELF
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// spawn runs a command, its output discarded, and prints its wall time in
// seconds, its peak RSS in KiB and its CPU time (user and system) in
// seconds.
//
// It is a process of its own because of how Linux counts ru_maxrss: a child
// starts out with the peak RSS of the process it was forked from (execve
// records the old address space's peak), and race holds the @sha256 data.
// spawn is small, so the figure is the command's own.
func spawn(args []string) error {
	if len(args) == 0 {
		return errors.New("spawn: want a command")
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stderr = os.Stderr
	start := time.Now()
	err := cmd.Run()
	secs := time.Since(start).Seconds()
	if err != nil {
		return err
	}
	ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		return errors.New("spawn: no resource usage on this system")
	}
	cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
	fmt.Printf("%.6f %d %.6f\n", secs, ru.Maxrss, cpu) // KiB on Linux
	return nil
}
