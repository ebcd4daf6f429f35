//go:build unix

package node

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"maps"
	"math"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dynamokv/dynamo/status"
)

// The status web page, as a browser draws it: a real 3-node cluster with
// one node stopped, node 1's page loaded in headless Chromium (so its
// JavaScript runs, fetches /status and draws it), and the DOM Chromium
// dumps checked against the status document: every member with its state
// (the stopped one down), one ring segment per partition owned by the
// partition's first owner, partitions with the down owner marked, the
// hints pending, and the request figures.
func TestStatusPageInChromium(t *testing.T) {
	if secureAll {
		t.Skip("DYNAMO_TEST_TLS=1: the status page test runs in the plain pass (headless Chromium has no client certificate here)")
	}
	browser := findChromium(t)
	h := startCluster(t, 3, func(c *Config) { c.HTTPAddr, c.HistoryInterval = "127.0.0.1:0", 100*time.Millisecond })
	for i := range 5 {
		if r := h.put(h.nodes[0], fmt.Sprintf("before/%d", i), "v", nil, 3); r.GetError() != nil {
			t.Fatalf("put: %v", r.GetError())
		}
	}
	h.stop(2)
	h.waitMembers(3, 2)
	// Writes while n3 is down leave hints for it, so the page has a
	// non-zero count to show.
	for i := range 5 {
		if r := h.put(h.nodes[0], fmt.Sprintf("during/%d", i), "v", nil, 2); r.GetError() != nil {
			t.Fatalf("put with n3 down: %v", r.GetError())
		}
	}
	if r := h.get(h.nodes[0], "missing", 2); r.GetError() != nil {
		t.Fatalf("get: %v", r.GetError())
	}

	base := "http://" + h.nodes[0].HTTPAddr()
	before := fetchStatus(t, base)
	for deadline := time.Now().Add(5 * time.Second); before.Stats.HintsPending == 0; before = fetchStatus(t, base) {
		if time.Now().After(deadline) {
			t.Fatalf("n1 holds no hints for n3 after 5 writes while it was down: %+v", before.Stats)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// The charts need a few samples with every member's figures.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if hd := fetchHistory(t, base); len(hd.Points) >= 3 && len(hd.Points[len(hd.Points)-1].Nodes) == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no history with both up members' figures: %+v", fetchHistory(t, base))
		}
	}
	const inspected = "before/1"
	start := time.Now()
	dom := dumpDOM(t, browser, base+"/#inspect="+url.QueryEscape(inspected))
	t.Logf("chromium took %v, dumped %d bytes", time.Since(start).Round(time.Millisecond), len(dom))
	after := fetchStatus(t, base)
	// The cluster must hold still while the browser looks at it, or the
	// comparison below means nothing.
	if !slices.EqualFunc(before.Ring, after.Ring, slices.Equal) || !slices.Equal(before.Members, after.Members) {
		t.Fatalf("the cluster changed while the page loaded:\n%+v\n%+v", before, after)
	}
	page := parseDOM(dom)
	checkStatusPage(t, page, after, before)
	checkCharts(t, page, fetchHistory(t, base), after)
	checkInspector(t, page, fetchInspection(t, base, inspected))
}

