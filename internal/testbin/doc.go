// Package testbin builds a command of this module once per test process,
// for tests that run it as real subprocesses (agents, the bench tool).
package testbin
