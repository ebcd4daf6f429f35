// Command dynamo is the dynamo node and administration tool.
//
//	dynamo version                 print the build's version and protocol
//	dynamo ring [flags]            show partition placement for a membership
//
// The node agent (`dynamo agent`) arrives with the running-cluster issue.
package main