// checkCharts checks the charts against the history fetched after the page
// was dumped (the page's is a prefix of it): every chart drawn, a line per
// operation and per member that is up, each line with a point per sample,
// the members' lines in their ring colours; and that the members' colours
// are far apart.
func checkCharts(t *testing.T, page []domTag, later status.HistoryDoc, doc status.Document) {
	points := -1
	var lastAt int64
	lines := map[string]map[string]domTag{} // chart id → series → polyline
	chart := ""
	for _, e := range page {
		if e.attrs["id"] == "charts" {
			points, _ = strconv.Atoi(e.attrs["data-points"])
			lastAt, _ = strconv.ParseInt(e.attrs["data-last-at"], 10, 64)
		}
		if e.name == "figure" && e.attrs["class"] == "chart" {
			chart = e.attrs["id"]
			lines[chart] = map[string]domTag{}
		}
		if e.name == "polyline" && chart != "" {
			lines[chart][e.attrs["data-series"]] = e
		}
	}
	if points < 3 {
		t.Fatalf("the charts show %d points; the history had at least 3", points)
	}
	for _, id := range []string{"chart-rate", "chart-p99", "chart-errors", "chart-hints", "chart-repairs", "chart-keys", "chart-bytes"} {
		if lines[id] == nil {
			t.Errorf("no chart %s", id)
		}
	}
	// The page's last point, found by its time in the later history.
	at := slices.IndexFunc(later.Points, func(p status.Point) bool { return p.At == lastAt })
	if at < 0 {
		t.Fatalf("the page's last point (at %d) is not in the history fetched after it", lastAt)
	}
	shown := later.Points[:at+1]
	for _, op := range []string{"put", "get"} {
		l, ok := lines["chart-rate"][op]
		if !ok {
			t.Errorf("the request chart has no %s line: %v", op, lines["chart-rate"])
			continue
		}
		if l.attrs["data-count"] != strconv.Itoa(points) {
			t.Errorf("the %s line has %s points, want %d", op, l.attrs["data-count"], points)
		}
		if want := shown[len(shown)-1].Ops[op].Rate; l.attrs["data-last"] != strconv.FormatFloat(want, 'f', -1, 64) && !(want == 0 && l.attrs["data-last"] == "0") {
			t.Errorf("the %s line ends at %s, the history at %v", op, l.attrs["data-last"], want)
		}
	}
	fill := map[string]string{}
	for _, m := range doc.Members {
		if m.State != "up" {
			continue
		}
		for _, id := range []string{"chart-keys", "chart-bytes"} {
			l, ok := lines[id][m.Name]
			if !ok {
				t.Errorf("%s has no line for %s", id, m.Name)
				continue
			}
			if want := strconv.FormatUint(shown[len(shown)-1].Nodes[m.Name].Keys, 10); id == "chart-keys" && l.attrs["data-last"] != want {
				t.Errorf("%s's keys line ends at %s, the history at %s", m.Name, l.attrs["data-last"], want)
			}
			fill[m.Name] = l.attrs["stroke"]
		}
	}
	// A member's lines are in its ring colour.
	for _, e := range page {
		if owner := e.attrs["data-owner"]; e.name == "path" && fill[owner] != "" && e.attrs["fill"] != fill[owner] {
			t.Errorf("%s's ring segments are %s, its chart lines %s", owner, e.attrs["fill"], fill[owner])
		}
	}
	// Members' colours far apart: at least 100 in RGB distance.
	names := slices.Sorted(maps.Keys(fill))
	for i, a := range names {
		for _, b := range names[i+1:] {
			if d := rgbDistance(t, fill[a], fill[b]); d < 100 {
				t.Errorf("%s (%s) and %s (%s) are %0.f apart in RGB, want at least 100", a, fill[a], b, fill[b], d)
			}
		}
	}
}

// rgbDistance is the Euclidean distance of two #rrggbb colours.
func rgbDistance(t *testing.T, a, b string) float64 {
	parse := func(c string) [3]float64 {
		var r, g, bl int
		if _, err := fmt.Sscanf(c, "#%02x%02x%02x", &r, &g, &bl); err != nil {
			t.Fatalf("colour %q is not #rrggbb", c)
		}
		return [3]float64{float64(r), float64(g), float64(bl)}
	}
	x, y := parse(a), parse(b)
	return math.Sqrt((x[0]-y[0])*(x[0]-y[0]) + (x[1]-y[1])*(x[1]-y[1]) + (x[2]-y[2])*(x[2]-y[2]))
}

