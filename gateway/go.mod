module github.com/certgate/certgate/gateway

go 1.26.0
