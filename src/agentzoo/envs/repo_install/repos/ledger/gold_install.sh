make dev