// checkInspector checks the inspector the page opened (#inspect=KEY)
// against the inspection fetched after: a row per owner with its digest
// and its siblings' dots, and the verdict.
func checkInspector(t *testing.T, page []domTag, in status.Inspection) {
	rows := map[string]domTag{}
	dots := map[string][]string{}
	state, verdict, cur := "", "", ""
	for _, e := range page {
		switch {
		case e.attrs["id"] == "inspect-result":
			state = e.attrs["data-state"]
			if e.attrs["data-key"] != in.Key {
				t.Errorf("the inspector shows key %q, want %q", e.attrs["data-key"], in.Key)
			}
		case e.attrs["id"] == "inspect-verdict":
			verdict = e.attrs["data-agree"]
		case e.name == "tr" && e.attrs["data-replica"] != "":
			cur = e.attrs["data-replica"]
			rows[cur] = e
		case e.name == "li" && e.attrs["data-dot"] != "" && cur != "":
			dots[cur] = append(dots[cur], e.attrs["data-dot"])
		}
	}
	if state != "done" {
		t.Fatalf("the inspector is %q, want done", state)
	}
	if verdict != strconv.FormatBool(in.Agree) {
		t.Errorf("the inspector's verdict agree=%s, the inspection's %v", verdict, in.Agree)
	}
	if len(rows) != len(in.Replicas) {
		t.Fatalf("the inspector shows %d owners, want %d", len(rows), len(in.Replicas))
	}
	for _, r := range in.Replicas {
		row, ok := rows[r.Node]
		if !ok || row.attrs["data-digest"] != r.Digest || row.attrs["data-found"] != strconv.FormatBool(r.Found) {
			t.Errorf("owner %s: row %v, want digest %q found %v", r.Node, row.attrs, r.Digest, r.Found)
		}
		var want []string
		for _, s := range r.Siblings {
			want = append(want, s.Dot)
		}
		if !slices.Equal(dots[r.Node], want) {
			t.Errorf("owner %s shows dots %v, want %v", r.Node, dots[r.Node], want)
		}
	}
	if in.Agree {
		t.Errorf("the inspection agrees with n3 down: %+v", in)
	}
}

