package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func do(t *testing.T, h http.HandlerFunc, method, target, body string) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	h(rec, httptest.NewRequest(method, target, strings.NewReader(body)))
	return rec
}

func TestIdentityReportsContainerAndRevision(t *testing.T) {
	t.Setenv("CONTAINER_NAME", "web")
	t.Setenv("REVISION", "7")
	rec := do(t, identity, http.MethodGet, "/", "")
	var got map[string]string
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	host, _ := os.Hostname()
	if got["container"] != "web" || got["revision"] != "7" || got["hostname"] != host || got["ip"] == "" {
		t.Fatalf("unexpected identity %v", got)
	}
	if rec := do(t, identity, http.MethodGet, "/nope", ""); rec.Code != http.StatusNotFound {
		t.Fatalf("unknown path answered %d", rec.Code)
	}
}

func TestHealthFollowsEnvAndFile(t *testing.T) {
	if rec := do(t, health, http.MethodGet, "/health", ""); rec.Code != http.StatusOK {
		t.Fatalf("healthy app answered %d", rec.Code)
	}
	t.Setenv("UNHEALTHY", "1")
	if rec := do(t, health, http.MethodGet, "/health", ""); rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("UNHEALTHY=1 answered %d", rec.Code)
	}
	t.Setenv("UNHEALTHY", "")
	t.Setenv("HEALTHY_AFTER", "3600")
	if rec := do(t, health, http.MethodGet, "/health", ""); rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("HEALTHY_AFTER not reached answered %d", rec.Code)
	}
	t.Setenv("HEALTHY_AFTER", "0")
	if rec := do(t, health, http.MethodGet, "/health", ""); rec.Code != http.StatusOK {
		t.Fatalf("HEALTHY_AFTER=0 answered %d", rec.Code)
	}
}

func TestFilePutThenGet(t *testing.T) {
	path := filepath.Join(t.TempDir(), "shared.txt")
	if rec := do(t, file, http.MethodPut, "/file?path="+path, "hello"); rec.Code != http.StatusNoContent {
		t.Fatalf("PUT answered %d: %s", rec.Code, rec.Body)
	}
	rec := do(t, file, http.MethodGet, "/file?path="+path, "")
	if rec.Code != http.StatusOK || rec.Body.String() != "hello" {
		t.Fatalf("GET answered %d %q", rec.Code, rec.Body)
	}
	if rec := do(t, file, http.MethodGet, "/file?path="+path+".missing", ""); rec.Code != http.StatusNotFound {
		t.Fatalf("missing file answered %d", rec.Code)
	}
	if rec := do(t, file, http.MethodGet, "/file", ""); rec.Code != http.StatusBadRequest {
		t.Fatalf("no path answered %d", rec.Code)
	}
	if rec := do(t, file, http.MethodDelete, "/file?path="+path, ""); rec.Code != http.StatusMethodNotAllowed {
		t.Fatalf("DELETE answered %d", rec.Code)
	}
}

func TestEnvAnswersSetVariablesOnly(t *testing.T) {
	t.Setenv("ECSK_TEST_SECRET", "s3cret=with=equals")
	rec := do(t, env, http.MethodGet, "/env/ECSK_TEST_SECRET", "")
	if rec.Code != http.StatusOK || rec.Body.String() != "s3cret=with=equals" {
		t.Fatalf("GET /env/ECSK_TEST_SECRET = %d %q", rec.Code, rec.Body.String())
	}
	t.Setenv("ECSK_TEST_EMPTY", "")
	if rec := do(t, env, http.MethodGet, "/env/ECSK_TEST_EMPTY", ""); rec.Code != http.StatusOK || rec.Body.Len() != 0 {
		t.Fatalf("an empty variable answered %d %q", rec.Code, rec.Body.String())
	}
	if rec := do(t, env, http.MethodGet, "/env/ECSK_TEST_UNSET_VARIABLE", ""); rec.Code != http.StatusNotFound {
		t.Fatalf("an unset variable answered %d", rec.Code)
	}
	if rec := do(t, env, http.MethodPut, "/env/ECSK_TEST_SECRET", "x"); rec.Code != http.StatusMethodNotAllowed {
		t.Fatalf("PUT answered %d", rec.Code)
	}
}

func TestGetAndHealthSubcommands(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(health))
	defer srv.Close()
	if code := get([]string{srv.URL}, true); code != 0 {
		t.Fatalf("health on a healthy app exited %d", code)
	}
	t.Setenv("UNHEALTHY", "1")
	if code := get([]string{srv.URL}, true); code != 1 {
		t.Fatalf("health on an unhealthy app exited %d", code)
	}
	if code := get(nil, false); code != 2 {
		t.Fatalf("usage error exited %d", code)
	}
}
