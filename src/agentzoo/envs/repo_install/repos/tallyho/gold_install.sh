make build-info
