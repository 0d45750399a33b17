package fingerprint

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// benchLargeMiB is the total size of BenchmarkComputeLargeFiles, 128 MiB
// unless FINGERPRINT_BENCH_MIB says otherwise (a script runs it at 1024).
func benchLargeMiB(b *testing.B) int {
	if s := os.Getenv("FINGERPRINT_BENCH_MIB"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 4 {
			b.Fatalf("FINGERPRINT_BENCH_MIB=%q: want a whole number of MiB, at least 4", s)
		}
		return n
	}
	return 128
}

// BenchmarkComputeLargeFiles hashes four large files; MB/s is the
// throughput of the whole fingerprint.
func BenchmarkComputeLargeFiles(b *testing.B) {
	total := benchLargeMiB(b) << 20
	dir := b.TempDir()
	block := make([]byte, 1<<20)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range block {
		block[i] = byte(rng.Uint32())
	}
	const files = 4
	for i := range files {
		f, err := os.Create(filepath.Join(dir, fmt.Sprintf("disk%d.img", i)))
		mustDo(b, err)
		for j := 0; j < total/files>>20; j++ {
			block[0] = byte(j) // no two blocks alike
			_, err := f.Write(block)
			mustDo(b, err)
		}
		mustDo(b, f.Close())
	}
	for _, alg := range []Algorithm{V2, V1} {
		b.Run(string(alg), func(b *testing.B) {
			b.SetBytes(int64(total))
			for b.Loop() {
				if _, err := Compute(context.Background(), Spec{Algorithm: alg, Dirs: []string{dir}}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkComputeSmallFiles fingerprints 20,000 files of 0 to 4 KiB in
// 200 directories; files/s is the rate.
func BenchmarkComputeSmallFiles(b *testing.B) {
	const dirs, perDir = 200, 100
	root := b.TempDir()
	rng := rand.New(rand.NewPCG(3, 4))
	buf := make([]byte, 4096)
	for i := range buf {
		buf[i] = byte(rng.Uint32())
	}
	for d := range dirs {
		dir := filepath.Join(root, fmt.Sprintf("d%03d", d/20), fmt.Sprintf("e%03d", d))
		mustDo(b, os.MkdirAll(dir, 0o755))
		for i := range perDir {
			mustDo(b, os.WriteFile(filepath.Join(dir, fmt.Sprintf("f%03d.sh", i)), buf[:rng.IntN(len(buf))], 0o644))
		}
	}
	for _, alg := range []Algorithm{V2, V1} {
		b.Run(string(alg), func(b *testing.B) {
			for b.Loop() {
				res, err := Compute(context.Background(), Spec{Algorithm: alg, Dirs: []string{root}})
				if err != nil {
					b.Fatal(err)
				}
				if len(res.Inputs) != dirs*perDir {
					b.Fatalf("%d inputs, want %d", len(res.Inputs), dirs*perDir)
				}
			}
			b.ReportMetric(float64(dirs*perDir*b.N)/b.Elapsed().Seconds(), "files/s")
		})
	}
}
