package awsemu

// EC2's limits on the filters of one Describe call. Both are refused with
// FilterLimitExceeded, in EC2's words. The count is over all the filters of
// the call together, which is what EC2's message says ("on a single call");
// a client that keeps under it per call is safe either way.
const (
	maxFilterValues      = 200
	maxFilterValueLength = 255
)

// checkFilterLimits refuses filters that EC2 would refuse: more than 200
// values in one call, or a value longer than 255 characters.
func checkFilterLimits(fs []filter) error {
	n := 0
	for _, f := range fs {
		n += len(f.values)
		for _, v := range f.values {
			if len([]rune(v)) > maxFilterValueLength {
				return errorf("FilterLimitExceeded", "The maximum length for a filter value is %d characters", maxFilterValueLength)
			}
		}
	}
	if n > maxFilterValues {
		return errorf("FilterLimitExceeded", "The maximum number of filter values specified on a single call is %d", maxFilterValues)
	}
	return nil
}
