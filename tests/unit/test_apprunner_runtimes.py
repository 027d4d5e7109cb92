"""App Runner managed runtimes: apprunner.yaml parsed and checked as App Runner's configuration
file reference documents it, the generated Dockerfile, and the source-deploy CLI's managed path
(a bad file stops everything before Docker; the source directory is never written to)."""

from __future__ import annotations

import base64
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from ecsk.cli import apprunner_cmd
from ecsk.cluster.kind import images
from ecsk.core.apprunner import runtimes
from ecsk.core.apprunner.runtimes import ConfigError, parse

FLASK = """\
version: 1.0
runtime: python3
build:
  commands:
    build:
      - pip install -r requirements.txt
run:
  command: python app.py
  network:
    port: 8000
  env:
    - name: MY_VAR_EXAMPLE
      value: "example"
"""
"""App Runner's Python example (Flask): the minimal file with a port and a run env."""

DJANGO_311 = """\
version: 1.0
runtime: python311
build:
  commands:
    build:
      - pip3 install pipenv
      - pipenv install
    post-build:
      - python3 manage.py test
  env:
    - name: DJANGO_SETTINGS_MODULE
      value: "django_apprunner.settings"
    - name: MY_VAR_EXAMPLE
      value: "example"
run:
  runtime-version: 3.11
  pre-run:
    - pip3 install pipenv
    - pipenv install
    - python3 copy-global-files.py
  command: pipenv run gunicorn django_apprunner.wsgi --log-file -
  network:
    port: 8000
    env: MY_APP_PORT
  env:
    - name: MY_VAR_EXAMPLE
      value: "example"
  secrets:
    - name: my-secret
      value-from: "SM_ARN"
    - name: my-parameter
      value-from: "arn:aws:ssm:us-east-1:123456789012:parameter/parameter-name"
    - name: my-parameter-only-name
      value-from: "parameter-name"
"""
"""App Runner's "all configuration keys" example for Python 3.11 (the revised build)."""
SM_ARN = (
    "arn:aws:secretsmanager:us-east-1:123456789012:secret:testingstackAppRunnerConstr-kJFXde2ULKbT-S7t8xR"
)
DJANGO_311 = DJANGO_311.replace("SM_ARN", SM_ARN + ":username::")

NODE = """\
version: 1.0
runtime: nodejs16
build:
  commands:
    pre-build:
      - npm install --production
    build:
      - npm run build
run:
  command: node index.js
"""


def test_flask_sample() -> None:
    cfg = parse(FLASK)
    assert cfg.runtime.name == "python3" and not cfg.runtime.revised
    assert cfg.build == ("pip install -r requirements.txt",)
    assert (cfg.pre_build, cfg.post_build, cfg.build_env, cfg.pre_run) == ((), (), (), ())
    assert (cfg.command, cfg.port, cfg.port_env) == ("python app.py", 8000, None)
    assert cfg.image_configuration() == {
        "Port": "8000",
        "RuntimeEnvironmentVariables": {"MY_VAR_EXAMPLE": "example"},
    }
    assert cfg.notes == ()  # python3 runs on 3.x: nothing to say


def test_flask_dockerfile_builds_in_app_and_runs_the_command() -> None:
    assert runtimes.dockerfile(parse(FLASK), "base:1").splitlines()[1:] == [
        "FROM base:1",
        "WORKDIR /app",
        "COPY . /app/",
        'RUN ["/bin/sh", "-c", "set -e\\npip install -r requirements.txt"]',
        "LABEL ecs.ecsk.io/apprunner-runtime=python3",
        "ENV PORT=8000",
        "EXPOSE 8000",
        "ENTRYPOINT []",
        'CMD ["/bin/sh", "-c", "python app.py"]',
    ]


