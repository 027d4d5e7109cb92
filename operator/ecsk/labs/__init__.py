"""Workshop labs (tools layer): one module per lab on a small engine.

Each lab prepares its own namespace, checks the live cluster through the Kubernetes API and
says in plain words what is still missing, gives hints, applies its reference answer and resets.
The checks are pure functions of a `Snapshot` (`engine`), so their messages are unit-tested
without a cluster; `kube` is the only module that talks to the API server.
"""