// checkStatusPage compares the page with doc. Figures that may move while
// the page loads (hints pending) may equal either doc or earlier.
func checkStatusPage(t *testing.T, page []domTag, doc, earlier status.Document) {
	byID := map[string]domTag{}
	for _, e := range page {
		if id := e.attrs["id"]; id != "" {
			byID[id] = e
		}
	}
	text := func(id string) string {
		e, ok := byID[id]
		if !ok {
			t.Fatalf("the page has no #%s", id)
		}
		return strings.TrimSpace(e.text)
	}
	number := func(id string) uint64 {
		s := strings.ReplaceAll(text(id), ",", "")
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("#%s shows %q, not a number", id, text(id))
		}
		return v
	}

	if _, hidden := byID["error"].attrs["hidden"]; !hidden {
		t.Errorf("the page shows an error: %q", text("error"))
	}
	if got := text("node-name"); got != doc.Node {
		t.Errorf("node name %q, want %q", got, doc.Node)
	}
	if got := text("node-addr"); got != doc.Addr {
		t.Errorf("node address %q, want %q", got, doc.Addr)
	}
	for id, want := range map[string]int{"q": doc.Partitions, "n": doc.N, "r": doc.R, "w": doc.W} {
		if got := number(id); got != uint64(want) {
			t.Errorf("#%s shows %d, want %d", id, got, want)
		}
	}
	if got := text("refreshed"); got == "never" || got == "" {
		t.Errorf("the page never refreshed (#refreshed %q)", got)
	}

	// Members: a row per member, with its state in the row and its badge.
	state := map[string]string{}
	for _, m := range doc.Members {
		state[m.Name] = m.State
	}
	if state["n3"] != "down" {
		t.Fatalf("the status document has n3 %q, want down: %+v", state["n3"], doc.Members)
	}
	type row struct{ state, badge, partitions string }
	rows := map[string]*row{}
	var cur *row
	for _, e := range page {
		if name, ok := e.attrs["data-member"]; ok && e.name == "tr" {
			if rows[name] != nil {
				t.Errorf("member %s has two rows", name)
			}
			cur = &row{state: e.attrs["data-state"]}
			rows[name] = cur
		}
		if e.name == "/tr" {
			cur = nil
		}
		if cur != nil {
			if _, ok := e.attrs["data-health"]; ok {
				cur.badge = strings.TrimSpace(e.text)
			}
			if p, ok := e.attrs["data-partitions"]; ok {
				cur.partitions = p
			}
		}
	}
	if len(rows) != len(doc.Members) {
		t.Errorf("%d member rows, want %d", len(rows), len(doc.Members))
	}
	for _, m := range doc.Members {
		r := rows[m.Name]
		switch {
		case r == nil:
			t.Errorf("no row for member %s", m.Name)
		case r.state != m.State || r.badge != m.State:
			t.Errorf("member %s shows state %q, badge %q; want %q", m.Name, r.state, r.badge, m.State)
		case r.partitions != strconv.Itoa(m.Partitions):
			t.Errorf("member %s shows %s partitions, want %d", m.Name, r.partitions, m.Partitions)
		}
	}

	// The ring: one segment per partition, in order, coloured by its first
	// owner; the hover title names the owners; a down owner marks it.
	var segs []domTag
	var titles []string
	for i, e := range page {
		if _, ok := e.attrs["data-partition"]; ok && e.name == "path" {
			segs = append(segs, e)
			title := ""
			if i+1 < len(page) && page[i+1].name == "title" {
				title = page[i+1].text
			}
			titles = append(titles, title)
		}
	}
	if len(segs) != doc.Partitions || len(doc.Ring) != doc.Partitions {
		t.Fatalf("%d ring segments, want Q = %d (the document's ring has %d)", len(segs), doc.Partitions, len(doc.Ring))
	}
	fills := map[string]string{}  // owner → fill
	owners := map[string]string{} // fill → owner
	degraded := 0
	for p, s := range segs {
		owner, fill := s.attrs["data-owner"], s.attrs["fill"]
		if s.attrs["data-partition"] != strconv.Itoa(p) || owner != doc.Ring[p][0] {
			t.Errorf("segment %d is partition %s owned by %q, want partition %d owned by %q", p, s.attrs["data-partition"], owner, p, doc.Ring[p][0])
		}
		if want := fmt.Sprintf("partition %d: owners %s", p, strings.Join(doc.Ring[p], ", ")); !strings.HasPrefix(titles[p], want) {
			t.Errorf("segment %d's title %q, want %q", p, titles[p], want)
		}
		if f, ok := fills[owner]; ok && f != fill {
			t.Errorf("owner %s is drawn in %s and %s", owner, f, fill)
		}
		if o, ok := owners[fill]; ok && o != owner {
			t.Errorf("%s and %s share the colour %s", o, owner, fill)
		}
		fills[owner], owners[fill] = fill, owner
		down := slices.ContainsFunc(doc.Ring[p], func(o string) bool { return state[o] == "down" })
		if down {
			degraded++
		}
		if got := s.attrs["data-degraded"] == "true"; got != down {
			t.Errorf("partition %d marked degraded=%v, want %v (owners %v)", p, got, down, doc.Ring[p])
		}
	}
	marks := 0
	for _, e := range page {
		if _, ok := e.attrs["data-mark"]; ok {
			marks++
		}
	}
	if marks != degraded {
		t.Errorf("%d partitions drawn with the down-owner band, want %d", marks, degraded)
	}
	legend := 0
	for _, e := range page {
		if name, ok := e.attrs["data-legend"]; ok {
			legend++
			if _, ok := state[name]; !ok {
				t.Errorf("the legend names %q, not a member", name)
			}
		}
	}
	if legend != len(doc.Members) {
		t.Errorf("the legend has %d entries, want %d", legend, len(doc.Members))
	}

	// Background work.
	if got := number("hints-pending"); got != doc.Stats.HintsPending && got != earlier.Stats.HintsPending {
		t.Errorf("hints pending %d, want %d", got, doc.Stats.HintsPending)
	}
	for id, want := range map[string]uint64{"hints-delivered": doc.Stats.HintsDelivered, "restarts": doc.Stats.Restarts,
		"handoff-pending": uint64(doc.Handoff.Pending), "handoff-done": doc.Handoff.Done, "handoff-keys": doc.Handoff.Keys} {
		if got := number(id); got != want {
			t.Errorf("#%s shows %d, want %d", id, got, want)
		}
	}

	// Requests: present, one row per operation, totals as counted.
	if _, ok := byID["requests"]; !ok {
		t.Fatal("the page has no request section")
	}
	if mode := byID["requests"].attrs["data-mode"]; mode != "rates" && mode != "totals" {
		t.Errorf("the request section is in mode %q: it never drew", mode)
	}
	totals := map[string]uint64{}
	for _, r := range doc.Requests {
		totals[r.Op] += r.Count
	}
	if totals["put"] == 0 {
		t.Fatalf("the status document counts no puts: %+v", doc.Requests)
	}
	shown := map[string]uint64{}
	for i, e := range page {
		op, ok := e.attrs["data-op"]
		if !ok || e.name != "tr" {
			continue
		}
		// The row's cells: op, rate, errors, mean, total (the last <td>).
		var cells []string
		for _, c := range page[i+1:] {
			if c.name == "/tr" {
				break
			}
			if c.name == "td" {
				cells = append(cells, strings.TrimSpace(c.text))
			}
		}
		if len(cells) != 5 || cells[0] != op {
			t.Errorf("request row %s has cells %q", op, cells)
			continue
		}
		v, err := strconv.ParseUint(strings.ReplaceAll(cells[4], ",", ""), 10, 64)
		if err != nil {
			t.Errorf("request row %s shows total %q", op, cells[4])
		}
		shown[op] = v
	}
	for op, n := range totals {
		if shown[op] != n {
			t.Errorf("the page shows %d %s requests in total, want %d", shown[op], op, n)
		}
	}
	if len(shown) != len(totals) {
		t.Errorf("the page shows requests %v, the document %v", shown, totals)
	}
}

