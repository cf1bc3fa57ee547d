// Package enrollment owns the configuration and state the protocol
// front-ends enroll through: endpoints (the seeds' protocol
// configurations: protocol, issuing CA, allowed profiles, client
// authentication, assigned front-end, rate limit), their shared secrets
// (stored as Argon2id hashes), one-time challenges, end-entities and
// pending requests awaiting an administrator. Approving a pending request
// goes through the issuance pipeline with every rule of a direct request.
package enrollment
