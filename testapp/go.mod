module ecsk.local/testapp

go 1.26.0
