module ecsk.local/kind-netagent

go 1.26.0
