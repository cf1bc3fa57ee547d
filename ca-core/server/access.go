package server

import (
	pb "github.com/certgate/certgate/proto/certgate/v1"

	"github.com/certgate/certgate/ca-core/authz"
)

// access says who may call an RPC: administrators holding perm on the
// request's tenant, and front-ends when frontend is set (their endpoint
// assignment is checked by the handler, which knows the endpoint).
type access struct {
	perm     authz.Permission
	frontend bool
}

// methods is the access table. An RPC missing here is refused to everyone,
// so a new RPC cannot ship unprotected.
var methods = map[string]access{
	pb.TenantService_CreateTenant_FullMethodName:  {perm: authz.TenantManage},
	pb.TenantService_GetTenant_FullMethodName:     {perm: authz.TenantRead},
	pb.TenantService_ListTenants_FullMethodName:   {perm: authz.TenantRead},
	pb.TenantService_UpdateQuota_FullMethodName:   {perm: authz.TenantManage},
	pb.TenantService_GetQuotaUsage_FullMethodName: {perm: authz.TenantRead},

	pb.CAService_CreateCA_FullMethodName:            {perm: authz.CAWrite},
	pb.CAService_ImportExternalRoot_FullMethodName:  {perm: authz.CAWrite},
	pb.CAService_GetCACSR_FullMethodName:            {perm: authz.CAWrite},
	pb.CAService_ImportCACertificate_FullMethodName: {perm: authz.CAWrite},
	pb.CAService_GetCA_FullMethodName:               {perm: authz.CARead},
	pb.CAService_ListCAs_FullMethodName:             {perm: authz.CARead},
	pb.CAService_GetCAChain_FullMethodName:          {perm: authz.CADownload, frontend: true},
	pb.CAService_SetCAProfiles_FullMethodName:       {perm: authz.CAWrite},
	pb.CAService_SetCARevocation_FullMethodName:     {perm: authz.CAWrite},

	pb.ProfileService_ListProfiles_FullMethodName:  {perm: authz.ProfileRead},
	pb.ProfileService_GetProfile_FullMethodName:    {perm: authz.ProfileRead, frontend: true},
	pb.ProfileService_CreateProfile_FullMethodName: {perm: authz.ProfileWrite},
	pb.ProfileService_DeleteProfile_FullMethodName: {perm: authz.ProfileWrite},

	pb.EndpointService_CreateEndpoint_FullMethodName:           {perm: authz.EnrollWrite},
	pb.EndpointService_GetEndpoint_FullMethodName:              {perm: authz.EnrollRead, frontend: true},
	pb.EndpointService_ListEndpoints_FullMethodName:            {perm: authz.EnrollRead},
	pb.EndpointService_UpdateEndpoint_FullMethodName:           {perm: authz.EnrollWrite},
	pb.EndpointService_DeleteEndpoint_FullMethodName:           {perm: authz.EnrollWrite},
	pb.EndpointService_VerifyEndpointCredential_FullMethodName: {perm: authz.EndpointVerify, frontend: true},

	pb.IssuanceService_Issue_FullMethodName:                  {perm: authz.CertIssue, frontend: true},
	pb.IssuanceService_IssueWithGeneratedKey_FullMethodName:  {perm: authz.CertIssue, frontend: true},
	pb.CertificateService_GetCertificate_FullMethodName:      {perm: authz.CertRead, frontend: true},
	pb.CertificateService_ListCertificates_FullMethodName:    {perm: authz.CertRead},
	pb.EndEntityService_CreateEndEntity_FullMethodName:       {perm: authz.EnrollWrite},
	pb.EndEntityService_GetEndEntity_FullMethodName:          {perm: authz.EnrollRead, frontend: true},
	pb.EndEntityService_ListEndEntities_FullMethodName:       {perm: authz.EnrollRead},
	pb.EndEntityService_ActivateEndEntity_FullMethodName:     {perm: authz.EnrollWrite},
	pb.EndEntityService_DeactivateEndEntity_FullMethodName:   {perm: authz.EnrollWrite},
	pb.EndEntityService_DecommissionEndEntity_FullMethodName: {perm: authz.EnrollWrite},

	pb.ChallengeService_CreateChallenge_FullMethodName:  {perm: authz.EnrollWrite, frontend: true},
	pb.ChallengeService_ConsumeChallenge_FullMethodName: {perm: authz.EndpointVerify, frontend: true},

	pb.PendingRequestService_CreatePendingRequest_FullMethodName:  {perm: authz.EndpointVerify, frontend: true},
	pb.PendingRequestService_GetPendingRequest_FullMethodName:     {perm: authz.EnrollRead, frontend: true},
	pb.PendingRequestService_ListPendingRequests_FullMethodName:   {perm: authz.EnrollRead},
	pb.PendingRequestService_ApprovePendingRequest_FullMethodName: {perm: authz.PendingDecide},
	pb.PendingRequestService_RejectPendingRequest_FullMethodName:  {perm: authz.PendingDecide},

	pb.DigitalIDService_CreateDigitalID_FullMethodName: {perm: authz.EnrollWrite},
	pb.DigitalIDService_GetDigitalID_FullMethodName:    {perm: authz.EnrollRead, frontend: true},
	pb.DigitalIDService_ListDigitalIDs_FullMethodName:  {perm: authz.EnrollRead, frontend: true},
	pb.DigitalIDService_DeleteDigitalID_FullMethodName: {perm: authz.EnrollWrite},
	pb.DigitalIDService_RenderDigitalID_FullMethodName: {perm: authz.EnrollRead, frontend: true},

	pb.ScepService_GetRegistrationAuthority_FullMethodName: {perm: authz.CADownload, frontend: true},
	pb.ScepService_DecryptWithRA_FullMethodName:            {perm: authz.EndpointVerify, frontend: true},
	pb.ScepService_SignWithRA_FullMethodName:               {perm: authz.EndpointVerify, frontend: true},

	pb.RevocationService_RevokeCertificate_FullMethodName:         {perm: authz.CertStatus, frontend: true},
	pb.RevocationService_HoldCertificate_FullMethodName:           {perm: authz.CertStatus},
	pb.RevocationService_ReleaseCertificate_FullMethodName:        {perm: authz.CertStatus},
	pb.RevocationService_StartBulkRevocation_FullMethodName:       {perm: authz.CertStatus},
	pb.RevocationService_GetBulkRevocation_FullMethodName:         {perm: authz.CertRead},
	pb.RevocationService_ListBulkRevocationResults_FullMethodName: {perm: authz.CertRead},
	pb.RevocationService_GetCRL_FullMethodName:                    {perm: authz.CARead, frontend: true},
	pb.RevocationService_PublishCRL_FullMethodName:                {perm: authz.CAWrite},

	pb.AcmeService_CreateNonces_FullMethodName:            {perm: authz.EndpointVerify, frontend: true},
	pb.AcmeService_NewAccount_FullMethodName:              {perm: authz.EndpointVerify, frontend: true},
	pb.AcmeService_LookupAccount_FullMethodName:           {perm: authz.EndpointVerify, frontend: true},
	pb.AcmeService_UpdateAccount_FullMethodName:           {perm: authz.EndpointVerify, frontend: true},
	pb.AcmeService_ChangeAccountKey_FullMethodName:        {perm: authz.EndpointVerify, frontend: true},
	pb.AcmeService_ListAccountOrders_FullMethodName:       {perm: authz.EndpointVerify, frontend: true},
	pb.AcmeService_NewOrder_FullMethodName:                {perm: authz.EndpointVerify, frontend: true},
	pb.AcmeService_GetOrder_FullMethodName:                {perm: authz.EndpointVerify, frontend: true},
	pb.AcmeService_GetAuthorization_FullMethodName:        {perm: authz.EndpointVerify, frontend: true},
	pb.AcmeService_DeactivateAuthorization_FullMethodName: {perm: authz.EndpointVerify, frontend: true},
	pb.AcmeService_StartChallenge_FullMethodName:          {perm: authz.EndpointVerify, frontend: true},
	pb.AcmeService_CompleteChallenge_FullMethodName:       {perm: authz.EndpointVerify, frontend: true},
	pb.AcmeService_FinalizeOrder_FullMethodName:           {perm: authz.EndpointVerify, frontend: true},
	pb.AcmeService_GetOrderCertificate_FullMethodName:     {perm: authz.EndpointVerify, frontend: true},
	pb.AcmeService_RevokeCertificate_FullMethodName:       {perm: authz.EndpointVerify, frontend: true},
	pb.AcmeService_RenewalInfo_FullMethodName:             {perm: authz.EndpointVerify, frontend: true},
	pb.AcmeService_CreateEabKey_FullMethodName:            {perm: authz.EnrollWrite},
	pb.AcmeService_ListEabKeys_FullMethodName:             {perm: authz.EnrollRead},
	pb.AcmeService_DeleteEabKey_FullMethodName:            {perm: authz.EnrollWrite},

	pb.AuditService_ListAuditEvents_FullMethodName:  {perm: authz.AuditRead},
	pb.AuditService_VerifyAuditChain_FullMethodName: {perm: authz.AuditRead},
	pb.AuditService_RecordRefusal_FullMethodName:    {perm: authz.EndpointVerify, frontend: true},
}
