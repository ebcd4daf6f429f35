// Command olric-bench is the Olric peer of `bench load --vs olric`: one
// Olric member, or the load generator that drives a cluster of them through
// Olric's own Go cluster client with the workload of the dynamo run.
//
//	olric-bench member --addr HOST:PORT --memberlist-addr HOST:PORT [--peers HOST:PORT,...] [--log FILE]
//	olric-bench load --addrs HOST:PORT,... --mix read:50,update:50 [flags]
//	olric-bench version
//
// It is its own module, so that Olric and its dependencies stay out of
// dynamo's go.mod: the bench embeds this directory's source (a copy in
// bench/olric.txtar, kept current by `go generate ./bench`) and builds it
// with `go build` on first use. Run it by hand with
// `go run . member ...` in this directory.
package main
