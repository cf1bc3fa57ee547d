package wstepmsg

import (
	"encoding/asn1"
	"sort"
	"strconv"
	"strings"
)

var (
	// szOID_ENROLL_CERTTYPE_EXTENSION: the template's name as a BMPString
	// (version 1 templates, [MS-WCCE] §2.2.2.7.7.1).
	oidTemplateName = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 20, 2}
	// szOID_CERTIFICATE_TEMPLATE: SEQUENCE { templateID OID,
	// templateMajorVersion INTEGER OPTIONAL, templateMinorVersion INTEGER
	// OPTIONAL } (version 2+ templates, [MS-WCCE] §2.2.2.7.7.2).
	oidTemplateInfo = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 21, 7}
)

// contextTemplate is the AdditionalContext item and enrollment attribute
// naming the template.
const contextTemplate = "CertificateTemplate"

// fillTemplate sets TemplateName and TemplateOID from, in order: the CSR's
// template extensions, a CertificateTemplate name-value pair (CSR
// attribute, CMC control), and the CertificateTemplate context item. A
// pair or context value that is a dotted OID names the template by OID.
func (req *Request) fillTemplate(pairs []nameValue) *RequestError {
	if req.CSR != nil {
		for _, ext := range req.CSR.Extensions {
			switch {
			case ext.Id.Equal(oidTemplateName):
				var name string
				if rest, err := asn1.Unmarshal(ext.Value, &name); err != nil || len(rest) > 0 {
					return invalid("malformed certificate template name extension (1.3.6.1.4.1.311.20.2)", err)
				}
				req.TemplateName = strings.TrimSpace(name)
			case ext.Id.Equal(oidTemplateInfo):
				var info struct {
					ID    asn1.ObjectIdentifier
					Major int64 `asn1:"optional"`
					Minor int64 `asn1:"optional"`
				}
				if rest, err := asn1.Unmarshal(ext.Value, &info); err != nil || len(rest) > 0 {
					return invalid("malformed certificate template extension (1.3.6.1.4.1.311.21.7)", err)
				}
				req.TemplateOID = info.ID.String()
			}
		}
	}
	if req.TemplateName != "" && req.TemplateOID != "" {
		return nil
	}
	hint := ""
	for _, p := range pairs {
		if strings.EqualFold(strings.TrimSpace(p.name), contextTemplate) {
			hint = p.value
			break
		}
	}
	if hint == "" {
		hint = req.contextValue(contextTemplate)
	}
	hint = strings.TrimSpace(hint)
	switch {
	case hint == "":
	case isDottedOID(hint):
		if req.TemplateOID == "" {
			req.TemplateOID = hint
		}
	case req.TemplateName == "":
		req.TemplateName = hint
	}
	return nil
}

// contextValue looks a context item up by name, ignoring case when there
// is no exact match (Windows treats attribute names without case).
func (req *Request) contextValue(name string) string {
	if v, ok := req.Context[name]; ok {
		return v
	}
	keys := make([]string, 0, len(req.Context))
	for k := range req.Context {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if strings.EqualFold(k, name) {
			return req.Context[k]
		}
	}
	return ""
}

// isDottedOID reports whether s looks like "1.3.6.1.4.1.311.21.8.…".
func isDottedOID(s string) bool {
	parts := strings.Split(s, ".")
	if len(parts) < 2 {
		return false
	}
	for _, p := range parts {
		if _, err := strconv.ParseUint(p, 10, 64); err != nil {
			return false
		}
	}
	return true
}
