package xcep

// SOAP 1.2 fault codes (SOAP 1.2 Part 1 §5.4.6) for BuildFault.
const (
	// CodeSender: the request was malformed or not acceptable.
	CodeSender = "s:Sender"
	// CodeReceiver: the server failed; the same request may work later.
	CodeReceiver = "s:Receiver"
	// CodeMustUnderstand answers ErrMustUnderstand.
	CodeMustUnderstand = "s:MustUnderstand"
	// CodeVersionMismatch answers ErrVersionMismatch.
	CodeVersionMismatch = "s:VersionMismatch"
)

// BuildFault returns a SOAP 1.2 fault envelope. messageID is the request's
// a:MessageID (may be empty), sent back as a:RelatesTo. code is one of the
// Code* constants; any other value is sent as CodeReceiver. reason is the
// text shown to the client in English, so it must not carry internal
// detail.
//
// [MS-XCEP] defines no fault detail, so the fault has none. The a:Action is
// the WS-Addressing fault action: the SOAP-defined one for MustUnderstand
// and VersionMismatch, the generic one otherwise.
func BuildFault(messageID string, code string, reason string) []byte {
	action := actionFault
	switch code {
	case CodeSender, CodeReceiver:
	case CodeMustUnderstand, CodeVersionMismatch:
		action = actionSOAPFault
	default:
		code = CodeReceiver
	}
	doc, body := envelope(action, messageID)
	f := body.CreateElement("s:Fault")
	f.CreateElement("s:Code").CreateElement("s:Value").SetText(code)
	t := f.CreateElement("s:Reason").CreateElement("s:Text")
	t.CreateAttr("xml:lang", "en-US")
	t.SetText(reason)
	// serialize writes to memory; it has no error to report in practice,
	// and a fault is the last resort, so it must not fail.
	b, _ := serialize(doc)
	return b
}
