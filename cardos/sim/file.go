package sim

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// stateFile is the on-disk persistent memory of a card. Writes go to a
// temporary file renamed over the state file, under an exclusive flock on
// a side file "<path>.lock" (the state file's inode changes at every
// write, so it cannot carry the lock itself).
type stateFile struct {
	path string
	seen fileID // identity of the content last loaded or saved
}

// fileID identifies one version of the file cheaply (one stat).
type fileID struct {
	ino, size, mtime int64
}

func newStateFile(path string) *stateFile {
	return &stateFile{path: path}
}

func statID(path string) (fileID, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return fileID{}, err
	}
	id := fileID{size: fi.Size(), mtime: fi.ModTime().UnixNano()}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		id.ino = int64(st.Ino)
	}
	return id, nil
}

// changed reports whether the file differs from what was last loaded or
// saved.
func (f *stateFile) changed() bool {
	id, err := statID(f.path)
	return err != nil || id != f.seen
}

// lock takes the exclusive writer lock, creating the lock file if needed.
func (f *stateFile) lock() (func(), error) {
	lf, err := os.OpenFile(f.path+".lock", os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("sim: lock state file: %w (is the directory writable?)", err)
	}
	if err := syscall.Flock(int(lf.Fd()), syscall.LOCK_EX); err != nil {
		lf.Close()
		return nil, fmt.Errorf("sim: lock state file: %w", err)
	}
	return func() {
		syscall.Flock(int(lf.Fd()), syscall.LOCK_UN)
		lf.Close()
	}, nil
}

// load reads and parses the file. The identity is taken before reading,
// so a concurrent rewrite is seen as a change next time.
func (f *stateFile) load() (*state, error) {
	id, err := statID(f.path)
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(f.path)
	if err != nil {
		return nil, err
	}
	st, err := unmarshalState(b)
	if err != nil {
		return nil, fmt.Errorf("sim: %s: %w", f.path, err)
	}
	f.seen = id
	return st, nil
}

// save writes st atomically (temporary file, fsync, rename).
func (f *stateFile) save(st *state) error {
	b, err := marshalState(st)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(f.path), "."+filepath.Base(f.path)+".tmp*")
	if err != nil {
		return fmt.Errorf("sim: write state file: %w", err)
	}
	defer os.Remove(tmp.Name()) // no-op after a successful rename
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return fmt.Errorf("sim: write state file: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("sim: write state file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("sim: write state file: %w", err)
	}
	if err := os.Rename(tmp.Name(), f.path); err != nil {
		return fmt.Errorf("sim: write state file: %w", err)
	}
	id, err := statID(f.path)
	if err != nil {
		return err
	}
	f.seen = id
	return nil
}
