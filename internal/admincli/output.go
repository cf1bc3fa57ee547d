package admincli

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// printJSON writes m as indented protobuf JSON. protojson varies its
// whitespace on purpose; re-indenting with encoding/json makes the output
// stable for scripts and diffs.
func (c *cli) printJSON(m proto.Message) error {
	b, err := protojson.Marshal(m)
	if err != nil {
		return fmt.Errorf("encoding JSON: %w", err)
	}
	var buf bytes.Buffer
	if err := json.Indent(&buf, b, "", "  "); err != nil {
		return fmt.Errorf("encoding JSON: %w", err)
	}
	buf.WriteByte('\n')
	_, err = c.stdout.Write(buf.Bytes())
	return err
}

// table writes an aligned table with a header row.
func (c *cli) table(header []string, rows [][]string) error {
	tw := tabwriter.NewWriter(c.stdout, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, r := range rows {
		for i := range r {
			r[i] = cell(r[i])
		}
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	return tw.Flush()
}

// cell keeps a table cell on one line and never empty.
func cell(s string) string {
	if s == "" {
		return "-"
	}
	return strings.NewReplacer("\t", " ", "\n", " ", "\r", " ").Replace(s)
}

// field is one line of a show block.
type field struct {
	key, value string
}

// fields writes "key: value" lines with the values aligned.
func (c *cli) fields(fs []field) error {
	tw := tabwriter.NewWriter(c.stdout, 0, 8, 1, ' ', 0)
	for _, f := range fs {
		v := f.value
		if v == "" {
			v = "-"
		}
		fmt.Fprintf(tw, "%s:\t%s\n", f.key, strings.ReplaceAll(v, "\n", " "))
	}
	return tw.Flush()
}

// say writes one line of text output to stdout.
func (c *cli) say(format string, a ...any) error {
	_, err := fmt.Fprintf(c.stdout, format+"\n", a...)
	return err
}

// note writes a remark for the human on stderr, away from the output.
func (c *cli) note(format string, a ...any) {
	fmt.Fprintf(c.stderr, format+"\n", a...)
}

// ts formats a timestamp as RFC 3339 UTC, "-" when absent.
func ts(t *timestamppb.Timestamp) string {
	if t == nil {
		return "-"
	}
	return t.AsTime().UTC().Format(time.RFC3339)
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// limitString shows a limit where 0 means none.
func limitString(n int64) string {
	if n == 0 {
		return "unlimited"
	}
	return strconv.FormatInt(n, 10)
}

func hexString(b []byte) string {
	if len(b) == 0 {
		return "-"
	}
	return hex.EncodeToString(b)
}

func list(s []string) string { return strings.Join(s, ", ") }

// pemBlocks encodes DER values as PEM blocks of one type, in order.
func pemBlocks(typ string, ders ...[]byte) []byte {
	var buf bytes.Buffer
	for _, d := range ders {
		if len(d) == 0 {
			continue
		}
		_ = pem.Encode(&buf, &pem.Block{Type: typ, Bytes: d})
	}
	return buf.Bytes()
}

// writePEM writes PEM to the file out, or to stdout when out is empty.
func (c *cli) writePEM(out string, data []byte) error {
	if out == "" {
		_, err := c.stdout.Write(data)
		return err
	}
	if err := os.WriteFile(out, data, 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", out, err)
	}
	return nil
}

// emit prints m as JSON under --json, and runs text otherwise.
func (c *cli) emit(m proto.Message, text func() error) error {
	if c.g.json {
		return c.printJSON(m)
	}
	return text()
}
