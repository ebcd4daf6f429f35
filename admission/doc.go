// Package admission paces a node's background work (anti-entropy repairs,
// handoff, hint delivery, reap passes) by what its foreground requests
// suffer: the Dynamo paper's admission controller (section 6.5), as a pure
// state machine. The node calls Controller.Step every Config.TickMs with
// the foreground requests it answered in that window, and gives
// background work the returned share of its configured rates.
//
// The controller compares the foreground's mean latency with a baseline:
// the mean latency of a window in which background work was held off.
// Every Config.ProbeEveryMs of busy foreground it holds background work
// for one window to measure that baseline again (BBR's ProbeRTT); between
// probes, a window whose mean latency exceeds the baseline by more than
// Config.Tolerance (and Config.SlackMs) halves the share, down to
// Config.MinShare so that background work always finishes, and any other
// window adds Config.Increase back. With no foreground to protect (fewer
// than Config.MinRequests in a window, and those not slower than
// tolerated) background work runs at its full rate at once.
package admission
