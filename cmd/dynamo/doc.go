// Command dynamo is the dynamo node and administration tool.
//
//	dynamo version                 print the build's version and protocol
//	dynamo ring [flags]            show partition placement for a membership,
//	                               or of the running cluster without --members
//	dynamo get [flags] KEY         read a key: its siblings and context
//	dynamo put [flags] KEY VALUE   write a key, print the new context
//	dynamo delete [flags] KEY      delete a key
//	dynamo members [flags]         list the cluster's members
//
// The cluster commands use package client; kv.go's usage text is their
// contract (flags, output formats, exit codes). They reach the cluster
// through a small interface so that their output is tested with a fake.
//
// The node agent (`dynamo agent`) arrives with the running-cluster issue.
package main