def test_all_keys_sample_with_the_revised_build() -> None:
    cfg = parse(DJANGO_311)
    assert cfg.runtime.name == "python311" and cfg.runtime.revised
    assert cfg.build == ("pip3 install pipenv", "pipenv install")
    assert cfg.post_build == ("python3 manage.py test",)
    assert cfg.build_env == (
        ("DJANGO_SETTINGS_MODULE", "django_apprunner.settings"),
        ("MY_VAR_EXAMPLE", "example"),
    )
    assert cfg.pre_run[-1] == "python3 copy-global-files.py"
    assert (cfg.runtime_version, cfg.port, cfg.port_env) == ("3.11", 8000, "MY_APP_PORT")
    assert cfg.image_configuration() == {
        "Port": "8000",
        "RuntimeEnvironmentVariables": {"MY_VAR_EXAMPLE": "example"},
        "RuntimeEnvironmentSecrets": {
            "my-secret": "arn:aws:secretsmanager:us-east-1:123456789012:secret:"
            "testingstackAppRunnerConstr-kJFXde2ULKbT-S7t8xR:username::",
            "my-parameter": "arn:aws:ssm:us-east-1:123456789012:parameter/parameter-name",
            "my-parameter-only-name": "parameter-name",
        },
    }


def test_revised_build_copies_app_into_a_fresh_run_image_where_pre_run_runs() -> None:
    lines = runtimes.dockerfile(parse(DJANGO_311), "base:1", "b-42").splitlines()
    assert lines[1] == "FROM base:1 AS build"
    run_stage = lines.index("FROM base:1")
    assert lines[run_stage - 1] == "LABEL ecs.ecsk.io/apprunner-build=b-42"  # the stage is removed by it
    assert lines[run_stage + 1 : run_stage + 3] == ["WORKDIR /app", "COPY --from=build /app /app"]
    pre_run = json.loads(lines[run_stage + 3].removeprefix("RUN "))
    assert pre_run[2].endswith("pip3 install pipenv\npipenv install\npython3 copy-global-files.py")
    assert "export DJANGO_SETTINGS_MODULE='django_apprunner.settings'" in pre_run[2]  # build env: pre-run too
    assert "ENV PORT=8000 MY_APP_PORT=8000" in lines
    assert lines[-1] == 'CMD ["/bin/sh", "-c", "pipenv run gunicorn django_apprunner.wsgi --log-file -"]'
    assert not any("MY_VAR_EXAMPLE=" in line for line in lines[run_stage:] if line.startswith("ENV"))


def test_node_original_build_and_its_runtime_note() -> None:
    cfg = parse(NODE)
    assert cfg.runtime.language == "nodejs" and cfg.port == 8080  # App Runner's default port
    assert cfg.notes == (
        "runtime nodejs16 runs on Node.js 18, the version ecsk's Debian bookworm base carries",
    )
    lines = runtimes.dockerfile(cfg, "node:b").splitlines()
    assert [line for line in lines if line.startswith("RUN")] == [
        'RUN ["/bin/sh", "-c", "set -e\\nnpm install --production"]',
        'RUN ["/bin/sh", "-c", "set -e\\nnpm run build"]',
    ]
    assert "ENV PORT=8080" in lines and "FROM node:b" in lines


def test_build_env_reaches_the_commands_exactly(tmp_path: Path) -> None:
    """The generated RUN script, run by a shell: quotes and `$` in a value arrive unchanged."""
    text = FLASK.replace(
        "    build:\n      - pip",
        '    build:\n      - printf %s "$ODD" > out.txt\n      - pip',
    ).replace(
        "build:\n  commands:",
        'build:\n  env:\n    - name: ODD\n      value: "it\'s $HOME \\"x\\""\n  commands:',
    )
    cfg = parse(text)
    run = next(line for line in runtimes.dockerfile(cfg, "b").splitlines() if line.startswith("RUN"))
    script = json.loads(run.removeprefix("RUN "))[2].replace("pip install -r requirements.txt", "true")
    subprocess.run(["/bin/sh", "-c", script], cwd=tmp_path, check=True)
    assert (tmp_path / "out.txt").read_text() == 'it\'s $HOME "x"'


def test_a_failing_build_command_stops_the_phase(tmp_path: Path) -> None:
    cfg = parse(FLASK.replace("      - pip install -r requirements.txt", "      - exit 3\n      - touch ran"))
    run = next(line for line in runtimes.dockerfile(cfg, "b").splitlines() if line.startswith("RUN"))
    proc = subprocess.run(["/bin/sh", "-c", json.loads(run[4:])[2]], cwd=tmp_path, check=False)
    assert proc.returncode == 3 and not (tmp_path / "ran").exists()


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as err:
        parse(text)
    return err.value.problems


