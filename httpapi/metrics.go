package httpapi

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/dynamokv/dynamo/actors"
	"github.com/dynamokv/dynamo/client"
	"github.com/dynamokv/dynamo/messages"
	"github.com/dynamokv/dynamo/progress"
	"github.com/dynamokv/dynamo/request"
	"github.com/dynamokv/dynamo/status"
)

// membership asks the node for its membership.
func (h *handler) membership(ctx context.Context) (*client.Membership, error) {
	ctx, cancel := context.WithTimeout(ctx, h.cfg.Timeout+askMargin)
	defer cancel()
	reply, err := h.cfg.Backend.Ask(ctx, &messages.MembersRequest{})
	if err != nil {
		return nil, fmt.Errorf("asking the node for its membership: %w", err)
	}
	mr, ok := reply.(*messages.MembersReply)
	if !ok {
		return nil, fmt.Errorf("unexpected reply %s from the node", reply.ProtoReflect().Descriptor().FullName())
	}
	if mr.GetError() != nil {
		return nil, fmt.Errorf("%s", mr.GetError().GetMessage())
	}
	return client.MembershipFromReply(mr.GetNode(), mr)
}

// status serves the status document.
func (h *handler) status(w http.ResponseWriter, r *http.Request) {
	m, err := h.membership(r.Context())
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, &messages.Error{Code: messages.ErrorCode_ERROR_CODE_UNAVAILABLE, Message: err.Error()})
		return
	}
	rg, err := m.Ring()
	if err != nil {
		writeError(w, http.StatusInternalServerError, &messages.Error{Code: messages.ErrorCode_ERROR_CODE_INTERNAL, Message: err.Error()})
		return
	}
	doc := status.Build(m, rg)
	if c := h.cfg.Counters; c != nil {
		for _, rs := range c.Requests.Snapshot() {
			mean := 0.0
			if rs.Count > 0 {
				mean = float64(rs.Sum) / float64(rs.Count) / float64(time.Millisecond)
			}
			doc.Requests = append(doc.Requests, status.Requests{Op: rs.Op, Outcome: rs.Outcome, Count: rs.Count, MeanMs: mean})
		}
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, doc)
}

