// Command ecsk-netagent is the kind cluster's pod network when kind's own kindnetd cannot be
// built (its source is not on the Go module proxy): it runs where kind's manifest runs kindnetd
// (a hostNetwork DaemonSet, image tag kindest/kindnetd) and does the two things pods need:
// write this node's CNI config (ptp + host-local over the node's podCIDR, portmap) and route
// every other node's podCIDR via that node's InternalIP. Pod traffic leaving the pod subnet is
// masqueraded. It enforces no NetworkPolicy. Standard library only; `ip` and `iptables` come
// from the Debian image it runs in.
package main

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

const (
	saDir    = "/var/run/secrets/kubernetes.io/serviceaccount"
	cniDir   = "/etc/cni/net.d"
	confName = "10-kindnet.conflist"
)

type nodeList struct {
	Items []struct {
		Metadata struct {
			Name        string            `json:"name"`
			Annotations map[string]string `json:"annotations"`
		} `json:"metadata"`
		Spec struct {
			PodCIDR string `json:"podCIDR"`
		} `json:"spec"`
		Status struct {
			Addresses []struct {
				Type    string `json:"type"`
				Address string `json:"address"`
			} `json:"addresses"`
		} `json:"status"`
	} `json:"items"`
}

func main() {
	hostIP := os.Getenv("HOST_IP")
	podSubnet := os.Getenv("POD_SUBNET")
	if hostIP == "" || podSubnet == "" {
		log.Fatal("HOST_IP and POD_SUBNET must be set (kind's kindnet manifest sets both)")
	}
	client, url, token, err := apiClient()
	if err != nil {
		log.Fatal(err)
	}
	ensureMasquerade(podSubnet)
	for {
		if err := sync(client, url, token, hostIP); err != nil {
			log.Print(err)
		}
		time.Sleep(10 * time.Second)
	}
}

func apiClient() (*http.Client, string, string, error) {
	token, err := os.ReadFile(filepath.Join(saDir, "token"))
	if err != nil {
		return nil, "", "", err
	}
	ca, err := os.ReadFile(filepath.Join(saDir, "ca.crt"))
	if err != nil {
		return nil, "", "", err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca)
	host := net.JoinHostPort(os.Getenv("KUBERNETES_SERVICE_HOST"), os.Getenv("KUBERNETES_SERVICE_PORT"))
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	return client, "https://" + host + "/api/v1/nodes", string(bytes.TrimSpace(token)), nil
}

func sync(client *http.Client, url, token, hostIP string) error {
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("list nodes: HTTP %d", resp.StatusCode)
	}
	var nodes nodeList
	if err := json.NewDecoder(resp.Body).Decode(&nodes); err != nil {
		return err
	}
	for _, n := range nodes.Items {
		// kwok's simulated nodes have no network of their own: nothing to route to.
		if n.Metadata.Annotations["kwok.x-k8s.io/node"] == "fake" || n.Spec.PodCIDR == "" {
			continue
		}
		ip := ""
		for _, a := range n.Status.Addresses {
			if a.Type == "InternalIP" && net.ParseIP(a.Address).To4() != nil {
				ip = a.Address
			}
		}
		if ip == hostIP {
			if err := writeConfig(n.Spec.PodCIDR); err != nil {
				return err
			}
		} else if ip != "" {
			if out, err := exec.Command("ip", "route", "replace", n.Spec.PodCIDR, "via", ip).CombinedOutput(); err != nil {
				log.Printf("route %s via %s: %v: %s", n.Spec.PodCIDR, ip, err, out)
			}
		}
	}
	return nil
}

func writeConfig(podCIDR string) error {
	conf := fmt.Sprintf(`{
  "cniVersion": "0.4.0",
  "name": "kindnet",
  "plugins": [
    {"type": "ptp", "ipMasq": false, "mtu": 1500,
     "ipam": {"type": "host-local", "dataDir": "/run/cni-ipam-state",
              "routes": [{"dst": "0.0.0.0/0"}], "ranges": [[{"subnet": %q}]]}},
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
`, podCIDR)
	path := filepath.Join(cniDir, confName)
	if old, err := os.ReadFile(path); err == nil && string(old) == conf {
		return nil
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(conf), 0o644); err != nil {
		return err
	}
	log.Printf("CNI config for %s written", podCIDR)
	return os.Rename(tmp, path)
}

func ensureMasquerade(podSubnet string) {
	rule := []string{"POSTROUTING", "-s", podSubnet, "!", "-d", podSubnet, "-j", "MASQUERADE"}
	if exec.Command("iptables", append([]string{"-t", "nat", "-C"}, rule...)...).Run() == nil {
		return
	}
	if out, err := exec.Command("iptables", append([]string{"-t", "nat", "-A"}, rule...)...).CombinedOutput(); err != nil {
		log.Printf("masquerade rule: %v: %s", err, out)
	}
}
