package testkit

import "os"

// Long reports whether ZEST_TEST_LONG is set (make test-long): tests then
// run at full size, such as a 100 000-row import, where the default run
// checks the same behaviour on a size that keeps make test quick.
func Long() bool { return os.Getenv("ZEST_TEST_LONG") != "" }