// metrics serves the Prometheus text format (version 0.0.4).
func (h *handler) metrics(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	b := bufio.NewWriter(w)
	defer b.Flush()
	e := expo{b}
	if c := h.cfg.Counters; c != nil {
		writeRequests(e, c.Requests.Snapshot())
		e.metric("dynamo_remoting_batches_received_total", "counter", "gRPC messages received over remoting, each a batch of the actor messages its sender had queued for this node (at most 32).", float64(c.Wire.Batches.Load()))
		e.metric("dynamo_remoting_messages_received_total", "counter", "Actor messages received over remoting; over dynamo_remoting_batches_received_total, the coalescing the senders achieved.", float64(c.Wire.Messages.Load()))
		e.metric("dynamo_storage_commit_groups_total", "counter", "Storage writes of the vnodes' write groups (each one journal write, and one fsync unless fsync is off).", float64(c.Commits.Groups.Load()))
		e.metric("dynamo_storage_commit_batches_total", "counter", "Vnode writes carried by those groups; over dynamo_storage_commit_groups_total, the writes each fsync served.", float64(c.Commits.Batches.Load()))
		e.metric("dynamo_hints_pending", "gauge", "Hints this node holds for other nodes.", float64(max(0, c.HintsPending.Load())))
		e.metric("dynamo_hints_stored_total", "counter", "Hints written on this node for other nodes.", float64(c.HintsStored.Load()))
		e.metric("dynamo_hints_delivered_total", "counter", "Hints delivered to their owners.", float64(c.HintsDelivered.Load()))
		e.metric("dynamo_hints_rerouted_total", "counter", "Delivered hints that went to their partition's current primaries because their owner left the view (left, removed, or absent past --hint-max-age).", float64(c.HintsRerouted.Load()))
		now := time.Now().UnixMilli()
		e.targets(c.HintTargets.Snapshot(now), "dynamo_hints_pending_by_owner", "Hints this node holds, per owner.",
			"dynamo_hints_seconds_left_by_owner", "Time left to deliver an owner's hints at the last minute's delivery rate; 0 when nothing is delivered now (the owner is down, or background work is paused).")
		e.targets(c.HandoffTargets.Snapshot(now), "dynamo_handoff_partitions_pending_by_owner", "Partitions this node still hands off, per new owner.",
			"dynamo_handoff_seconds_left_by_owner", "Time left to hand a new owner its partitions at the last minute's rate; 0 when none is handed off now.")
		e.header("dynamo_hints_expired_total", "counter", "Hints of a down owner handed over to the key's other current primaries: past --hint-max-age (age) or beyond --hint-max-bytes (size).")
		e.sample("dynamo_hints_expired_total", labels("reason", "age"), float64(c.HintsExpiredAge.Load()))
		e.sample("dynamo_hints_expired_total", labels("reason", "size"), float64(c.HintsExpiredSize.Load()))
		e.metric("dynamo_anti_entropy_exchanges_total", "counter", "Anti-entropy exchanges completed.", float64(c.AntiEntropyExchanges.Load()))
		e.metric("dynamo_anti_entropy_identical_total", "counter", "Anti-entropy exchanges that found the replicas identical.", float64(c.AntiEntropyIdentical.Load()))
		e.metric("dynamo_anti_entropy_failures_total", "counter", "Anti-entropy exchanges abandoned.", float64(c.AntiEntropyFailures.Load()))
		e.metric("dynamo_anti_entropy_keys_repaired_total", "counter", "Replica writes by anti-entropy that changed a replica.", float64(c.AntiEntropyKeysRepaired.Load()))
		e.metric("dynamo_anti_entropy_bytes_total", "counter", "Bytes of anti-entropy messages to and from peers.", float64(c.AntiEntropyBytes.Load()))
		e.metric("dynamo_handoffs_pending", "gauge", "Partitions held but no longer owned, still to hand off.", float64(max(0, c.HandoffsPending.Load())))
		e.metric("dynamo_handoffs_done_total", "counter", "Partitions handed off and dropped.", float64(c.HandoffsDone.Load()))
		e.metric("dynamo_handoff_keys_total", "counter", "Handoff writes that changed an owner.", float64(c.HandoffKeys.Load()))
		e.metric("dynamo_handoff_failures_total", "counter", "Handoff sessions interrupted.", float64(c.HandoffFailures.Load()))
		e.metric("dynamo_handoff_bytes_total", "counter", "Bytes of handoff messages.", float64(c.HandoffBytes.Load()))
		e.metric("dynamo_reap_passes_total", "counter", "Reap passes this node coordinated to the end.", float64(c.ReapPasses.Load()))
		e.metric("dynamo_reap_failures_total", "counter", "Reap passes abandoned (a primary did not answer).", float64(c.ReapFailures.Load()))
		e.metric("dynamo_reap_keys_checked_total", "counter", "Keys reap passes checked with every primary.", float64(c.ReapKeysChecked.Load()))
		e.metric("dynamo_tombstones_reaped_total", "counter", "Tombstones this node's vnodes deleted in reap passes.", float64(c.Reap.Reaped.Load()))
		e.metric("dynamo_clock_entries_pruned_total", "counter", "Clock entries of retired vnode incarnations this node's vnodes pruned.", float64(c.Reap.PrunedEntries.Load()))
		e.metric("dynamo_compactions_total", "counter", "Storage compactions of partition ranges after reaps and handoff drops.", float64(c.Reap.Compactions.Load()))
		e.metric("dynamo_compaction_seconds_total", "counter", "Time those compactions took.", float64(c.Reap.CompactNanos.Load())/1e9)
		e.metric("dynamo_actor_restarts_total", "counter", "Actor restarts by supervisors.", float64(c.Restarts.Load()))
		e.metric("dynamo_read_speculations_total", "counter", "Reads that asked the replicas left because R had not answered within --read-speculate-after.", float64(c.ReadSpeculations.Load()))
		e.metric("dynamo_sibling_warnings_total", "counter", "Client writes that left a key with 25 or more versions (the application is not merging).", float64(c.SiblingWarnings.Load()))
		e.metric("dynamo_vnodes", "gauge", "Vnodes running on this node.", float64(max(0, c.Vnodes.Load())))
		fgMean, fgBase := c.Admission.Load()
		e.metric("dynamo_foreground_mean_latency_seconds", "gauge", "Mean latency of the client requests this node answered in the admission controller's last window.", fgMean/1e3)
		e.metric("dynamo_foreground_baseline_latency_seconds", "gauge", "That mean while background work was held off (the admission controller's baseline; 0 before it was measured).", fgBase/1e3)
		e.metric("dynamo_keys", "gauge", "Objects this node's vnodes hold (a key counts once per replica held here).", float64(max(0, c.Keys.Load())))
		e.metric("dynamo_merkle_trees_building", "gauge", "Vnodes building their Merkle tree from a scan (they serve; anti-entropy waits for them).", float64(max(0, c.TreesBuilding.Load())))
		e.metric("dynamo_merkle_trees_built_total", "counter", "Merkle tree builds completed (a first start, or a start after a crash).", float64(c.TreesBuilt.Load()))
		e.metric("dynamo_merkle_trees_loaded_total", "counter", "Vnode starts that loaded the Merkle tree persisted at the last clean stop.", float64(c.TreesLoaded.Load()))
		e.metric("dynamo_cache_hits_total", "counter", "Object reads the vnodes' cache answered.", float64(c.Cache.Hits.Load()))
		e.metric("dynamo_cache_misses_total", "counter", "Object reads that went to storage (absent keys included).", float64(c.Cache.Misses.Load()))
		e.metric("dynamo_cache_bytes", "gauge", "What the cached objects count for against --cache-bytes.", float64(max(0, c.Cache.Bytes.Load())))
	}
	if m, err := h.membership(r.Context()); err == nil {
		counts := map[string]int{"up": 0, "down": 0, "leaving": 0}
		for _, x := range m.Members {
			counts[x.State.String()]++
		}
		e.header("dynamo_members", "gauge", "Ring members by state, as this node sees them.")
		for _, st := range []string{"up", "down", "leaving"} {
			e.sample("dynamo_members", labels("state", st), float64(counts[st]))
		}
		paused := 0.0
		if m.Stats.BackgroundPaused {
			paused = 1
		}
		e.metric("dynamo_background_paused", "gauge", "1 while background work is paused (dynamo background pause).", paused)
		e.metric("dynamo_background_share", "gauge", "Share of their configured rates background work may use now (admission control lowers it while client requests suffer).", 1-m.Stats.BackgroundHeld)
	} else {
		h.cfg.Logger.Warn("metrics without membership", "err", err)
	}
	if h.cfg.DiskUsage != nil {
		if n, err := h.cfg.DiskUsage(); err == nil {
			e.metric("dynamo_storage_bytes", "gauge", "Bytes the node's data directory takes on disk.", float64(n))
		}
	}
}

