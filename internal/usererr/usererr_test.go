package usererr

import (
	"errors"
	"fmt"
	"reflect"
	"testing"
)

func TestHintsAndUsage(t *testing.T) {
	base := errors.New("reading template")
	tests := []struct {
		name      string
		err       error
		wantHints []string
		wantUsage bool
	}{
		{"nil", nil, nil, false},
		{"plain", base, nil, false},
		{"one hint", WithHint(base, "check %s", "the path"), []string{"check the path"}, false},
		{"wrapped hint", fmt.Errorf("baking: %w", WithHint(base, "a")), []string{"a"}, false},
		{"nested hints", WithHint(fmt.Errorf("x: %w", WithHint(base, "inner")), "outer"), []string{"outer", "inner"}, false},
		{"joined", errors.Join(WithHint(base, "a"), WithHint(base, "b")), []string{"a", "b"}, false},
		{"usage", Usagef("bad flag %q", "--x"), nil, true},
		{"usage with hint", WithHint(Usage(base), "see --help"), []string{"see --help"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Hints(tt.err); !reflect.DeepEqual(got, tt.wantHints) {
				t.Errorf("Hints = %q, want %q", got, tt.wantHints)
			}
			if got := IsUsage(tt.err); got != tt.wantUsage {
				t.Errorf("IsUsage = %v, want %v", got, tt.wantUsage)
			}
			if tt.err != nil && !errors.Is(tt.err, tt.err) {
				t.Errorf("errors.Is(self) false")
			}
		})
	}
	if WithHint(nil, "x") != nil || Usage(nil) != nil {
		t.Error("nil error must stay nil")
	}
}
