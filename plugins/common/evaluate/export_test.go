package evaluate

// WithMaxHeld lowers the number of allocations a list holds while the users are read.
func WithMaxHeld(o Options, n int) Options {
	o.maxHeld = n
	return o
}
