package prune

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ParseAge reads an age: a Go duration (36h, 0s) or whole days (14d).
func ParseAge(s string) (time.Duration, error) {
	if d, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(d)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("invalid age %q: days are a whole number, e.g. 14d", s)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("invalid age %q: give days (14d) or a duration (36h, 0s)", s)
	}
	return d, nil
}
