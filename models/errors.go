package models

import "errors"

// ErrNotFound reports that a looked-up row does not exist. Every database
// driver returns it, so that the services can tell it apart without knowing
// which database answered.
var ErrNotFound = errors.New("not found")

// ErrExists reports that a row with the same key already exists.
var ErrExists = errors.New("already exists")
