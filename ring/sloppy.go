package ring

// Target is a node a request is sent to. HintOwner is empty for a primary;
// for a fallback it names the down primary whose replica it holds as a hint.
type Target struct {
	Node      string
	HintOwner string
}

// SloppyTargets picks where a request for a partition goes, given its
// preference list, the number of primaries n, and which nodes are down:
// every primary that is up, and for each primary that is down the next up
// fallback in preference order (the Dynamo paper's sloppy quorum). When the
// fallbacks run out, a down primary gets no stand-in and fewer than n
// targets are returned.
func SloppyTargets(pref []string, n int, down func(node string) bool) []Target {
	n = min(n, len(pref))
	out := make([]Target, 0, n)
	next := n
	for _, p := range pref[:n] {
		if !down(p) {
			out = append(out, Target{Node: p})
			continue
		}
		for next < len(pref) && down(pref[next]) {
			next++
		}
		if next < len(pref) {
			out = append(out, Target{Node: pref[next], HintOwner: p})
			next++
		}
	}
	return out
}
