//go:build !linux

package store

import "errors"

const haveSyncfs = false

func syncFS(string) error { return errors.New("syncfs is Linux only") }

func linkTemp(string) (*temp, error) { return nil, errors.New("O_TMPFILE is Linux only") }

func probeLinkTemp(string) bool { return false }
