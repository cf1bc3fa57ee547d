package pkcs11

// Generation reports how many times b has recovered (dropped its sessions
// and logged in again), so tests can tell that recovery really ran.
func Generation(b *Backend) uint64 {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return b.gen
}

// IdleSessions reports how many sessions b's pool holds.
func IdleSessions(b *Backend) int {
	b.mu.RLock()
	defer b.mu.RUnlock()
	b.poolMu.Lock()
	defer b.poolMu.Unlock()
	return len(b.idle)
}
