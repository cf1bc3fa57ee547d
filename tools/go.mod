module github.com/certgate/certgate/tools

go 1.26.0

// estclient comes from github.com/globalsign/est v1.0.6, not v1.0.7 (the
// version the services use): v1.0.7's cmd/estclient needs the go-tpm v0.9
// port of github.com/globalsign/tpmkeys (v1.0.4-0.20250806150134-4b00bd5e66cb),
// which the module proxy refuses, and tpmkeys v1.0.3 does not compile
// against go-tpm v0.9. v1.0.6 builds from tagged versions only; it needs
// cgo (gcc) for github.com/miekg/pkcs11.
//
// scepclient comes from github.com/micromdm/scep/v2 v2.3.0, the e2e tests'
// legacy SCEP client (DES-CBC, SHA-1); it raises golang.org/x/crypto to
// v0.32.0 for estclient too.
tool (
	github.com/globalsign/est/cmd/estclient
	github.com/micromdm/scep/v2/cmd/scepclient
	google.golang.org/grpc/cmd/protoc-gen-go-grpc
	google.golang.org/protobuf/cmd/protoc-gen-go
	honnef.co/go/tools/cmd/staticcheck
)

require (
	github.com/BurntSushi/toml v1.4.1-0.20240526193622-a339e1f7089c // indirect
	github.com/ThalesIgnite/crypto11 v1.2.1 // indirect
	github.com/globalsign/est v1.0.6 // indirect
	github.com/globalsign/pemfile v1.0.0 // indirect
	github.com/globalsign/tpmkeys v1.0.3 // indirect
	github.com/go-chi/chi v4.1.2+incompatible // indirect
	github.com/go-kit/kit v0.8.0 // indirect
	github.com/go-logfmt/logfmt v0.5.1 // indirect
	github.com/google/go-tpm v0.3.2 // indirect
	github.com/gorilla/context v0.0.0-20160226214623-1ea25387ff6f // indirect
	github.com/gorilla/mux v1.4.0 // indirect
	github.com/groob/finalizer v0.0.0-20170707115354-4c2ed49aabda // indirect
	github.com/micromdm/scep/v2 v2.3.0 // indirect
	github.com/miekg/pkcs11 v1.0.3-0.20190429190417-a667d056470f // indirect
	github.com/pkg/errors v0.8.1 // indirect
	github.com/smallstep/pkcs7 v0.1.1 // indirect
	github.com/smallstep/scep v0.0.0-20241223071629-a37a330173bc // indirect
	github.com/thales-e-security/pool v0.0.1 // indirect
	go.mozilla.org/pkcs7 v0.0.0-20200128120323-432b2356ecb1 // indirect
	golang.org/x/crypto v0.32.0 // indirect
	golang.org/x/exp/typeparams v0.0.0-20231108232855-2478ac86f678 // indirect
	golang.org/x/mod v0.41.0 // indirect
	golang.org/x/sync v0.23.0 // indirect
	golang.org/x/sys v0.48.0 // indirect
	golang.org/x/term v0.28.0 // indirect
	golang.org/x/time v0.0.0-20210220033141-f8bda1e9f3ba // indirect
	golang.org/x/tools v0.51.0 // indirect
	google.golang.org/genproto/googleapis/rpc v0.0.0-20260226221140-a57be14db171 // indirect
	google.golang.org/grpc/cmd/protoc-gen-go-grpc v1.6.2 // indirect
	google.golang.org/protobuf v1.36.12 // indirect
	honnef.co/go/tools v0.8.2 // indirect
)
