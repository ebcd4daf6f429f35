// Command bench measures dynamo. Subcommands:
//
//	go run ./bench ring [flags]   partition placement: balance and movement
//
// Run `go run ./bench <subcommand> -h` for its flags.
package main
