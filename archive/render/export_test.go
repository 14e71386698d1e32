package render

// SetProxyLog has f called, after each render with a policy, with every
// authority (host:port) the browser asked the render's proxy for, in the
// order first asked; nil stops it. Tests that set it must not run in
// parallel.
func SetProxyLog(f func(authorities []string)) { proxyLog = f }