// findChromium returns the browser's path, or skips the test when there is
// none (fails instead under DYNAMO_REQUIRE_CHROMIUM=1, as CI sets).
func findChromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	msg := "no chromium on PATH: install Debian's package (apt-get install chromium) to run the status page test"
	if os.Getenv("DYNAMO_REQUIRE_CHROMIUM") == "1" {
		t.Fatal(msg + " (DYNAMO_REQUIRE_CHROMIUM=1)")
	}
	t.Skip(msg)
	return ""
}

func fetchStatus(t *testing.T, base string) status.Document {
	t.Helper()
	resp, b := httpDo(t, "GET", base+"/status", nil)
	var d status.Document
	if resp.StatusCode != 200 {
		t.Fatalf("status: %d %s", resp.StatusCode, b)
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("status: %v: %s", err, b)
	}
	return d
}

// dumpDOM loads url in headless Chromium, lets the page run for 5 s of
// virtual time (two refreshes after the first draw, without waiting 5 s of
// real time), and returns the DOM it dumps. None of Chromium's processes
// outlives it: see killChromium.
func dumpDOM(t *testing.T, browser, url string) string {
	t.Helper()
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, browser,
		"--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
		"--no-first-run", "--no-default-browser-check", "--disable-extensions", "--disable-sync",
		"--disable-background-networking", "--disable-component-update", "--password-store=basic",
		"--user-data-dir="+filepath.Join(dir, "profile"),
		"--virtual-time-budget=5000", "--dump-dom", url)
	// Everything Chromium writes goes under the test's directory, not the
	// user's home.
	// The marker names this run's processes, whatever group they end in.
	marker := fmt.Sprintf("DYNAMO_STATUSPAGE_RUN=%d-%d", os.Getpid(), time.Now().UnixNano())
	cmd.Env = append(os.Environ(), "HOME="+dir, "XDG_CONFIG_HOME="+filepath.Join(dir, "config"), "XDG_CACHE_HOME="+filepath.Join(dir, "cache"), marker)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	// Helpers holding stdout open must not keep Wait waiting.
	cmd.WaitDelay = 5 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", browser, err)
	}
	err := cmd.Wait()
	// The browser has exited; its helpers may not have.
	killChromium(t, cmd.Process.Pid, marker)
	if ctx.Err() != nil {
		t.Fatalf("chromium did not finish within 90 s; stderr:\n%s", stderr.String())
	}
	if err != nil {
		t.Fatalf("chromium: %v; stderr:\n%s", err, stderr.String())
	}
	dom := stdout.String()
	if !strings.Contains(dom, `id="ring"`) {
		t.Fatalf("chromium dumped no status page:\n%s\nstderr:\n%s", dom, stderr.String())
	}
	if testing.Verbose() {
		t.Logf("dumped DOM:\n%s", dom)
	}
	return dom
}