// writeRequests writes the request counters and latency histograms.
func writeRequests(e expo, series []actors.RequestSeries) {
	e.header("dynamo_requests_total", "counter", "Client requests this node answered, by operation and outcome.")
	for _, rs := range series {
		e.sample("dynamo_requests_total", labels("op", rs.Op, "outcome", rs.Outcome), float64(rs.Count))
	}
	e.header("dynamo_quorum_failures_total", "counter", "Client requests answered with a quorum error, by operation.")
	failures := map[string]uint64{}
	for _, rs := range series {
		if rs.Outcome == messages.ErrorCode_ERROR_CODE_QUORUM.Slug() {
			failures[rs.Op] += rs.Count
		}
	}
	for _, op := range []string{"delete", "get", "put"} {
		e.sample("dynamo_quorum_failures_total", labels("op", op), float64(failures[op]))
	}
	e.header("dynamo_request_duration_seconds", "histogram", "Latency of the client requests this node answered.")
	for _, rs := range series {
		for i, ub := range actors.LatencyBuckets {
			e.sample("dynamo_request_duration_seconds_bucket", labels("op", rs.Op, "outcome", rs.Outcome, "le", formatFloat(ub.Seconds())), float64(rs.Buckets[i]))
		}
		e.sample("dynamo_request_duration_seconds_bucket", labels("op", rs.Op, "outcome", rs.Outcome, "le", "+Inf"), float64(rs.Count))
		e.sample("dynamo_request_duration_seconds_sum", labels("op", rs.Op, "outcome", rs.Outcome), rs.Sum.Seconds())
		e.sample("dynamo_request_duration_seconds_count", labels("op", rs.Op, "outcome", rs.Outcome), float64(rs.Count))
	}
}

