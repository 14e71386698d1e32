//go:build !linux

package store

import "errors"

const haveSyncfs = false

func syncFS(string) error { return errors.New("syncfs is Linux only") }
