package antientropy

import (
	"bytes"
	"errors"
	"fmt"
	"slices"

	"github.com/dynamokv/dynamo/merkle"
	"github.com/dynamokv/dynamo/version"
)

// ErrInvalid marks a malformed answer fed to a Session or a bad Config.
var ErrInvalid = errors.New("antientropy: invalid")

// Config shapes a session.
type Config struct {
	// ListSegments bounds one key listing, in segments (of 65536 per
	// partition): a wider differing range is listed in pieces. Default
	// 1024, 1/64 of a partition (about 1,600 keys of a partition holding
	// 100,000).
	ListSegments int
	// RepairBatch is the most repairs handed out in one RepairKeys action.
	// Default 64.
	RepairBatch int
	// PushOnly makes the session a handoff: only the remote is repaired.
	// Every key the local replica holds that the remote lacks or holds
	// with another digest is read locally and merged into the remote; keys
	// only the remote holds are left alone. Default false (repair both).
	PushOnly bool
	// GraceNs and Reaps: a key whose siblings have all been dead (deleted
	// or expired) for longer than GraceNs (ns), held by one side only, is written to
	// the other only when Reaps says that side's reap passes cover the
	// partition (Resolve, Reclaim): those passes delete it everywhere, and
	// a replica that already has is not given it back. GraceNs is the reap
	// passes' grace (reap.Policy.Grace). Default 0: every key is written.
	GraceNs int64
	Reaps   [2]bool
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config { return Config{ListSegments: 1024, RepairBatch: 64} }

// Validate checks c.
func (c Config) Validate() error {
	if c.ListSegments < 1 || c.ListSegments > 1<<merkle.SegmentBits {
		return fmt.Errorf("%w: ListSegments must be 1..%d, got %d", ErrInvalid, 1<<merkle.SegmentBits, c.ListSegments)
	}
	if c.RepairBatch < 1 {
		return fmt.Errorf("%w: RepairBatch must be at least 1, got %d", ErrInvalid, c.RepairBatch)
	}
	return nil
}

// Kind is what a session asks for next.
type Kind int

// Kinds of Action.
const (
	// AskHashes: ask the remote tree Action.Hashes and step the answer
	// with StepHashes.
	AskHashes Kind = iota + 1
	// ListKeys: list (key, digest) of Action.Range on both sides, in key
	// order, and step them with StepKeys.
	ListKeys
	// RepairKeys: carry out Action.Repairs and report with StepRepaired.
	RepairKeys
	// Finished: nothing more to do.
	Finished
)

func (k Kind) String() string {
	switch k {
	case AskHashes:
		return "ask-hashes"
	case ListKeys:
		return "list-keys"
	case RepairKeys:
		return "repair-keys"
	case Finished:
		return "finished"
	}
	return fmt.Sprintf("kind(%d)", int(k))
}

// Action is the session's next request of the shell.
type Action struct {
	Kind    Kind
	Hashes  merkle.Request      // AskHashes
	Range   merkle.SegmentRange // ListKeys
	Repairs []Repair            // RepairKeys
}

// Repair is one key whose replicas differ, and which sides hold it.
type Repair struct {
	Key []byte
	// ReadLocal and ReadRemote say which sides hold the key (both when
	// their versions differ).
	ReadLocal, ReadRemote bool
	// RemoteHolds: the remote holds the key too, though a push-only
	// session reads only the local side.
	RemoteHolds bool
}

// holds says which sides hold the key, as the listings showed.
func (r Repair) holds() [2]bool { return [2]bool{r.ReadLocal, r.ReadRemote || r.RemoteHolds} }

// Stats are one session's figures.
type Stats struct {
	// Identical is true when the trees' roots matched: nothing else was
	// exchanged.
	Identical bool
	// Tree is the tree exchange's traffic (estimated wire bytes).
	Tree merkle.Stats
	// DifferingSegments is how many segments the tree exchange found
	// differing (ranges summed).
	DifferingSegments int
	// Listings is how many key listings were made (each on both sides).
	Listings int
	// LocalKeys and RemoteKeys are the keys listed on each side.
	LocalKeys, RemoteKeys int
	// ListBytes estimates the keys and digests listed by the remote
	// (sent over the wire).
	ListBytes int
	// Repairs is how many keys differed.
	Repairs int
	// Changed is how many replica writes changed a replica (reported by
	// the shell).
	Changed int
}

// Session is one anti-entropy comparison of the local replica against a
// remote one. Not safe for concurrent use.
type Session struct {
	cfg     Config
	x       *merkle.Exchange
	ranges  []merkle.SegmentRange // listings still to make, in order
	repairs []Repair              // planned, not yet handed out
	batch   int                   // repairs handed out in the pending RepairKeys
	stats   Stats
}

// NewSession starts a session over local, which must not change while the
// session runs (pass a Clone). cfg must be valid (see Config.Validate); an
// invalid cfg is replaced by DefaultConfig.
func NewSession(local *merkle.Tree, cfg Config) *Session {
	if cfg.Validate() != nil {
		cfg = DefaultConfig()
	}
	return &Session{cfg: cfg, x: merkle.NewExchange(local)}
}

// Next returns the pending action. It returns the same action until it is
// answered.
func (s *Session) Next() Action {
	if req, ok := s.x.Request(); ok {
		return Action{Kind: AskHashes, Hashes: req}
	}
	if s.batch == 0 && len(s.repairs) > 0 {
		s.batch = min(len(s.repairs), s.cfg.RepairBatch)
	}
	if s.batch > 0 {
		return Action{Kind: RepairKeys, Repairs: s.repairs[:s.batch:s.batch]}
	}
	if len(s.ranges) > 0 {
		return Action{Kind: ListKeys, Range: s.ranges[0]}
	}
	return Action{Kind: Finished}
}

// StepHashes feeds the remote's answer to the pending AskHashes.
func (s *Session) StepHashes(resp merkle.Response) error {
	if _, ok := s.x.Request(); !ok {
		return fmt.Errorf("%w: hashes when none were asked", ErrInvalid)
	}
	if err := s.x.Step(resp); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	s.stats.Tree = s.x.Stats()
	if !s.x.Done() {
		return nil
	}
	s.stats.Identical = s.stats.Tree.RoundTrips == 1 && len(s.x.DifferingLeaves()) == 0
	for _, r := range s.x.DifferingSegments() {
		s.stats.DifferingSegments += int(r.Last-r.First) + 1
		s.ranges = append(s.ranges, Split(r, s.cfg.ListSegments)...)
	}
	return nil
}

// StepKeys feeds the listings of the pending ListKeys: each side's (key,
// digest) pairs of Action.Range, in any order (a vnode lists in storage
// order: by segment, then key). Keys outside the range are not checked
// here (the shell lists by range); a key listed twice on one side is an
// error. The planned Repairs keep the listings' key bytes: the shell must
// not reuse them.
func (s *Session) StepKeys(local, remote []merkle.KeyDigest) error {
	if a := s.Next(); a.Kind != ListKeys {
		return fmt.Errorf("%w: key listings while the session waits for %s", ErrInvalid, a.Kind)
	}
	local, remote = byKey(local), byKey(remote)
	repairs, err := Plan(local, remote)
	if err != nil {
		return err
	}
	if s.cfg.PushOnly {
		repairs = pushOnly(repairs)
	}
	s.ranges = s.ranges[1:]
	s.repairs = repairs
	s.stats.Listings++
	s.stats.LocalKeys += len(local)
	s.stats.RemoteKeys += len(remote)
	for _, kd := range remote {
		s.stats.ListBytes += len(kd.Key) + len(kd.Digest) + 4
	}
	s.stats.Repairs += len(repairs)
	return nil
}

// StepRepaired reports the pending RepairKeys done; changed is how many
// replica writes changed a replica.
func (s *Session) StepRepaired(changed int) error {
	if s.batch == 0 {
		return fmt.Errorf("%w: repairs reported while none are pending", ErrInvalid)
	}
	s.repairs = s.repairs[s.batch:]
	s.batch = 0
	s.stats.Changed += max(changed, 0)
	return nil
}

// Done reports whether the session has finished.
func (s *Session) Done() bool { return s.Next().Kind == Finished }

// Stats returns the figures so far.
func (s *Session) Stats() Stats { return s.stats }

// pushOnly keeps the repairs of keys the local side holds, reading them
// there only: the remote merges what it is sent.
func pushOnly(repairs []Repair) []Repair {
	out := repairs[:0]
	for _, r := range repairs {
		if r.ReadLocal {
			out = append(out, Repair{Key: r.Key, ReadLocal: true, RemoteHolds: r.ReadRemote})
		}
	}
	return out
}

// Resolve merges the versions repair r read at nowNs (nil for a side not
// read, that lacks the key, or whose copy is corrupt) and says which sides
// to write the merge to (the package's Resolve with Config.GraceNs and
// Reaps); a push-only session never writes the local side.
func (s *Session) Resolve(r Repair, local, remote *version.Set, nowNs int64) (merged *version.Set, writeLocal, writeRemote bool) {
	merged, writeLocal, writeRemote = Resolve(local, remote, r.holds(), Reclaim{NowNs: nowNs, GraceNs: s.cfg.GraceNs, Reaps: s.cfg.Reaps})
	return merged, writeLocal && !s.cfg.PushOnly, writeRemote
}

// byKey returns a copy of kds sorted by key.
func byKey(kds []merkle.KeyDigest) []merkle.KeyDigest {
	out := slices.Clone(kds)
	slices.SortFunc(out, func(a, b merkle.KeyDigest) int { return bytes.Compare(a.Key, b.Key) })
	return out
}

// Split cuts r into consecutive ranges of at most width segments. A range
// reaching past the 16-bit segment space is cut at its end.
func Split(r merkle.SegmentRange, width int) []merkle.SegmentRange {
	r.Last = min(r.Last, 1<<merkle.SegmentBits-1)
	if width < 1 || r.Last < r.First {
		return nil
	}
	var out []merkle.SegmentRange
	for first := uint64(r.First); first <= uint64(r.Last); first += uint64(width) {
		last := min(first+uint64(width)-1, uint64(r.Last))
		out = append(out, merkle.SegmentRange{First: uint32(first), Last: uint32(last)})
	}
	return out
}

// Plan turns two sides' listings of one range into repairs, ascending by
// key: a key on one side only is read there; a key with different digests
// is read on both.
func Plan(local, remote []merkle.KeyDigest) ([]Repair, error) {
	onlyLocal, onlyRemote, differ, err := merkle.DiffKeys(local, remote)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	out := make([]Repair, 0, len(onlyLocal)+len(onlyRemote)+len(differ))
	i, j, k := 0, 0, 0
	for i < len(onlyLocal) || j < len(onlyRemote) || k < len(differ) {
		// Merge the three ascending lists (their keys are distinct).
		pick, key := -1, []byte(nil)
		for c, list := range [][][]byte{onlyLocal[i:], onlyRemote[j:], differ[k:]} {
			if len(list) > 0 && (pick < 0 || string(list[0]) < string(key)) {
				pick, key = c, list[0]
			}
		}
		switch pick {
		case 0:
			out = append(out, Repair{Key: key, ReadLocal: true})
			i++
		case 1:
			out = append(out, Repair{Key: key, ReadRemote: true})
			j++
		default:
			out = append(out, Repair{Key: key, ReadLocal: true, ReadRemote: true})
			k++
		}
	}
	return out, nil
}
