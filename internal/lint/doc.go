// Package lint holds the project's house rules as tests (run by make test):
// every package has a doc.go stating its contract, pure packages import
// nothing that does I/O, reads clocks or draws randomness, sentinel
// errors are prefixed with their package's name, and anti-entropy has one
// name (docs/design.md, "Names").
package lint
