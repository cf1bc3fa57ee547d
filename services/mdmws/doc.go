// Package mdmws is certgate's MDM web service: what Jamf Pro, Workspace
// ONE, Ivanti and MaaS360 servers call to get certificates for the devices
// they manage (spec/seed-002-part2.md §3). An MDM configuration is an
// enrollment endpoint of protocol mdmws with a credential (HTTP Basic) and
// Digital IDs, the templates of device subjects.
//
// It serves, per configuration at /mdmws/{tenant}/{endpoint}:
//   - certsrv/mscep_admin/, an NDES-compatible dynamic challenge page, the
//     integration every MDM already has ("Dynamic-Microsoft CA" in Jamf);
//   - v1/, a JSON API: challenges bound to a Digital ID and its variables,
//     issuance from a CSR or with a server-generated key as PKCS#12, and
//     get, renew and revoke.
//
// Entrust's proprietary SOAP contract (AdminServiceV9) is not published
// and not emulated. Devices enroll with the SCEP service at
// /scep/{tenant}/{endpoint}; the challenges live in ca-core, so any
// replica of either service accepts them.
package mdmws
