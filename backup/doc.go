// Package backup is the format of dynamo's online exports (dynamo export,
// client.Export) and what reads them back (dynamo import, client.Import):
// every key's whole version set (siblings, clocks, tombstones), so that an
// import merges them with the same causal merge as replication and never
// overwrites newer writes or loses a sibling. Pure: it reads and writes
// io streams.
//
// Format 1, all integers big endian:
//
//	header:  "DYNAMO-EXPORT\x00" (14 bytes) | format (1 byte) = 1 |
//	         partitions (4 bytes, the ring's Q) | created (8 bytes, Unix ms) |
//	         CRC-32C of the header's previous bytes (4 bytes)
//	record:  'K' | length (4 bytes) | a dynamo.v1.KeySet (key and version
//	         set) of that length | CRC-32C of the record's previous bytes (4 bytes)
//	end:     'E' | records (8 bytes) | CRC-32C of every byte of the file
//	         before this field (4 bytes)
//
// A file is valid only whole: each record's checksum, the end record's
// count and the whole file's checksum must match, and nothing may follow
// the end record. A reader reports the byte offset of the first problem.
package backup
