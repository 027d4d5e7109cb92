"""The Copilot workflow (tools layer): Copilot's workspace on disk, environments as namespaces,
workloads deployed as ecsk's ECS custom resources. The manifest format and its translation are
pure (`ecsk.core.copilot`); this package does the I/O: `workspace` (files), `kube` (the API
server), `images` (Docker build and push to the environment's ECR repository), `commands` (the
verbs `ecsk copilot` runs)."""