ALLOWED = (
    "allowed values: python3, python311, nodejs12, nodejs14, nodejs16, nodejs18, corretto8, corretto11, "
    "go1, php81, ruby31"
)


V1 = ("version: 1.0", "version: 2.0")
SECRET_S3 = "  secrets:\n    - name: S\n      value-from: arn:aws:s3:::bucket/key\n  env:\n"
SECRET_DUP = "  secrets:\n    - name: MY_VAR_EXAMPLE\n      value-from: p\n  env:\n"
DUP_ENV = '      value: "example"\n    - name: MY_VAR_EXAMPLE\n      value: again'
CMD = "      - pip install -r requirements.txt"
REFUSALS: list[tuple[tuple[str, str], str]] = [
    (V1, "version: '2.0' is not supported: App Runner configuration files are version 1.0"),
    (("version: 1.0\n", ""), "version: required (version: 1.0)"),
    (
        ("runtime: python3", "runtime: python2"),
        f"runtime: 'python2' is not an App Runner managed runtime; {ALLOWED}",
    ),
    (
        ("runtime: python3", "runtime: dotnet6"),
        "runtime: dotnet6 is not built by ecsk: .NET 6 is not packaged by Debian; use a Dockerfile",
    ),
    (("runtime: python3\n", ""), f"runtime: required; {ALLOWED}"),
    (("  command: python app.py\n", ""), "run.command: required"),
    (("  command: python app.py", "  command: ''"), "run.command: must not be empty"),
    (
        ("    port: 8000", "    port: 70000"),
        "run.network.port: '70000' is not valid: it must be a port number",
    ),
    (
        ("    port: 8000", "    port: 8000\n    env: MY-PORT"),
        "run.network.env: 'MY-PORT' is not a valid environment",
    ),
    (
        ("    build:\n      - pip", "    pre-build:\n      - pip"),
        "build.commands.build: required (a list of commands)",
    ),
    (
        (CMD, "      - echo a: b"),
        "build.commands.build[0]: must be a command string, not a mapping (quote a command",
    ),
    ((CMD, "      - true"), "build.commands.build[0]: must be a command string, not a boolean (quote it)"),
    (
        ("run:\n", "run:\n  pre-run: [ls]\n"),
        "run.pre-run: only supported by the revised App Runner build (runtimes",
    ),
    (
        ("run:\n", "run:\n  runtime-version: 18\n"),
        "run.runtime-version: '18' is not a version of runtime python3 (3.x)",
    ),
    (
        ("run:\n", "run:\n  runtime-version: latest\n"),
        "run.runtime-version: 'latest' is not a version: major[.minor",
    ),
    (
        ("run:\n", "run:\n  comand: x\n"),
        "run.comand: unknown key; allowed keys: runtime-version, pre-run, command,",
    ),
    (('      value: "example"', DUP_ENV), "run.env: 'MY_VAR_EXAMPLE' is defined more than once"),
    (
        ("    - name: MY_VAR_EXAMPLE", "    - name: AWSAPPRUNNER_X"),
        "run.env[0].name: 'AWSAPPRUNNER_X': keys with a prefix",
    ),
    (('      value: "example"', "      value: [1]"), "run.env[0].value: must be a string"),
    (
        ("  env:\n", SECRET_S3),
        "run.secrets[0].value-from: 'arn:aws:s3:::bucket/key' is not the ARN of an SSM parameter",
    ),
    (("  env:\n", SECRET_DUP), "run.secrets: 'MY_VAR_EXAMPLE' is also defined in run.env"),
    (("build:\n", "build: ls\nx:\n"), "build: must be a mapping, not str"),
]


@pytest.mark.parametrize(("change", "expected"), REFUSALS)
def test_refusals_name_the_field(change: tuple[str, str], expected: str) -> None:
    text = FLASK.replace(*change)
    assert text != FLASK
    found = problems(text)
    assert any(p.startswith(f"apprunner.yaml: {expected}") for p in found), found


