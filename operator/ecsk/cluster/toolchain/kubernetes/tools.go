//go:build tools

package tools

// The embedded cluster builds the control plane and kubectl; the kind node image also needs the
// node agents (kubelet, kube-proxy) and kubeadm. One wrapper module and one Go build cache serve
// both, so the kind build reuses every package the embedded build already compiled.
import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-proxy"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubeadm"
	_ "k8s.io/kubernetes/cmd/kubectl"
	_ "k8s.io/kubernetes/cmd/kubelet"
)
