"""`ecsk metrics-adapter`: serve `external.metrics.k8s.io` (ALB request counts and customized
metrics set with `ecsk load`) to the HPA.

On the embedded cluster `ecsk cluster up` runs it in the background and registers it with the
aggregator; in a cluster (manifests/) it is a second container of the operator's pod.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer


def metrics_adapter(
    host: str = typer.Option("127.0.0.1", help="Address to listen on (0.0.0.0 in a pod)."),
    port: int = typer.Option(6443, help="HTTPS port (0: any free port, see --port-file)."),
    port_file: Annotated[Path | None, typer.Option(help="Write the bound port here once listening.")] = None,
    cert_dir: Annotated[
        Path | None, typer.Option(help="Directory with tls.crt/tls.key (made self-signed when missing).")
    ] = None,
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log every request."),
) -> None:
    """Serve external metrics from ECSService annotations until interrupted."""
    from ecsk.controller.autoscaling import metrics_adapter as adapter

    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        auth = adapter.kube_client_auth()
    except adapter.AuthConfigError as exc:
        typer.echo(f"ecsk metrics-adapter: {exc}", err=True)
        raise typer.Exit(1) from exc
    server = adapter.make_server(host, port, adapter.kube_lister(), auth, cert_dir)
    bound = server.server_address[1]
    if port_file is not None:
        tmp = port_file.with_suffix(".tmp")
        tmp.write_text(str(bound))
        tmp.replace(port_file)  # readers never see a half-written port
    logging.getLogger("ecsk.metrics-adapter").info("serving external.metrics.k8s.io on %s:%s", host, bound)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
