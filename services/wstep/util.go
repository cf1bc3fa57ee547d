package wstep

import (
	"fmt"
	"strconv"
)

func sprintf(format string, a ...any) string { return fmt.Sprintf(format, a...) }

func formatUint(n uint64) string { return strconv.FormatUint(n, 10) }
