// Command dynamo is the dynamo node and administration tool.
//
//	dynamo agent [flags]           run a node (flags, DYNAMO_* variables or
//	                               a config file; dynamo agent --help)
//	dynamo dev [flags]             run a local cluster of several nodes in
//	                               this process
//	dynamo version                 print the build's version and protocol
//	dynamo ring [flags]            show partition placement for a membership,
//	                               or of the running cluster without --members
//	dynamo get [flags] KEY         read a key: its siblings and context
//	dynamo put [flags] KEY VALUE   write a key, print the new context
//	dynamo delete [flags] KEY      delete a key
//	dynamo keys [flags]            list the keys that hold a value
//	dynamo export --out FILE       write every key's versions to FILE
//	dynamo import FILE             merge an export into the cluster
//	dynamo members [flags]         list the cluster's members
//	dynamo status [flags]          one node's counters, anti-entropy and
//	                               handoff progress
//	dynamo leave [flags]           make a node hand its data off and leave
//	dynamo remove [flags] NAME     take a failed node out of the ring
//	dynamo background [flags] pause|resume|status
//	                               pause or resume a node's background work
//	dynamo debug SUB [flags]       fault injection: crash, stop, disk, corrupt
//	dynamo certs [flags]           make a cluster CA, node and client
//	                               certificates and gossip keys
//
// main.go's commands table is the list; kv.go's usage text is the cluster
// commands' contract (flags, output formats, exit codes). Those reach the
// cluster through a small interface (kvClient) so that their output is
// tested with a fake.
package main
