package e2e

import (
	"bytes"
	"encoding/base64"
	binenc "encoding/binary"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/smallstep/scep"
)

// mdmChallengeRE is how MDMs (Jamf, Fleet, Workspace ONE) read NDES's
// dynamic challenge page.
var mdmChallengeRE = regexp.MustCompile(`(?i)The enrollment challenge password is: <B> (\S*)`)

// mdm is an MDM server talking to certgate's MDM web service.
type mdm struct {
	t    *testing.T
	s    *suite
	hc   *http.Client
	base string
	user string
	pass string
}

func newMDM(t *testing.T, s *suite) *mdm {
	return &mdm{t: t, s: s, hc: s.httpClient(t), base: s.ep.MDMWS.URL, user: s.ep.MDMWS.Username, pass: s.ep.MDMWS.Password}
}

func (m *mdm) do(method, path string, body any) (*http.Response, []byte) {
	m.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, m.base+path, rd)
	if err != nil {
		m.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.SetBasicAuth(m.user, m.pass)
	resp, err := m.hc.Do(req)
	if err != nil {
		m.t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp, out
}

// page fetches the NDES challenge page and decodes it as a browser would.
func (m *mdm) page(query string) (int, string) {
	m.t.Helper()
	resp, body := m.do("GET", "/certsrv/mscep_admin/?"+query, nil)
	text := string(body)
	if strings.Contains(resp.Header.Get("Content-Type"), "utf-16") {
		if len(body) < 2 || body[0] != 0xff || body[1] != 0xfe {
			m.t.Fatalf("UTF-16 page without a little-endian BOM: % x", body[:min(4, len(body))])
		}
		units := make([]uint16, (len(body)-2)/2)
		for i := range units {
			units[i] = binenc.LittleEndian.Uint16(body[2+2*i:])
		}
		text = string(utf16.Decode(units))
	}
	return resp.StatusCode, text
}

// challenge reads one from the page the way MDMs do.
func (m *mdm) challenge(query string) string {
	m.t.Helper()
	status, text := m.page(query)
	match := mdmChallengeRE.FindStringSubmatch(text)
	if status != 200 || match == nil {
		m.t.Fatalf("challenge page: HTTP %d: %s", status, text)
	}
	if !regexp.MustCompile(`^[0-9A-F]{16}$`).MatchString(match[1]) {
		m.t.Fatalf("challenge %q is not 16 hex characters", match[1])
	}
	return match[1]
}

func TestMDMWS(t *testing.T) {
	s := startDev(t, t.TempDir())
	m := newMDM(t, s)
	scepURL := s.ep.MDMWS.SCEPURL

	t.Run("Jamf flow: challenge page, scepclient, Digital ID subject", func(t *testing.T) {
		challenge := m.challenge("device=ipad-0042")
		device := &scepCLI{bin: scepClientPath(t), dir: t.TempDir()}
		// The CSR's subject is Jamf's placeholder; certgate uses the
		// Digital ID's.
		device.mustRun(t, scepURL, "-challenge", challenge, "-cn", "placeholder", "-organization", "ignored")
		cert := device.cert(t)
		if got := cert.Subject.String(); got != "CN=ipad-0042,OU=Devices,O=certgate dev" {
			t.Fatalf("subject %q, want the Digital ID's", got)
		}
		// Used once: a second device cannot reuse it.
		again := &scepCLI{bin: device.bin, dir: t.TempDir()}
		if out, err := again.run(scepURL, "-challenge", challenge, "-cn", "placeholder"); err == nil {
			t.Fatalf("a used challenge enrolled again:\n%s", out)
		}
	})

	t.Run("Digital ID filled from the device's CSR", func(t *testing.T) {
		// MaaS360 can only put device details into the CSR subject.
		s.admin("digital-ids", "create", "--endpoint", "mdm", "--name", "from-csr", "--rdn-format", "CN=<csr.cn> <fleet>",
			"--parent-dn", "OU=MaaS360,O=certgate dev", "--san", "dns:<csr.cn>.devices.example")
		challenge := m.challenge("digital_id=from-csr&fleet=kiosks")
		d := newSCEPDevice(t, scepURL)
		cert := wantSCEPSuccess(t, d.enroll("19", "tx-from-csr", d.csr("udid-4711", challenge)))
		if got := cert.Subject.String(); got != "CN=udid-4711 kiosks,OU=MaaS360,O=certgate dev" || len(cert.DNSNames) != 1 || cert.DNSNames[0] != "udid-4711.devices.example" {
			t.Fatalf("subject %q SANs %v", got, cert.DNSNames)
		}
		// The MDM's own variables are still required up front.
		if status, text := m.page("digital_id=from-csr"); status != http.StatusBadRequest || !strings.Contains(text, "fleet") {
			t.Errorf("missing MDM variable: HTTP %d %s", status, text)
		}
		// And a CSR without what the template takes is refused.
		challenge = m.challenge("digital_id=from-csr&fleet=kiosks")
		d2 := newSCEPDevice(t, scepURL)
		wantSCEPFailure(t, d2.enroll("19", "tx-from-csr-2", d2.csr("", challenge, "x.example")), scep.BadRequest)
	})

	t.Run("challenge page encodings and errors", func(t *testing.T) {
		resp, body := m.do("GET", "/certsrv/mscep_admin/?device=x&encoding=utf-8", nil)
		if resp.Header.Get("Content-Type") != "text/html; charset=utf-8" || !mdmChallengeRE.Match(body) {
			t.Fatalf("UTF-8 page: %s %s", resp.Header.Get("Content-Type"), body)
		}
		if status, text := m.page(""); status != http.StatusBadRequest || !strings.Contains(text, "device") {
			t.Errorf("missing variable: HTTP %d %s", status, text)
		}
		if status, text := m.page("digital_id=nope&device=x"); status != http.StatusNotFound {
			t.Errorf("unknown Digital ID: HTTP %d %s", status, text)
		}
		wrong := *m
		wrong.pass = "not-the-password"
		status, text := wrong.page("device=x")
		if status != http.StatusUnauthorized || !strings.Contains(text, "You do not have sufficient permission to enroll with SCEP") {
			t.Errorf("wrong password: HTTP %d %s", status, text)
		}
		if out := s.admin("audit", "list", "--action", "endpoint.credential.verify", "--result", "failure"); !strings.Contains(out, "mdm-dev") {
			t.Errorf("failed login not audited:\n%s", out)
		}
	})

	t.Run("challenge expiry", func(t *testing.T) {
		resp, body := m.do("POST", "/v1/challenges", map[string]any{"digital_id": "device", "variables": map[string]string{"device": "short-lived"}, "ttl_seconds": 1})
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("HTTP %d %s", resp.StatusCode, body)
		}
		var ch struct {
			Challenge string `json:"challenge"`
			Subject   string `json:"subject"`
			SCEPURL   string `json:"scep_url"`
		}
		json.Unmarshal(body, &ch)
		if ch.Subject != "CN=short-lived,OU=Devices,O=certgate dev" || ch.SCEPURL != scepURL {
			t.Fatalf("answer %s", body)
		}
		time.Sleep(1500 * time.Millisecond)
		d := newSCEPDevice(t, scepURL)
		wantSCEPFailure(t, d.enroll("19", "tx-expired", d.csr("placeholder", ch.Challenge)), scep.BadRequest)
	})

	t.Run("JSON API", func(t *testing.T) {
		for _, path := range []string{"/v1/ping", "/v1/cas", "/v1/profiles", "/v1/digital-ids", "/v1/digital-ids/device"} {
			if resp, body := m.do("GET", path, nil); resp.StatusCode != 200 || !json.Valid(body) {
				t.Errorf("%s: HTTP %d %s", path, resp.StatusCode, body)
			}
		}
		_, body := m.do("GET", "/v1/digital-ids/device", nil)
		if !strings.Contains(string(body), `"variables": [`) || !strings.Contains(string(body), `"device"`) {
			t.Errorf("Digital ID lacks its variables: %s", body)
		}
		// Issue from a CSR with a Digital ID.
		d := newSCEPDevice(t, s.ep.SCEP.URL)
		csrPEM := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: d.csr("whatever", "")}))
		resp, body := m.do("POST", "/v1/certificates", map[string]any{"csr": csrPEM, "digital_id": "device", "variables": map[string]string{"device": "laptop-7"}})
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("issue: HTTP %d %s", resp.StatusCode, body)
		}
		var issued struct {
			Serial, Subject, Certificate string
		}
		json.Unmarshal(body, &issued)
		if issued.Subject != "CN=laptop-7,OU=Devices,O=certgate dev" {
			t.Fatalf("issued %s", body)
		}
		// Renew with a new CSR keeps the subject; revoke; get.
		resp, body = m.do("POST", "/v1/certificates/"+issued.Serial+"/renew", map[string]any{"csr": csrPEM})
		if resp.StatusCode != http.StatusCreated || !strings.Contains(string(body), "CN=laptop-7") {
			t.Fatalf("renew: HTTP %d %s", resp.StatusCode, body)
		}
		if resp, body := m.do("POST", "/v1/certificates/"+issued.Serial+"/revoke", map[string]any{"reason": "superseded"}); resp.StatusCode != 200 || !strings.Contains(string(body), `"revoked"`) {
			t.Fatalf("revoke: HTTP %d %s", resp.StatusCode, body)
		}
		if resp, body := m.do("GET", "/v1/certificates/"+issued.Serial, nil); resp.StatusCode != 200 || !strings.Contains(string(body), `"revoked"`) {
			t.Fatalf("get: HTTP %d %s", resp.StatusCode, body)
		}
		// Bad input: missing variable, unknown Digital ID, wrong mode,
		// oversized body, certificates of other endpoints.
		for name, tc := range map[string]struct {
			path   string
			body   any
			status int
		}{
			"missing variable": {"/v1/challenges", map[string]any{"digital_id": "device"}, 400},
			"unknown digital":  {"/v1/challenges", map[string]any{"digital_id": "nope", "variables": map[string]string{"device": "x"}}, 404},
			"pkcs12 for scep":  {"/v1/pkcs12", map[string]any{"digital_id": "device", "variables": map[string]string{"device": "x"}, "password": "secret"}, 409},
			"unknown field":    {"/v1/challenges", map[string]any{"digital": "device"}, 400},
			"oversized":        {"/v1/certificates", map[string]any{"csr": strings.Repeat("A", 70<<10)}, 413},
			"other endpoint":   {"/v1/certificates/" + strings.Repeat("0", 38) + "01/revoke", map[string]any{}, 404},
		} {
			if resp, body := m.do("POST", tc.path, tc.body); resp.StatusCode != tc.status {
				t.Errorf("%s: HTTP %d, want %d: %s", name, resp.StatusCode, tc.status, body)
			}
		}
	})

	t.Run("PKCS#12 opens with openssl in both modes", func(t *testing.T) {
		for _, enc := range []string{"aes", "legacy"} {
			resp, body := m.do("POST", "/v1/pkcs12", map[string]any{"digital_id": "device-p12", "variables": map[string]string{"device": "p12-" + enc},
				"password": "s3cret-pass", "encryption": enc})
			if resp.StatusCode != http.StatusCreated {
				t.Fatalf("%s: HTTP %d %s", enc, resp.StatusCode, body)
			}
			var out struct {
				PKCS12 string `json:"pkcs12"`
			}
			json.Unmarshal(body, &out)
			der, err := base64.StdEncoding.DecodeString(out.PKCS12)
			if err != nil {
				t.Fatal(err)
			}
			file := filepath.Join(t.TempDir(), "device.p12")
			os.WriteFile(file, der, 0o600)
			args := []string{"pkcs12", "-in", file, "-passin", "pass:s3cret-pass", "-nodes"}
			info, err := exec.Command("openssl", append(args, "-info")...).CombinedOutput()
			if err != nil {
				t.Fatalf("%s: openssl pkcs12: %v\n%s", enc, err, info)
			}
			want := map[string]string{"aes": "AES-256-CBC", "legacy": "pbeWithSHA1And3-KeyTripleDES-CBC"}[enc]
			if !strings.Contains(string(info), want) || !strings.Contains(string(info), "PRIVATE KEY") || !strings.Contains(string(info), "CN = p12-"+enc) {
				t.Errorf("%s: openssl sees:\n%s", enc, info)
			}
			if out, err := exec.Command("openssl", append(args, "-passin", "pass:wrong")...).CombinedOutput(); err == nil {
				t.Errorf("%s: opened with a wrong password:\n%s", enc, out)
			}
		}
	})

	t.Run("wrong credentials are slowed down", func(t *testing.T) {
		wrong := *m
		wrong.pass = "guess"
		var last int
		for range 12 {
			resp, _ := wrong.do("GET", "/v1/ping", nil)
			last = resp.StatusCode
		}
		if last != http.StatusTooManyRequests {
			t.Fatalf("after 12 wrong passwords: HTTP %d, want 429", last)
		}
	})
}
