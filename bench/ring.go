package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/dynamokv/dynamo/ring"
)

// ringRow is one line of `bench ring --json`.
type ringRow struct {
	Case          string  `json:"case"`
	Nodes         int     `json:"nodes"`
	Partitions    int     `json:"partitions"`
	N             int     `json:"n"`
	Balance       float64 `json:"balance"`
	JoinMovement  float64 `json:"join_movement"`
	LeaveMovement float64 `json:"leave_movement"`
}

func runRing(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bench ring", flag.ContinueOnError)
	fs.SetOutput(stderr)
	q := fs.Int("partitions", 256, "Q, partitions in the ring (power of two, 8..1024)")
	n := fs.Int("n", 3, "replicas per partition")
	lo := fs.Int("min", 3, "smallest cluster size")
	hi := fs.Int("max", 50, "largest cluster size")
	cases := fs.String("cases", "equal,mixed,zones", "comma-separated cases: equal (weights 1), mixed (weights 1,2,3 in turn), zones (3 zones, weights 1)")
	asJSON := fs.Bool("json", false, "print JSON lines instead of a table")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: bench ring [flags]\n\nFor each cluster size from -min to -max, prints the balance (largest load ÷\ncapacity-weighted share) and the movement when one node joins and when one\nleaves (replicas that change hands ÷ the ideal number; the worst case over\nthree joiners and over every node leaving).")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *lo < 1 || *hi < *lo {
		fmt.Fprintf(stderr, "bench ring: -min must be at least 1 and -max at least -min (got %d, %d)\n", *lo, *hi)
		return 2
	}
	var rows []ringRow
	for _, c := range splitList(*cases) {
		for size := *lo; size <= *hi; size++ {
			members, joiners, err := ringCase(c, size)
			if err != nil {
				fmt.Fprintf(stderr, "bench ring: %v\n", err)
				return 2
			}
			qual, err := ring.Evaluate(ring.Config{Partitions: *q, N: *n}, members, joiners)
			if err != nil {
				fmt.Fprintf(stderr, "bench ring: %v\n", err)
				return 2
			}
			row := ringRow{Case: c, Nodes: size, Partitions: *q, N: *n, Balance: qual.Balance, JoinMovement: qual.JoinMovement, LeaveMovement: qual.LeaveMovement}
			rows = append(rows, row)
			if *asJSON {
				b, _ := json.Marshal(row)
				fmt.Fprintln(stdout, string(b))
			}
		}
	}
	if !*asJSON {
		printRingTable(stdout, rows)
	}
	return 0
}

func ringCase(name string, size int) (members, joiners []ring.Member, err error) {
	members = ring.Nodes(size)
	for k := range 3 {
		joiners = append(joiners, ring.Member{Name: fmt.Sprintf("joiner-%d", k), Weight: 1})
	}
	switch name {
	case "equal":
	case "mixed":
		for i := range members {
			members[i].Weight = 1 + i%3
		}
		for k := range joiners {
			joiners[k].Weight = 1 + k%3
		}
	case "zones":
		for i := range members {
			members[i].Zone = fmt.Sprintf("zone-%d", i%3)
		}
		for k := range joiners {
			joiners[k].Zone = fmt.Sprintf("zone-%d", k%3)
		}
	default:
		return nil, nil, fmt.Errorf("unknown case %q (known: equal, mixed, zones)", name)
	}
	return members, joiners, nil
}

func printRingTable(w io.Writer, rows []ringRow) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "case\tnodes\tQ\tN\tbalance\tjoin movement\tleave movement\t")
	worst := map[string]*ringRow{}
	var order []string
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%.3f\t%.3f\t%.3f\t\n", r.Case, r.Nodes, r.Partitions, r.N, r.Balance, r.JoinMovement, r.LeaveMovement)
		wr, ok := worst[r.Case]
		if !ok {
			wr = &ringRow{Case: r.Case}
			worst[r.Case] = wr
			order = append(order, r.Case)
		}
		wr.Balance = max(wr.Balance, r.Balance)
		wr.JoinMovement = max(wr.JoinMovement, r.JoinMovement)
		wr.LeaveMovement = max(wr.LeaveMovement, r.LeaveMovement)
	}
	for _, c := range order {
		wr := worst[c]
		fmt.Fprintf(tw, "%s\tworst\t\t\t%.3f\t%.3f\t%.3f\t\n", c, wr.Balance, wr.JoinMovement, wr.LeaveMovement)
	}
	tw.Flush()
}

func splitList(s string) []string {
	var out []string
	start := 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == ',' {
			if i > start {
				out = append(out, s[start:i])
			}
			start = i + 1
		}
	}
	return out
}
