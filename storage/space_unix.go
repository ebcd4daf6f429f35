//go:build unix

package storage

import "syscall"

// freeBytes is how many bytes an unprivileged writer can still write on
// the file system of dir.
func freeBytes(dir string) (uint64, bool) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, false
	}
	return uint64(st.Bavail) * uint64(st.Bsize), true
}
