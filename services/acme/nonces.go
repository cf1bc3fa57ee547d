package acme

import (
	"context"
	"sync"
	"time"

	pb "github.com/certgate/certgate/proto/certgate/v1"
)

// nonceBatch is how many nonces one ca-core call mints: a nonce costs one
// row insert in a batch and one delete when used.
const nonceBatch = 100

// noncePool hands out nonces minted by ca-core, per endpoint. Any replica
// can redeem any nonce, because redemption happens in ca-core.
type noncePool struct {
	client pb.AcmeServiceClient

	mu   sync.Mutex // guards free
	free map[string][]string
}

func newNoncePool(c pb.AcmeServiceClient) *noncePool {
	return &noncePool{client: c, free: map[string][]string{}}
}

func (p *noncePool) get(ctx context.Context, tenant, endpoint string) (string, error) {
	key := tenant + "/" + endpoint
	p.mu.Lock()
	if list := p.free[key]; len(list) > 0 {
		n := list[len(list)-1]
		p.free[key] = list[:len(list)-1]
		p.mu.Unlock()
		return n, nil
	}
	p.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	res, err := p.client.CreateNonces(ctx, &pb.CreateNoncesRequest{Tenant: tenant, Endpoint: endpoint, Count: nonceBatch})
	if err != nil {
		return "", err
	}
	nonces := res.GetNonces()
	p.mu.Lock()
	p.free[key] = append(p.free[key], nonces[1:]...)
	p.mu.Unlock()
	return nonces[0], nil
}
