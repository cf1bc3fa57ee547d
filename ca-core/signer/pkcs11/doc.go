// Package pkcs11 is the signer.Backend that keeps CA keys in a PKCS#11
// token (an HSM, or SoftHSM in development and tests).
//
// It owns: loading the PKCS#11 module, finding the token by label and
// logging in as the user; generating RSA and ECDSA key pairs inside the
// token (private keys are sensitive and not extractable); finding keys again
// by the CKA_ID recorded in their ref ("pkcs11:id=<hex>"); signing with
// CKM_RSA_PKCS, CKM_RSA_PKCS_PSS and CKM_ECDSA through a bounded pool of
// sessions shared by all keys; and recovering from a lost login, closed
// sessions or a re-initialized module by re-opening sessions, logging in
// again and retrying the failed operation once.
//
// It does not own: the PIN's source (the command reads it from a file or the
// environment and passes the value in Config), token initialization and
// SO-PIN handling (done with the vendor's tools; softhsmtest does it for
// tests), choosing key types or signature algorithms (package keys and the
// callers), storing refs (ca-core's store), or deleting keys.
//
// A PKCS#11 module is process-global: C_Initialize and C_Finalize act on
// every user of the library in the process. Use one Backend per module per
// process; a Backend only finalizes the module if it initialized it.
package pkcs11
