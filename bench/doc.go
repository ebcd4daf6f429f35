// Command bench measures dynamo. Subcommands:
//
//	go run ./bench ring [flags]   partition placement: balance and movement
//	go run ./bench load [flags]   YCSB-style load: throughput and latency
//
// Run `go run ./bench <subcommand> -h` for its flags. bench/RESULTS.md
// records measured results with their command, machine and commit.
package main