// killChromium kills what is left of a Chromium run: its process group
// and, where /proc shows them (Linux), the processes carrying the run's
// marker in their environment, as helpers that start their own session
// leave the group. It waits until none is alive (zombies waiting for init
// to reap them are dead) and fails the test if one survives.
func killChromium(t *testing.T, pgid int, marker string) {
	t.Helper()
	if err := syscall.Kill(-pgid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		t.Errorf("killing chromium's process group %d: %v", pgid, err)
	}
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		return // no /proc: the group is all there is to kill
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		alive := chromiumProcesses(pgid, marker)
		if len(alive) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("chromium processes %v survive SIGKILL", alive)
			return
		}
		for _, pid := range alive {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// chromiumProcesses lists the live processes of group pgid or with marker
// in their environment.
func chromiumProcesses(pgid int, marker string) []int {
	entries, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue // gone
		}
		// pid (comm) state ppid pgrp ...: comm may hold spaces and parentheses.
		s := string(stat)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(f) < 3 || f[0] == "Z" || f[0] == "X" {
			continue
		}
		if f[2] == strconv.Itoa(pgid) {
			out = append(out, pid)
			continue
		}
		env, err := os.ReadFile(filepath.Join("/proc", e.Name(), "environ"))
		if err == nil && bytes.Contains(env, []byte(marker+"\x00")) {
			out = append(out, pid)
		}
	}
	return out
}

// domTag is one start (or end, named "/name") tag of a dumped DOM with the
// text that follows it up to the next tag.
type domTag struct {
	name  string
	attrs map[string]string
	text  string
}

var (
	// Chromium serializes every attribute as name="value", escaping " and
	// & inside; a bare name is not produced, but is accepted.
	tagRE  = regexp.MustCompile(`<(/?[a-zA-Z][a-zA-Z0-9-]*)((?:\s+[^\s=>/"]+(?:="[^"]*")?)*)\s*/?>([^<]*)`)
	attrRE = regexp.MustCompile(`([^\s=>/"]+)(?:="([^"]*)")?`)
)

// parseDOM lists the tags of Chromium's dump in document order. It is not
// an HTML parser (the module has none, and needs none for a DOM Chromium
// serialized itself): comments and <script> bodies are not expected to
// hold anything that looks like the tags the test reads.
func parseDOM(dom string) []domTag {
	var out []domTag
	for _, m := range tagRE.FindAllStringSubmatch(dom, -1) {
		e := domTag{name: strings.ToLower(m[1]), attrs: map[string]string{}, text: html.UnescapeString(m[3])}
		for _, a := range attrRE.FindAllStringSubmatch(m[2], -1) {
			e.attrs[strings.ToLower(a[1])] = html.UnescapeString(a[2])
		}
		out = append(out, e)
	}
	return out
}
