package chaos

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
)

// network gives every node its own network namespace on a private bridge,
// so that partitions are real packet drops: blackhole routes inside the
// namespaces of the two sides. It needs root and the ip command; the
// namespaces, the bridge and the host's link to it exist only for the run.
type network struct {
	prefix string   // names of this run's namespaces and links
	ips    []string // node i's address
	host   string   // the host's address on the bridge (the clients')
	down   []string // teardown commands, in order
}

// netnsAvailable says whether partitions can be injected here, and why not.
func netnsAvailable() error {
	if os.Geteuid() != 0 {
		return errors.New("not root")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		return errors.New("no ip command (iproute2)")
	}
	return nil
}

func ipcmd(args ...string) error {
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// setupNetwork creates a bridge namespace, one namespace per node linked to
// it by a veth pair, and a veth from the host to the bridge. Addresses are
// 10.213.S.(i+1)/24 for node i and .254 for the host, S chosen from the
// process id so that concurrent runs do not meet.
func setupNetwork(nodes int) (*network, error) {
	pid := os.Getpid()
	subnet := fmt.Sprintf("10.213.%d", 20+pid%200)
	x := &network{prefix: fmt.Sprintf("dy%d", pid%100000), host: subnet + ".254"}
	br := x.prefix + "br"
	steps := [][]string{{"netns", "add", br}}
	x.down = append(x.down, "netns del "+br)
	steps = append(steps,
		[]string{"-n", br, "link", "add", "br0", "type", "bridge"},
		[]string{"-n", br, "link", "set", "br0", "up"},
		[]string{"link", "add", x.prefix + "h", "type", "veth", "peer", "name", x.prefix + "hb"},
		[]string{"link", "set", x.prefix + "hb", "netns", br},
		[]string{"-n", br, "link", "set", x.prefix + "hb", "master", "br0", "up"},
		[]string{"addr", "add", x.host + "/24", "dev", x.prefix + "h"},
		[]string{"link", "set", x.prefix + "h", "up"},
	)
	x.down = append(x.down, "link del "+x.prefix+"h")
	for i := range nodes {
		ns := fmt.Sprintf("%sn%d", x.prefix, i)
		ip := fmt.Sprintf("%s.%d", subnet, i+1)
		x.ips = append(x.ips, ip)
		v, vb := fmt.Sprintf("%sv%d", x.prefix, i), fmt.Sprintf("%sb%d", x.prefix, i)
		steps = append(steps,
			[]string{"netns", "add", ns},
			[]string{"-n", ns, "link", "set", "lo", "up"},
			[]string{"link", "add", v, "type", "veth", "peer", "name", vb},
			[]string{"link", "set", v, "netns", ns},
			[]string{"link", "set", vb, "netns", br},
			[]string{"-n", br, "link", "set", vb, "master", "br0", "up"},
			[]string{"-n", ns, "addr", "add", ip + "/24", "dev", v},
			[]string{"-n", ns, "link", "set", v, "up"},
		)
		x.down = append(x.down, "netns del "+ns)
	}
	for _, s := range steps {
		if err := ipcmd(s...); err != nil {
			x.teardown()
			return nil, err
		}
	}
	return x, nil
}

func (x *network) ns(i int) string { return fmt.Sprintf("%sn%d", x.prefix, i) }

// command runs name with args inside node i's namespace (ip netns exec
// execs it: the process is the command itself).
func (x *network) command(i int, name string, args ...string) *exec.Cmd {
	return exec.Command("ip", append([]string{"netns", "exec", x.ns(i), name}, args...)...)
}

// block drops every packet between each pair: a blackhole route to the
// other's address in both namespaces.
func (x *network) block(pairs [][2]int) error {
	var errs []error
	for _, p := range pairs {
		errs = append(errs,
			ipcmd("-n", x.ns(p[0]), "route", "add", "blackhole", x.ips[p[1]]+"/32"),
			ipcmd("-n", x.ns(p[1]), "route", "add", "blackhole", x.ips[p[0]]+"/32"))
	}
	return errors.Join(errs...)
}

// heal removes every blackhole route.
func (x *network) heal() error {
	var errs []error
	for i := range x.ips {
		errs = append(errs, ipcmd("-n", x.ns(i), "route", "flush", "type", "blackhole"))
	}
	return errors.Join(errs...)
}

// teardown deletes the namespaces and links (their veths go with them).
func (x *network) teardown() {
	for i := len(x.down) - 1; i >= 0; i-- {
		_ = ipcmd(strings.Fields(x.down[i])...)
	}
}
