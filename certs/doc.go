// Package certs makes and loads a cluster's TLS material: a certificate
// authority (CA) and certificates it signs for nodes and clients.
//
// Every remoting connection is mutual: a node dials its peers and also the
// reply address of each client (protoactor replies travel on a connection
// the replier opens), so every certificate here is valid for both server
// and client authentication and names the hosts (IP addresses or DNS
// names) its owner listens on. MutualTLS builds the tls.Config both ends
// use: TLS 1.3, the own certificate, and peers verified against the CA in
// both directions.
//
// Keys are ECDSA P-256. Files are PEM: CERTIFICATE blocks and PKCS#8
// "PRIVATE KEY" blocks.
package certs
