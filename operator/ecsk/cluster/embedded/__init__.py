"""The embedded local cluster: control-plane binaries run by kwokctl, nodes simulated by kwok, and
the operator and metrics adapter as local background processes."""
