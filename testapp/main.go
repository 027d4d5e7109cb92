// Command ecsk-testapp is the container image ecsk's real-container tests run: a tiny HTTP
// server whose health, exit code and files the tests control, plus client subcommands so other
// containers (and healthCheck commands) need no curl. Standard library only, built static into
// a FROM scratch image. See testapp/README.md.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

const unhealthyFile = "/tmp/unhealthy"

var started = time.Now().UTC()

func main() {
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case "get":
			os.Exit(get(os.Args[2:], false))
		case "health":
			os.Exit(get(os.Args[2:], true))
		case "put":
			os.Exit(put(os.Args[2:]))
		case "serve":
		default:
			fmt.Fprintf(os.Stderr, "usage: ecsk-testapp [serve | get URL | health URL | put URL BODY]\n")
			os.Exit(2)
		}
	}
	os.Exit(serve())
}

// get prints the body of a GET (exit 0 on 2xx, 1 otherwise); with quiet it prints nothing,
// which is what a healthCheck command wants.
func get(args []string, quiet bool) int {
	if len(args) != 1 {
		fmt.Fprintln(os.Stderr, "usage: ecsk-testapp get|health URL")
		return 2
	}
	client := &http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get(args[0])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer resp.Body.Close()
	if !quiet {
		if _, err := io.Copy(os.Stdout, resp.Body); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		if quiet {
			fmt.Fprintf(os.Stderr, "%s: HTTP %d\n", args[0], resp.StatusCode)
		}
		return 1
	}
	return 0
}

// put sends BODY with a PUT (e.g. to /file?path=/tmp/unhealthy), so a test can change another
// container's state without a shell or curl in the image; exit 0 on 2xx.
func put(args []string) int {
	if len(args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: ecsk-testapp put URL BODY")
		return 2
	}
	req, err := http.NewRequest(http.MethodPut, args[0], strings.NewReader(args[1]))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		body, _ := io.ReadAll(resp.Body)
		fmt.Fprintf(os.Stderr, "%s: HTTP %d: %s\n", args[0], resp.StatusCode, body)
		return 1
	}
	return 0
}

func serve() int {
	port := os.Getenv("PORT")
	if port == "" {
		port = "8080"
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/", identity)
	mux.HandleFunc("/health", health)
	mux.HandleFunc("/file", file)
	mux.HandleFunc("/env/", env)
	srv := &http.Server{Addr: ":" + port, Handler: mux, ReadHeaderTimeout: 10 * time.Second}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	code := 0
	exitAfter := make(<-chan time.Time)
	if s := os.Getenv("EXIT_AFTER"); s != "" {
		secs, err := strconv.ParseFloat(s, 64)
		if err != nil {
			fmt.Fprintf(os.Stderr, "EXIT_AFTER=%q is not a number of seconds\n", s)
			return 2
		}
		if code, err = strconv.Atoi(envOr("EXIT_CODE", "0")); err != nil {
			fmt.Fprintf(os.Stderr, "EXIT_CODE=%q is not an integer\n", os.Getenv("EXIT_CODE"))
			return 2
		}
		exitAfter = time.After(time.Duration(secs * float64(time.Second)))
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	fmt.Printf("ecsk-testapp %s listening on :%s\n", os.Getenv("CONTAINER_NAME"), port)
	select {
	case err := <-errc:
		fmt.Fprintln(os.Stderr, err)
		return 1
	case <-exitAfter:
		fmt.Printf("EXIT_AFTER reached: exiting with code %d\n", code)
		return code
	case <-ctx.Done():
		// PID 1 in a scratch image: without this, SIGTERM is ignored and every stop takes the
		// whole grace period.
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
		return 0
	}
}

func envOr(name, fallback string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return fallback
}

func identity(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/" {
		http.NotFound(w, r)
		return
	}
	hostname, _ := os.Hostname()
	writeJSON(w, http.StatusOK, map[string]string{
		"hostname":  hostname,
		"ip":        localIP(),
		"container": os.Getenv("CONTAINER_NAME"),
		"revision":  os.Getenv("REVISION"),
		"started":   started.Format(time.RFC3339Nano),
		"client":    r.RemoteAddr,
	})
}

func localIP() string {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return ""
	}
	for _, a := range addrs {
		if ipn, ok := a.(*net.IPNet); ok && !ipn.IP.IsLoopback() && ipn.IP.To4() != nil {
			return ipn.IP.String()
		}
	}
	return ""
}

func health(w http.ResponseWriter, _ *http.Request) {
	if s := os.Getenv("HEALTHY_AFTER"); s != "" {
		// a slow starter: unhealthy for the first N seconds (startPeriod and dependsOn tests)
		if secs, err := strconv.ParseFloat(s, 64); err == nil && time.Since(started).Seconds() < secs {
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "starting", "reason": "HEALTHY_AFTER=" + s})
			return
		}
	}
	if os.Getenv("UNHEALTHY") == "1" {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unhealthy", "reason": "UNHEALTHY=1"})
		return
	}
	if _, err := os.Stat(unhealthyFile); err == nil {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unhealthy", "reason": unhealthyFile + " exists"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "healthy"})
}

func file(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Query().Get("path")
	if path == "" {
		http.Error(w, "query parameter path is required", http.StatusBadRequest)
		return
	}
	switch r.Method {
	case http.MethodGet:
		data, err := os.ReadFile(path)
		if errors.Is(err, os.ErrNotExist) {
			http.Error(w, err.Error(), http.StatusNotFound)
			return
		} else if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		_, _ = w.Write(data)
	case http.MethodPut:
		data, err := io.ReadAll(r.Body)
		if err == nil {
			err = os.WriteFile(path, data, 0o644)
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	default:
		w.Header().Set("Allow", "GET, PUT")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	}
}

// env answers GET /env/NAME with the value of the environment variable NAME (404 when unset), so
// a test sees what a task's environment, secrets and environment files put in the container.
func env(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", "GET")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	name := strings.TrimPrefix(r.URL.Path, "/env/")
	value, ok := os.LookupEnv(name)
	if name == "" || !ok {
		http.Error(w, "environment variable "+name+" is not set", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = io.WriteString(w, value)
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}