def test_every_problem_is_reported_at_once() -> None:
    found = problems("version: 3\nruntime: ruby2\nbuild:\n  commands: {}\nrun: {}\n")
    assert [p.split(":")[1].strip() for p in found] == [
        "version",
        "runtime",
        "build.commands.build",
        "run.command",
    ]


@pytest.mark.parametrize("text", ["run: [", "- a\n- b\n", "", "version: 1.0\n\truntime: python3\n"])
def test_malformed_yaml_is_one_clear_line(text: str) -> None:
    found = problems(text)
    assert len(found) == 1 and found[0].startswith("apprunner.yaml: ")
    assert "not valid YAML" in found[0] or "must be a YAML mapping" in found[0]


def test_runtime_versions_of_the_runtime_are_accepted() -> None:
    for runtime, version in [
        ("python3", "3.8.16"),
        ("python3", "3"),
        ("python311", "3.11.9"),
        ("python311", "3"),
    ]:
        cfg = parse(
            FLASK.replace("runtime: python3", f"runtime: {runtime}").replace(
                "run:\n", f"run:\n  runtime-version: {version}\n"
            )
        )
        assert cfg.runtime_version == version
    assert parse(FLASK.replace("run:\n", "run:\n  runtime-version: 3.8\n")).notes == (
        "runtime python3 (runtime-version 3.8) runs on Python 3.11, "
        "the version ecsk's Debian bookworm base carries",
    )


GO = """\
version: 1.0
runtime: go1
build:
  commands:
    pre-build:
      - go mod download
    build:
      - go build -o app
    post-build:
      - go vet ./...
  env:
    - name: GOFLAGS
      value: "-mod=mod"
run:
  runtime-version: 1.18.7
  command: ./app
  network:
    port: 8000
    env: APP_PORT
  env:
    - name: MY_VAR_EXAMPLE
      value: "example"
"""
"""App Runner's Go "all configuration keys" example, building one binary with `go build -o`."""

RUBY = """\
version: 1.0
runtime: ruby31
build:
  commands:
    build:
      - bundle install
run:
  command: bundle exec rackup --host 0.0.0.0 -p 8080
"""
"""App Runner's Ruby example: a Rack (Sinatra) app started by rackup."""

PHP = """\
version: 1.0
runtime: php81
build:
  commands:
    build:
      - echo example build command for PHP
run:
  runtime-version: 8.1.22
  command: php -S 0.0.0.0:8080 -t public
"""

CORRETTO = """\
version: 1.0
runtime: corretto11
build:
  commands:
    build:
      - mvn clean package
run:
  command: java -Xms256m -jar target/MyApp-1.0-SNAPSHOT.jar .
"""
"""App Runner's Corretto 11 example: a Maven (Spring-style) build, started from its jar."""

SAMPLES = {"go1": GO, "ruby31": RUBY, "php81": PHP, "corretto11": CORRETTO}


def _runs(cfg: runtimes.Config) -> list[list[str]]:
    lines = runtimes.dockerfile(cfg, "base:t").splitlines()
    return [json.loads(line.removeprefix("RUN "))[2].splitlines() for line in lines if line.startswith("RUN")]


def test_go_original_build_runs_its_binary_where_it_was_built() -> None:
    cfg = parse(GO)
    assert cfg.runtime.name == "go1" and not cfg.runtime.revised  # App Runner's original build
    lines = runtimes.dockerfile(cfg, "ecsk-kind/go:1.19-x").splitlines()
    assert lines[1:4] == ["FROM ecsk-kind/go:1.19-x", "WORKDIR /app", "COPY . /app/"]
    assert [run[2:] for run in _runs(cfg)] == [["go mod download"], ["go build -o app"], ["go vet ./..."]]
    assert all(run[1] == "export GOFLAGS='-mod=mod'" for run in _runs(cfg))
    assert sum(line.startswith("FROM") for line in lines) == 1  # ./app runs in /app, where it was built
    assert "ENV PORT=8000 APP_PORT=8000" in lines and lines[-1] == 'CMD ["/bin/sh", "-c", "./app"]'
    assert cfg.notes == (
        "runtime go1 (runtime-version 1.18.7) runs on Go 1.19, "
        "the version ecsk's Debian bookworm base carries",
    )
    assert parse(GO.replace("  runtime-version: 1.18.7\n", "")).notes == ()  # go1 is any Go 1


