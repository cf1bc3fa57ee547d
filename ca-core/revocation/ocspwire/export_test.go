package ocspwire

// MarshalCertID exposes CertID encoding from the fields to the fuzz target.
func MarshalCertID(id CertID) ([]byte, error) { return id.marshal() }
