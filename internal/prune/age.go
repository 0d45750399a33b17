package prune

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// maxAgeDays is the most whole days a time.Duration holds (about 292
// years): more would wrap around, and an age of -292 years keeps nothing
// (--min-age) or writes a prune-after date in the past (--grace).
const maxAgeDays = math.MaxInt64 / int64(24*time.Hour)

// ParseAge reads an age: a Go duration (36h, 0s) or whole days (14d). An
// age a time.Duration cannot hold is an error, never wrapped around.
func ParseAge(s string) (time.Duration, error) {
	if d, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.ParseInt(d, 10, 64)
		switch {
		case errors.Is(err, strconv.ErrRange) || err == nil && n > maxAgeDays:
			return 0, fmt.Errorf("invalid age %q: at most %dd", s, maxAgeDays)
		case err != nil || n < 0:
			return 0, fmt.Errorf("invalid age %q: days are a whole number, e.g. 14d", s)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("invalid age %q: give days (14d) or a duration (36h, 0s) of at most %dd", s, maxAgeDays)
	}
	return d, nil
}