def test_ruby31_is_debians_ruby_exactly() -> None:
    cfg = parse(RUBY)
    assert cfg.runtime.language == "ruby" and cfg.port == 8080 and cfg.notes == ()
    assert _runs(cfg) == [["set -e", "bundle install"]]
    assert runtimes.dockerfile(cfg, "b").splitlines()[-1] == (
        'CMD ["/bin/sh", "-c", "bundle exec rackup --host 0.0.0.0 -p 8080"]'
    )
    assert parse(RUBY.replace("run:\n", "run:\n  runtime-version: 3.1.4\n")).notes == ()


def test_php81_runs_on_php_8_2_with_a_note() -> None:
    cfg = parse(PHP)
    assert cfg.notes == (
        "runtime php81 (runtime-version 8.1.22) runs on PHP 8.2, "
        "the version ecsk's Debian bookworm base carries",
    )
    assert parse(PHP.replace("  runtime-version: 8.1.22\n", "")).notes == (
        "runtime php81 runs on PHP 8.2, the version ecsk's Debian bookworm base carries",
    )
    assert problems(PHP.replace("8.1.22", "8.2"))[0].startswith(
        "apprunner.yaml: run.runtime-version: '8.2' is not a version of runtime php81 (8.1.x)"
    )


@pytest.mark.parametrize("name", ["corretto8", "corretto11"])
def test_corretto_runs_on_openjdk_17_with_a_note_of_the_differences(name: str) -> None:
    cfg = parse(CORRETTO.replace("corretto11", name))
    major = name.removeprefix("corretto")
    assert cfg.runtime.version == major and _runs(cfg) == [["set -e", "mvn clean package"]]
    assert len(cfg.notes) == 1 and cfg.notes[0].startswith(
        f"runtime {name} runs on OpenJDK 17, the version ecsk's Debian bookworm base carries"
    )
    assert "--release " + major in cfg.notes[0] and "--add-opens" in cfg.notes[0]


def test_dotnet6_is_refused_with_the_reason() -> None:
    found = problems(FLASK.replace("runtime: python3", "runtime: dotnet6"))
    assert found == [
        "apprunner.yaml: runtime: dotnet6 is not built by ecsk: .NET 6 is not packaged by Debian; "
        "use a Dockerfile"
    ]


@pytest.mark.parametrize("language", ["go", "ruby", "php", "corretto"])
def test_each_new_base_is_debian_packages_on_the_shared_builder(language: str) -> None:
    base = images.APT_BASES[language]
    body = base.body()
    assert f"apt-get install -y --no-install-recommends \\\n       {' '.join(base.packages)} " in body
    assert "rm -rf /var/lib/apt/lists/*" in body and body.startswith("RUN update-ca-certificates")
    expected = {
        "go": ("golang-go", "GOPATH=/go GOCACHE=/go/cache CGO_ENABLED=0 PATH=/go/bin:"),
        "ruby": ("bundler", "SSL_CERT_FILE="),
        "php": ("php-fpm", "/usr/local/sbin/php-fpm && php --version"),
        "corretto": ("maven", "javac -version && mvn --version"),
    }[language]
    assert expected[0] in base.packages and expected[1] in body


def test_every_built_language_has_a_base_image() -> None:
    assert set(runtimes.PROVIDED) == set(images.RUNTIME_BASES)
    assert {r.language for r in runtimes.RUNTIMES if r.name in runtimes.BUILT} == set(runtimes.PROVIDED)


# --- the CLI's managed path ---------------------------------------------------------------------


