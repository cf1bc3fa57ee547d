// Package profile defines certificate profiles: what a certificate issued
// under a profile contains (key usage, extended key usage, basic
// constraints, validity) and which requests it accepts (key types, subject
// attributes, SAN types, extensions). It holds the built-in catalogue of the
// seeds' profile groups (catalog.yaml) and parses custom profiles from YAML
// or JSON documents that clone a built-in subscriber profile.
//
// It does not apply profiles to requests; package policy does. Authority
// profiles (root, intermediate, issuing CA) cannot be cloned or changed, as
// in the seeds (spec/seed-002-part1.md §6).
package profile