// expo writes the Prometheus text exposition format.
type expo struct{ w *bufio.Writer }

// targets writes per-owner progress: what is pending, and the time left.
func (e expo) targets(ts []progress.Target, pending, pendingHelp, left, leftHelp string) {
	if len(ts) == 0 {
		return
	}
	e.header(pending, "gauge", pendingHelp)
	for _, t := range ts {
		e.sample(pending, labels("owner", t.Target), float64(t.Pending))
	}
	e.header(left, "gauge", leftHelp)
	for _, t := range ts {
		e.sample(left, labels("owner", t.Target), float64(t.ETAMs)/1000)
	}
}

func (e expo) header(name, kind, help string) {
	fmt.Fprintf(e.w, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, kind)
}

func (e expo) sample(name, labels string, v float64) {
	fmt.Fprintf(e.w, "%s%s %s\n", name, labels, formatFloat(v))
}

func (e expo) metric(name, kind, help string, v float64) {
	e.header(name, kind, help)
	e.sample(name, "", v)
}

// labels formats name/value pairs as {a="x",b="y"}, escaping values.
func labels(kv ...string) string {
	var b strings.Builder
	b.WriteByte('{')
	for i := 0; i+1 < len(kv); i += 2 {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(kv[i])
		b.WriteString(`="`)
		b.WriteString(labelEscaper.Replace(kv[i+1]))
		b.WriteByte('"')
	}
	b.WriteByte('}')
	return b.String()
}

var labelEscaper = strings.NewReplacer(`\`, `\\`, "\n", `\n`, `"`, `\"`)

func formatFloat(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// history serves the node's samples: what the status page charts.
func (h *handler) history(w http.ResponseWriter, r *http.Request) {
	if h.cfg.History == nil {
		writeError(w, http.StatusNotFound, &messages.Error{Message: "this server keeps no history"})
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, h.cfg.History())
}

// inspect serves a key's replicas on its owners (?key=, percent-encoded
// like any query value: any byte string).
func (h *handler) inspect(w http.ResponseWriter, r *http.Request) {
	if h.cfg.Inspect == nil {
		writeError(w, http.StatusNotFound, &messages.Error{Message: "this server inspects no keys"})
		return
	}
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		writeError(w, http.StatusBadRequest, invalid("query", fmt.Sprintf("malformed query string: %v", err)))
		return
	}
	for name, vals := range q {
		if name != "key" {
			writeError(w, http.StatusBadRequest, invalid(name, fmt.Sprintf("unknown query parameter %q (allowed: key)", name)))
			return
		}
		if len(vals) != 1 {
			writeError(w, http.StatusBadRequest, invalid(name, fmt.Sprintf("key given %d times: inspect one key", len(vals))))
			return
		}
	}
	key := []byte(q.Get("key"))
	if e := (request.Limits{MaxKeyBytes: h.cfg.MaxKeyBytes}).Check(request.Request{Op: request.OpGet, Key: key}, 0); e != nil {
		writeError(w, 0, e)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), h.cfg.Timeout+askMargin)
	defer cancel()
	in, err := h.cfg.Inspect(ctx, key)
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, &messages.Error{Code: messages.ErrorCode_ERROR_CODE_UNAVAILABLE, Message: err.Error()})
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, in)
}

// ready answers 200 "ready" when the node is ready for traffic, else 503
// with the reason (the orchestrator's readiness probe).
func (h *handler) ready(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if h.cfg.Ready != nil {
		ctx, cancel := context.WithTimeout(r.Context(), h.cfg.Timeout+askMargin)
		defer cancel()
		if err := h.cfg.Ready(ctx); err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintf(w, "not ready: %v\n", err)
			return
		}
	}
	fmt.Fprintln(w, "ready")
}