def test_a_bad_file_exits_1_before_docker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from ecsk.cli.main import app

    def no_docker(*_: Any) -> str:
        raise AssertionError("Docker must not be asked about a bad apprunner.yaml")

    monkeypatch.setattr(apprunner_cmd, "docker_missing", no_docker)
    (tmp_path / "apprunner.yaml").write_text(FLASK.replace("  command: python app.py\n", ""))
    out = CliRunner().invoke(app, ["apprunner", "deploy", "--source", str(tmp_path)])
    assert out.exit_code == 1
    assert (
        "apprunner.yaml: run.command: required" in out.output and "nothing was built or changed" in out.output
    )
    (tmp_path / "apprunner.yaml").write_text(FLASK)
    out = CliRunner().invoke(app, ["apprunner", "deploy", "--source", str(tmp_path), "--port", "9000"])
    assert out.exit_code == 2 and "--port 9000 differs from run.network.port 8000" in out.output


def test_the_build_context_is_a_copy_and_the_source_is_untouched(tmp_path: Path) -> None:
    src = tmp_path / "src"
    (src / ".git").mkdir(parents=True)
    (src / "app.py").write_text("print('hi')\n")
    (src / "apprunner.yaml").write_text(FLASK)
    cfg = apprunner_cmd.read_config(src)
    with apprunner_cmd.managed_context(src, cfg, "base:1") as (context, dockerfile):
        assert sorted(p.name for p in context.iterdir()) == ["app.py", "apprunner.yaml"]
        assert dockerfile.parent != context and dockerfile.read_text() == runtimes.dockerfile(cfg, "base:1")
    assert not context.exists()
    assert sorted(p.name for p in src.iterdir()) == [".git", "app.py", "apprunner.yaml"]


def test_a_revised_build_stage_is_removed_by_its_build_id(tmp_path: Path) -> None:
    runs: list[list[str]] = []

    def run(args: list[str], stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        runs.append(args)
        return subprocess.CompletedProcess(args, 0, "", "")

    (tmp_path / "apprunner.yaml").write_text(DJANGO_311)
    cfg = apprunner_cmd.read_config(tmp_path)
    with apprunner_cmd.managed_context(tmp_path, cfg, "base:1", run) as (_, dockerfile):
        label = next(
            line
            for line in dockerfile.read_text().splitlines()
            if line.startswith("LABEL ecs.ecsk.io/apprunner-build=")
        )
        assert runs == []
    assert runs == [
        ["docker", "image", "prune", "--force", "--filter", f"label={label.removeprefix('LABEL ')}"]
    ]


class Ecr:
    class exceptions:
        class RepositoryNotFoundException(Exception):
            pass

    def describe_repositories(self, repositoryNames: list[str]) -> dict[str, Any]:
        return {
            "repositories": [
                {"repositoryUri": f"000000000000.dkr.ecr.us-east-1.amazonaws.com/{repositoryNames[0]}"}
            ]
        }

    def get_authorization_token(self) -> dict[str, Any]:
        return {"authorizationData": [{"authorizationToken": base64.b64encode(b"AWS:pw").decode()}]}


class Runner:
    def __init__(self) -> None:
        self.created: list[dict[str, Any]] = []

    def list_services(self, **_: Any) -> dict[str, Any]:
        return {"ServiceSummaryList": []}

    def create_service(self, **kw: Any) -> dict[str, Any]:
        self.created.append(kw)
        return {"Service": {"ServiceArn": "arn:svc"}}


def test_the_managed_deploy_builds_the_generated_dockerfile_and_passes_env_and_secrets(
    tmp_path: Path,
) -> None:
    builds: list[list[str]] = []

    def run(args: list[str], stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        if args[1] == "build":
            builds.append(args)
        return subprocess.CompletedProcess(args, 0, "", "")

    cfg = parse(DJANGO_311)
    runner = Runner()
    dockerfile = tmp_path / "Dockerfile"
    arn, done = apprunner_cmd.Deployer(Ecr(), runner, run=run).deploy(
        tmp_path / "ctx", "web", str(cfg.port), dockerfile=dockerfile, image_config=cfg.image_configuration()
    )
    assert (arn, done) == ("arn:svc", "created")
    assert builds[0][builds[0].index("-f") + 1] == str(dockerfile) and builds[0][-1] == str(tmp_path / "ctx")
    image = runner.created[0]["SourceConfiguration"]["ImageRepository"]
    assert image["ImageConfiguration"] == cfg.image_configuration()
    assert "StartCommand" not in image["ImageConfiguration"]  # the image's CMD starts it
