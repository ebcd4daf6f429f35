// Package freeport finds loopback ports free for TCP and UDP below Linux's
// ephemeral range (32768 and up), for nodes that stop and start again on
// the same ports: a port there cannot be taken in between by another
// program's port-0 listener or outgoing connection. A port is handed out
// at most once per process, so tests running in parallel never share one.
package freeport
