package storage

import (
	"encoding/binary"
	"testing"
)

const benchValueSize = 256

func benchLevelDB(b *testing.B) *LevelDB {
	b.Helper()
	l, err := OpenLevelDB(b.TempDir(), DefaultLevelDBConfig())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = l.Close() })
	return l
}

// benchKey returns the i-th benchmark object key: 16 partitions, a 16-byte
// user key.
func benchKey(i int) []byte {
	var key [16]byte
	binary.BigEndian.PutUint64(key[8:], uint64(i))
	return ObjectKey(uint32(i%16), uint16(i*7919), key[:])
}

func BenchmarkLevelDBPut(b *testing.B) {
	for _, bc := range []struct {
		name string
		opts WriteOptions
	}{
		{"nosync", WriteOptions{}},
		{"sync", WriteOptions{Sync: true}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			l := benchLevelDB(b)
			value := make([]byte, benchValueSize)
			b.SetBytes(benchValueSize)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if err := Put(l, KeyspaceData, benchKey(i), value, bc.opts); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}

func BenchmarkLevelDBBatch100Sync(b *testing.B) {
	l := benchLevelDB(b)
	value := make([]byte, benchValueSize)
	batch := NewBatch()
	b.SetBytes(100 * benchValueSize)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		batch.Reset()
		for range 100 {
			batch.Put(KeyspaceData, benchKey(i), value)
			i++
		}
		if err := l.Write(batch, WriteOptions{Sync: true}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkLevelDBGet(b *testing.B) {
	const keys = 100_000
	l := benchLevelDB(b)
	value := make([]byte, benchValueSize)
	batch := NewBatch()
	for i := range keys {
		batch.Put(KeyspaceData, benchKey(i), value)
		if batch.Len() == 1000 {
			if err := l.Write(batch, WriteOptions{}); err != nil {
				b.Fatal(err)
			}
			batch.Reset()
		}
	}
	b.SetBytes(benchValueSize)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := l.Get(KeyspaceData, benchKey((i*7919)%keys)); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
