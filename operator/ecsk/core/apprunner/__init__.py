"""AWS App Runner: the CreateService shape, App Runner's rules, and its Kubernetes form."""
