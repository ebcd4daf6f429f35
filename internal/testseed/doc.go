// Package testseed gives randomized tests a seeded source that they print,
// so any failure can be replayed: DYNAMO_SEED=<seed> go test -run <Test>.
package testseed
