package netns

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Network is a bridge namespace, one namespace per node linked to it by a
// veth pair, and a veth from the host to the bridge.
type Network struct {
	prefix string   // names of this network's namespaces and links
	ips    []string // node i's address
	host   string   // the host's address on the bridge
	down   []string // teardown commands, in order
}

// Available says whether namespaces can be made here, and why not.
func Available() error {
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

// Setup creates the network for nodes nodes. Addresses are 10.213.S.(i+1)/24
// for node i and .254 for the host, S chosen from the process id and salt
// so that concurrent networks do not meet.
func Setup(nodes, salt int) (*Network, error) {
	pid := os.Getpid() + 7919*salt
	subnet := fmt.Sprintf("10.213.%d", 20+pid%200)
	x := &Network{prefix: fmt.Sprintf("dy%d", pid%100000), host: subnet + ".254"}
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
		ns := x.NS(i)
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
			x.Teardown()
			return nil, err
		}
	}
	return x, nil
}

// NS is node i's namespace name.
func (x *Network) NS(i int) string { return fmt.Sprintf("%sn%d", x.prefix, i) }

// IP is node i's address.
func (x *Network) IP(i int) string { return x.ips[i] }

// Host is the host's address on the bridge: where a test's clients listen
// so that the nodes can reach them.
func (x *Network) Host() string { return x.host }

// Command runs name with args inside node i's namespace (ip netns exec
// execs it: the process is the command itself).
func (x *Network) Command(i int, name string, args ...string) *exec.Cmd {
	return exec.Command("ip", append([]string{"netns", "exec", x.NS(i), name}, args...)...)
}

// SetHosts writes node i's hosts file, which its processes see as
// /etc/hosts: call it before the first Command in that namespace; later
// calls rewrite the same file in place, and running processes see the new
// content.
func (x *Network) SetHosts(i int, content string) error {
	dir := filepath.Join("/etc/netns", x.NS(i))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	x.down = append(x.down, "rm "+dir)
	return os.WriteFile(filepath.Join(dir, "hosts"), []byte(content), 0o644)
}

// Block drops every packet between each pair: a blackhole route to the
// other's address in both namespaces.
func (x *Network) Block(pairs [][2]int) error {
	var errs []error
	for _, p := range pairs {
		errs = append(errs,
			ipcmd("-n", x.NS(p[0]), "route", "add", "blackhole", x.ips[p[1]]+"/32"),
			ipcmd("-n", x.NS(p[1]), "route", "add", "blackhole", x.ips[p[0]]+"/32"))
	}
	return errors.Join(errs...)
}

// Heal removes every blackhole route.
func (x *Network) Heal() error {
	var errs []error
	for i := range x.ips {
		errs = append(errs, ipcmd("-n", x.NS(i), "route", "flush", "type", "blackhole"))
	}
	return errors.Join(errs...)
}

// Teardown deletes the namespaces, links (their veths go with them) and
// hosts files.
func (x *Network) Teardown() {
	for i := len(x.down) - 1; i >= 0; i-- {
		if dir, ok := strings.CutPrefix(x.down[i], "rm "); ok {
			_ = os.RemoveAll(dir)
			continue
		}
		_ = ipcmd(strings.Fields(x.down[i])...)
	}
}
