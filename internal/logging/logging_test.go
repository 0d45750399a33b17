package logging

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestText(t *testing.T) {
	var b bytes.Buffer
	l := New(&b, "text").With("region", "us-east-1")
	l.Info("found", "ami", "ami-1", "note", "two words")
	l.Warn("careful")
	want := "ami-bakery: found region=us-east-1 ami=ami-1 note=\"two words\"\nami-bakery: warning: careful region=us-east-1\n"
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}

func TestJSONLines(t *testing.T) {
	var b bytes.Buffer
	w := Lines(New(&b, "json"), "packer")
	w.Write([]byte("==> one\n==> tw"))
	w.Write([]byte("o\npartial"))
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("got %d records: %q", len(lines), b.String())
	}
	var rec map[string]any
	if err := json.Unmarshal([]byte(lines[1]), &rec); err != nil {
		t.Fatal(err)
	}
	if rec["msg"] != "==> two" || rec["source"] != "packer" {
		t.Errorf("record %v", rec)
	}
}
