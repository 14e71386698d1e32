package archive

// KickFollower has the index follower run a round now, as a newly kept
// checkpoint would: a test's way to make it call the database at a
// moment of its choosing.
func (a *Archive) KickFollower() {
	select {
	case a.follow.kick <- struct{}{}:
	default:
	}
}

// FollowDBTimeout is followDBTimeout, for tests.
const FollowDBTimeout = followDBTimeout
