package profile

import (
	"bytes"
	_ "embed"
	"fmt"

	"gopkg.in/yaml.v3"
)

//go:embed catalog.yaml
var catalogYAML []byte

// Set is an immutable collection of global profiles: the built-in catalogue
// plus profiles loaded from configuration. Tenant custom profiles live in the
// store and are resolved next to it.
type Set struct {
	list []*Profile
	byID map[string]*Profile
}

// NewSet builds the catalogue and then the configured documents, which may
// clone built-in profiles or earlier configured ones.
func NewSet(configured ...*Document) (*Set, error) {
	dec := yaml.NewDecoder(bytes.NewReader(catalogYAML))
	dec.KnownFields(true)
	var docs []*Document
	if err := dec.Decode(&docs); err != nil {
		return nil, fmt.Errorf("profile: built-in catalogue: %w", err)
	}
	s := &Set{byID: map[string]*Profile{}}
	for _, d := range docs {
		p, err := s.add(d)
		if err != nil {
			return nil, fmt.Errorf("profile: built-in catalogue: %w", err)
		}
		p.BuiltIn = true
		p.ClonedFrom = ""
	}
	for _, d := range configured {
		if _, err := s.add(d); err != nil {
			return nil, err
		}
	}
	return s, nil
}

func (s *Set) add(d *Document) (*Profile, error) {
	if _, dup := s.byID[d.ID]; dup {
		return nil, fmt.Errorf("profile %s: defined twice", d.ID)
	}
	p, err := Build(d, s.Get)
	if err != nil {
		return nil, err
	}
	s.list = append(s.list, p)
	s.byID[p.ID] = p
	return p, nil
}

// Get returns a global profile by id.
func (s *Set) Get(id string) (*Profile, bool) {
	p, ok := s.byID[id]
	return p, ok
}

// All returns the global profiles in definition order. Callers must not
// modify the slice or the profiles.
func (s *Set) All() []*Profile { return s.list }
