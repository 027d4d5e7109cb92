"""AWS API endpoint benchmark: Describe/List calls per second and RegisterTaskDefinition latency.

Starts a namespaced operator and `ecsk api serve` on a free loopback port, creates 10 services,
then runs several rounds of: DescribeServices (10 services per call), ListServices and
DescribeTaskDefinition from C concurrent boto3 clients for D seconds each, and R sequential
RegisterTaskDefinition calls (each a new revision, so each waits for the operator). Prints the
median of the rounds with min-max. Target: 500 DescribeServices calls/s of 10 services each.

    KUBECONFIG=~/.cache/ecsk/kubeconfig python bench/api_bench.py --rounds 3 --seconds 5
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import boto3
from benchlib import (
    ROOT,
    Cluster,
    delete_namespace,
    namespace,
    service,
    start_operator,
    stop_process,
    task_definition,
)
from botocore.config import Config


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_api(kubeconfig: str, ns: str, port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "ecsk.cli.main", "api", "serve", "--port", str(port), "-n", ns],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=dict(os.environ, KUBECONFIG=kubeconfig, PYTHONPATH=str(ROOT / "operator")),
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return proc
        time.sleep(0.2)
    stop_process(proc)
    raise SystemExit("the endpoint did not start")


def client(url: str, pool: int) -> Any:
    return boto3.client(
        "ecs",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="bench",
        aws_secret_access_key="bench",
        config=Config(max_pool_connections=pool, retries={"max_attempts": 1}),
    )


def rate(clients: list[Any], call: Callable[[Any], object], seconds: float) -> float:
    """Calls per second of `call` from one thread per client, for `seconds` (bounded)."""
    counts = [0] * len(clients)
    stop = time.monotonic() + seconds

    def worker(i: int) -> None:
        while time.monotonic() < stop:
            call(clients[i])
            counts[i] += 1

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(clients))]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(counts) / (time.monotonic() - started)


class RawClient:
    """A keep-alive HTTP connection sending the same AWS JSON body a boto3 client would (no SigV4:
    the default mode accepts unsigned calls). Measures the endpoint, not boto3's own CPU."""

    def __init__(self, url: str) -> None:
        self.conn = http.client.HTTPConnection(url.removeprefix("http://"))

    def call(self, operation: str, body: dict[str, Any]) -> dict[str, Any]:
        headers = {"X-Amz-Target": f"AmazonEC2ContainerServiceV20141113.{operation}"}
        self.conn.request("POST", "/", body=json.dumps(body), headers=headers)
        resp = self.conn.getresponse()
        data: dict[str, Any] = json.loads(resp.read())
        if resp.status != 200:
            raise SystemExit(f"{operation}: {data}")
        return data


def spread(values: list[float], unit: str, digits: int = 0) -> str:
    med, low, high = statistics.median(values), min(values), max(values)
    return f"{med:.{digits}f} {unit} (min {low:.{digits}f}, max {high:.{digits}f})"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=5.0, help="length of each throughput measurement")
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--registers", type=int, default=10, help="RegisterTaskDefinition calls per round")
    args = ap.parse_args()
    kubeconfig = os.environ.get("KUBECONFIG") or str(ROOT / ".." / "kubeconfig")
    c = Cluster(kubeconfig)
    ns = f"bench-api-{uuid.uuid4().hex[:6]}"
    namespace(c, ns)
    c.kubectl("apply", "--server-side", "--force-conflicts", "-k", str(ROOT / "crds"))
    operator = start_operator(kubeconfig, ns, 30.0, "bench-api-operator.log")
    port = free_port()
    api = start_api(kubeconfig, ns, port)
    url = f"http://127.0.0.1:{port}"
    try:
        ecs = client(url, 4)
        ecs.register_task_definition(**task_definition("bench"))
        names = [f"svc-{i}" for i in range(10)]
        for name in names:
            ecs.create_service(**service(name, "bench", 1))
        clients = [client(url, 2) for _ in range(args.concurrency)]
        raw = [RawClient(url) for _ in range(args.concurrency)]
        results: dict[str, list[float]] = {
            k: [] for k in ("describe", "describe_raw", "list", "describe_td", "register")
        }
        for r in range(args.rounds):
            results["describe"].append(
                rate(clients, lambda e: e.describe_services(services=names), args.seconds)
            )
            results["describe_raw"].append(
                rate(raw, lambda e: e.call("DescribeServices", {"services": names}), args.seconds)
            )
            results["list"].append(rate(clients, lambda e: e.list_services(), args.seconds))
            results["describe_td"].append(
                rate(clients, lambda e: e.describe_task_definition(taskDefinition="bench"), args.seconds)
            )
            lat = []
            for i in range(args.registers):
                td = task_definition("bench-reg")
                td["containerDefinitions"][0]["image"] = f"nginx:{r}.{i}"
                t0 = time.monotonic()
                ecs.register_task_definition(**td)
                lat.append((time.monotonic() - t0) * 1000)
            results["register"].append(statistics.median(lat))
        print(
            f"endpoint: {url}, {args.concurrency} concurrent boto3 clients, "
            f"{args.rounds} rounds of {args.seconds:.0f} s"
        )
        print(f"DescribeServices (10 services/call): {spread(results['describe'], 'calls/s')}  target 500")
        print(f"  same, raw HTTP client:             {spread(results['describe_raw'], 'calls/s')}")
        print(f"ListServices:                        {spread(results['list'], 'calls/s')}")
        print(f"DescribeTaskDefinition:              {spread(results['describe_td'], 'calls/s')}")
        print(
            f"RegisterTaskDefinition latency:      {spread(results['register'], 'ms', 0)} (median per round)"
        )
    finally:
        stop_process(api)
        stop_process(operator)
        delete_namespace(c, ns)


if __name__ == "__main__":
    main()
