// Package netns gives test processes their own Linux network namespaces on
// a private bridge: real interfaces and addresses (so a node can bind
// 0.0.0.0 and advertise another address, as in a container), real packet
// drops (blackhole routes), and a hosts file per namespace (`ip netns exec`
// bind-mounts /etc/netns/NAME/hosts over /etc/hosts). It needs root and the
// ip command (Available says why not); everything it creates exists only
// until Teardown. The chaos harness and the end-to-end tests of addresses
// use it.
package netns
