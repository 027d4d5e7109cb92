"""App Runner managed runtimes: the configuration file `apprunner.yaml` (version 1.0) of a source
deploy, parsed, checked and turned into a Dockerfile. Pure: text in, data and text out.

App Runner builds a source directory without a Dockerfile from its `apprunner.yaml` (App Runner
configuration file reference): `runtime` names a managed runtime, `build.commands` run in its
build image (`pre-build`, `build`, `post-build`, with `build.env`), and `run` says how the
application starts (`command`, `network.port` default 8080 and `network.env`, `env`, `secrets`
read from SSM Parameter Store or Secrets Manager). The revised App Runner build (python311,
nodejs18) builds in one image and copies `/app` into a fresh run image, where `pre-run` commands
run; the original build (python3, nodejs12/14/16) runs the application where it was built.

ecsk turns the file into a Dockerfile on a base image of the runtime's language (built from
Debian's packages by `ecsk.cluster.kind.images`, since no registry hub is reachable): the image
carries the build and the start command, and `image_configuration` is what the deploy passes
to CreateService (Port, RuntimeEnvironmentVariables, RuntimeEnvironmentSecrets).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from ecsk.core.apprunner.models import DEFAULT_PORT
from ecsk.core.apprunner.rules import RESERVED_ENV_PREFIX

CONFIG_FILE = "apprunner.yaml"
APP_DIR = "/app"
"""Where App Runner puts the source and runs the build and the application."""


@dataclass(frozen=True)
class Runtime:
    """One of App Runner's managed runtimes (`<language-name><major-version>`)."""

    name: str
    language: str
    version: str
    """The version prefix a `run.runtime-version` must start with (3, 3.11, 18, ...)."""
    revised: bool = False
    """The revised App Runner build: separate build and run images, `pre-run` allowed."""


RUNTIMES: tuple[Runtime, ...] = (
    Runtime("python3", "python", "3"),
    Runtime("python311", "python", "3.11", revised=True),
    Runtime("nodejs12", "nodejs", "12"),
    Runtime("nodejs14", "nodejs", "14"),
    Runtime("nodejs16", "nodejs", "16"),
    Runtime("nodejs18", "nodejs", "18", revised=True),
    Runtime("corretto8", "corretto", "8"),
    Runtime("corretto11", "corretto", "11"),
    Runtime("dotnet6", "dotnet", "6"),
    Runtime("go1", "go", "1"),
    Runtime("php81", "php", "8.1"),
    Runtime("ruby31", "ruby", "3.1"),
)
"""The runtimes App Runner lists for source code services (App Runner developer guide,
"App Runner service based on source code")."""

PROVIDED: dict[str, str] = {
    "python": "3.11",
    "nodejs": "18",
    "go": "1.19",
    "ruby": "3.1",
    "php": "8.2",
    "corretto": "17",
}
"""Languages ecsk builds a base image for, and the version that image carries (Debian bookworm's
python3, nodejs, golang-go, ruby, php and openjdk-17): every runtime of the language runs on it."""

PROVIDED_AS: dict[str, str] = {
    "python": "Python",
    "nodejs": "Node.js",
    "go": "Go",
    "ruby": "Ruby",
    "php": "PHP",
    "corretto": "OpenJDK",
}
"""What the base's language is called in a note (the corretto runtimes run on OpenJDK)."""

DIFFERENCES: dict[str, str] = {
    "corretto": (
        ": Java {version} bytecode runs on it and javac compiles for Java {version} with "
        "--release {version}, but JDK internals are strongly encapsulated (reflective access needs "
        "--add-opens) and the "
        "Java EE modules (javax.xml.bind, ...) and Nashorn are gone"
    ),
}
"""What a note adds when the base's major version is not the runtime's (Java 17 for corretto8/11):
the differences an application can meet, so running on it is not silently different."""

NOT_BUILT: dict[str, str] = {
    "dotnet": ".NET 6 is not packaged by Debian",
}
"""Languages of App Runner runtimes ecsk cannot build, and why (a Dockerfile can)."""

BUILT = tuple(r.name for r in RUNTIMES if r.language in PROVIDED)
REVISED = tuple(r.name for r in RUNTIMES if r.revised)
KEYS: dict[str, tuple[str, ...]] = {
    "": ("version", "runtime", "build", "run"),
    "build": ("commands", "env"),
    "build.commands": ("pre-build", "build", "post-build"),
    "run": ("runtime-version", "pre-run", "command", "network", "env", "secrets"),
    "run.network": ("port", "env"),
}
"""The keys of each section (App Runner configuration file reference, version 1.0)."""

ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
RUNTIME_VERSION = re.compile(r"\d+(\.\d+){0,2}\Z")
SECRET_ARN = re.compile(r"arn:aws[a-z-]*:(ssm:[^:]*:\d*:parameter/|secretsmanager:[^:]*:\d*:secret:).+")


class ConfigError(ValueError):
    """apprunner.yaml is not a valid App Runner configuration file; one line per problem, each
    naming the field (`run.command`) and the rule."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Config:
    """A checked apprunner.yaml."""

    runtime: Runtime
    command: str
    build: tuple[str, ...]
    pre_build: tuple[str, ...] = ()
    post_build: tuple[str, ...] = ()
    build_env: tuple[tuple[str, str], ...] = ()
    runtime_version: str | None = None
    pre_run: tuple[str, ...] = ()
    port: int = int(DEFAULT_PORT)
    port_env: str | None = None
    env: dict[str, str] = field(default_factory=dict)
    secrets: dict[str, str] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    """What ecsk runs differently from App Runner (the runtime version), for the user to read."""

    def image_configuration(self) -> dict[str, Any]:
        """CreateService's ImageConfiguration: the start command is in the image (its CMD)."""
        out: dict[str, Any] = {"Port": str(self.port)}
        if self.env:
            out["RuntimeEnvironmentVariables"] = dict(self.env)
        if self.secrets:
            out["RuntimeEnvironmentSecrets"] = dict(self.secrets)
        return out


class _Reader:
    """Walks the YAML document, collecting every problem before giving up (one run, all fixes)."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def fail(self, path: str, rule: str) -> None:
        self.problems.append(f"{CONFIG_FILE}: {path}: {rule}")

    def section(self, doc: Mapping[str, Any], path: str, key: str, required: bool) -> dict[str, Any]:
        where = f"{path}.{key}" if path else key
        value = doc.get(key)
        if value is None:
            if required:
                self.fail(where, "required")
            return {}
        if not isinstance(value, dict):
            self.fail(where, f"must be a mapping, not {_kind(value)}")
            return {}
        self.known(value, where)
        return value

    def known(self, doc: Mapping[str, Any], path: str) -> None:
        allowed = KEYS[path]
        for key in doc:
            if key not in allowed:
                where = f"{path}.{key}" if path else str(key)
                self.fail(where, f"unknown key; allowed keys: {', '.join(allowed)}")

    def string(self, value: Any, path: str, required: bool = False) -> str | None:
        if value is None:
            if required:
                self.fail(path, "required")
            return None
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            self.fail(path, f"must be a string, not {_kind(value)}")
            return None
        text = str(value)
        if required and not text.strip():
            self.fail(path, "must not be empty")
        return text

    def commands(
        self, doc: Mapping[str, Any], path: str, key: str, required: bool = False
    ) -> tuple[str, ...]:
        where = f"{path}.{key}"
        value = doc.get(key)
        if value is None:
            if required:
                self.fail(where, "required (a list of commands)")
            return ()
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list):
            self.fail(where, f"must be a list of commands, not {_kind(value)}")
            return ()
        out, bad = [], False
        for i, item in enumerate(value):
            if not isinstance(item, str):
                hint = " (quote a command that contains ': ')" if isinstance(item, dict) else " (quote it)"
                self.fail(f"{where}[{i}]", f"must be a command string, not {_kind(item)}{hint}")
                bad = True
            elif item.strip():
                out.append(item)
        if required and not out and not bad:
            self.fail(where, "required: at least one command")
        return tuple(out)

    def pairs(self, value: Any, path: str, value_key: str) -> list[tuple[str, str]]:
        """`- name: N / value: V` lists (env) and `- name: N / value-from: ARN` (secrets)."""
        if value is None:
            return []
        if not isinstance(value, list):
            self.fail(path, f"must be a list of name/{value_key} entries, not {_kind(value)}")
            return []
        out: list[tuple[str, str]] = []
        for i, item in enumerate(value):
            where = f"{path}[{i}]"
            if not isinstance(item, dict):
                self.fail(where, f"must be a mapping with name and {value_key}, not {_kind(item)}")
                continue
            for key in item:
                if key not in ("name", value_key):
                    self.fail(f"{where}.{key}", f"unknown key; allowed keys: name, {value_key}")
            name = self.string(item.get("name"), f"{where}.name", required=True)
            raw = item.get(value_key)
            val = _scalar(raw)
            if val is None:
                self.fail(
                    f"{where}.{value_key}", "required (a string)" if raw is None else "must be a string"
                )
            if name and val is not None:
                out.append((name, val))
        seen: set[str] = set()
        for name, _ in out:
            if name in seen:
                self.fail(path, f"'{name}' is defined more than once")
            seen.add(name)
        return out


def parse(text: str) -> Config:
    """The checked configuration of an apprunner.yaml's text; ConfigError lists every problem."""
    doc = _load(text)
    r = _Reader()
    r.known(doc, "")
    _version(r, doc.get("version"))
    runtime = _runtime(r, doc.get("runtime"))
    build = _build_section(r, doc)
    run = _run_section(r, doc, runtime)
    if r.problems or runtime is None or run.get("command") is None:
        raise ConfigError(r.problems or [f"{CONFIG_FILE}: run.command: required"])
    return Config(runtime=runtime, **build, **run, notes=_notes(runtime, run["runtime_version"]))


def _load(text: str) -> dict[str, Any]:
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError([f"{CONFIG_FILE}: not valid YAML{where}: {problem}"]) from None
    if not isinstance(doc, dict):
        raise ConfigError([f"{CONFIG_FILE}: must be a YAML mapping with version, runtime, build and run"])
    return doc


def _build_section(r: _Reader, doc: Mapping[str, Any]) -> dict[str, Any]:
    build = r.section(doc, "", "build", required=True)
    commands = r.section(build, "build", "commands", required=True) if build else {}
    phase = {
        key: r.commands(commands, "build.commands", key, key == "build") for key in KEYS["build.commands"]
    }
    env = r.pairs(build.get("env"), "build.env", "value")
    for i, (name, _) in enumerate(env):
        _env_name(r, f"build.env[{i}].name", name)
    return {
        "pre_build": phase["pre-build"],
        "build": phase["build"],
        "post_build": phase["post-build"],
        "build_env": tuple(env),
    }


def _run_section(r: _Reader, doc: Mapping[str, Any], runtime: Runtime | None) -> dict[str, Any]:
    run = r.section(doc, "", "run", required=True)
    present = isinstance(doc.get("run"), dict)
    command = r.string(run.get("command"), "run.command", required=True) if present else None
    if command is not None and "\n" in command.strip():
        r.fail("run.command", "must be one command line (use pre-run or a script for more)")
    network = r.section(run, "run", "network", required=False)
    port_env = r.string(network.get("env"), "run.network.env")
    if port_env is not None:
        _env_name(r, "run.network.env", port_env)
    env = r.pairs(run.get("env"), "run.env", "value")
    secrets = r.pairs(run.get("secrets"), "run.secrets", "value-from")
    _env_rules(r, env, secrets)
    pre_run = r.commands(run, "run", "pre-run")
    version = r.string(run.get("runtime-version"), "run.runtime-version")
    if runtime is not None:
        if pre_run and not runtime.revised:
            r.fail(
                "run.pre-run",
                f"only supported by the revised App Runner build (runtimes {', '.join(REVISED)}), "
                f"not by {runtime.name}",
            )
        _runtime_version(r, runtime, version)
    return {
        "command": command.strip() if command else None,
        "runtime_version": version,
        "pre_run": pre_run,
        "port": _port(r, network.get("port")),
        "port_env": port_env,
        "env": dict(env),
        "secrets": dict(secrets),
    }


def _env_name(r: _Reader, path: str, name: str) -> None:
    """Names the shell exports (build env, the port variable) must be shell identifiers."""
    if not ENV_NAME.match(name):
        r.fail(path, f"'{name}' is not a valid environment variable name ([A-Za-z_][A-Za-z0-9_]*)")


def _version(r: _Reader, value: Any) -> None:
    if value is None:
        r.fail("version", "required (version: 1.0)")
    elif isinstance(value, bool) or str(value) not in ("1.0", "1"):
        r.fail("version", f"'{value}' is not supported: App Runner configuration files are version 1.0")


def _runtime(r: _Reader, value: Any) -> Runtime | None:
    if value is None:
        r.fail("runtime", f"required; allowed values: {', '.join(BUILT)}")
        return None
    found = next((rt for rt in RUNTIMES if rt.name == str(value)), None)
    if found is None:
        r.fail(
            "runtime", f"'{value}' is not an App Runner managed runtime; allowed values: {', '.join(BUILT)}"
        )
        return None
    if found.language not in PROVIDED:
        why = NOT_BUILT.get(found.language, f"no {found.language} base image")
        r.fail("runtime", f"{value} is not built by ecsk: {why}; use a Dockerfile")
        return None
    return found


def _port(r: _Reader, value: Any) -> int:
    if value is None:
        return int(DEFAULT_PORT)
    text = str(value)
    if isinstance(value, bool) or not text.isdigit() or not 1 <= int(text) <= 65535:
        r.fail("run.network.port", f"'{value}' is not valid: it must be a port number from 1 to 65535")
        return int(DEFAULT_PORT)
    return int(text)


def _env_rules(r: _Reader, env: list[tuple[str, str]], secrets: list[tuple[str, str]]) -> None:
    """App Runner's rules for the names and secret references that reach CreateService, checked
    here so a bad file stops the deploy before anything is built."""
    for section, pairs in (("run.env", env), ("run.secrets", secrets)):
        for i, (name, _) in enumerate(pairs):
            if name.upper().startswith(RESERVED_ENV_PREFIX):
                r.fail(
                    f"{section}[{i}].name",
                    f"'{name}': keys with a prefix of {RESERVED_ENV_PREFIX} are reserved for system use "
                    "and aren't valid",
                )
    both = sorted({n for n, _ in env} & {n for n, _ in secrets})
    for name in both:
        r.fail("run.secrets", f"'{name}' is also defined in run.env: a variable has one source")
    for i, (_, ref) in enumerate(secrets):
        if ref.startswith("arn:") and not SECRET_ARN.match(ref):
            r.fail(
                f"run.secrets[{i}].value-from",
                f"'{ref}' is not the ARN of an SSM parameter (arn:aws:ssm:region:account:parameter/name) "
                "or a Secrets Manager secret (arn:aws:secretsmanager:region:account:secret:id)",
            )


def _runtime_version(r: _Reader, runtime: Runtime, version: str | None) -> None:
    if version is None:
        return
    if not RUNTIME_VERSION.match(version):
        r.fail("run.runtime-version", f"'{version}' is not a version: major[.minor[.patch]]")
    elif not (version == runtime.version or version.startswith(runtime.version + ".")) and not (
        runtime.version.startswith(version + ".")
    ):
        r.fail(
            "run.runtime-version",
            f"'{version}' is not a version of runtime {runtime.name} ({runtime.version}.x)",
        )


def _notes(runtime: Runtime, version: str | None) -> tuple[str, ...]:
    provided = PROVIDED[runtime.language]
    wanted = version or runtime.version
    if wanted == provided or wanted.startswith(provided + ".") or provided.startswith(wanted + "."):
        return ()
    detail = DIFFERENCES.get(runtime.language, "").format(version=runtime.version)
    return (
        f"runtime {runtime.name}"
        + (f" (runtime-version {version})" if version else "")
        + f" runs on {PROVIDED_AS[runtime.language]} {provided}, "
        + "the version ecsk's Debian bookworm base carries"
        + detail,
    )


def _scalar(value: Any) -> str | None:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    return None


def _kind(value: Any) -> str:
    return {dict: "a mapping", list: "a list", bool: "a boolean"}.get(type(value), type(value).__name__)


def _shell(commands: tuple[str, ...], env: tuple[tuple[str, str], ...]) -> str:
    """One `RUN` in exec form: the build env exported (build commands and pre-run see it, the
    application does not: App Runner's rule), then the commands, stopping at the first failure."""
    exports = [f"export {name}={_quote(value)}" for name, value in env]
    script = "\n".join(["set -e", *exports, *commands])
    return "RUN " + json.dumps(["/bin/sh", "-c", script])


def _quote(value: str) -> str:
    return "'" + value.replace("'", "'\"'\"'") + "'"


BUILD_STAGE_LABEL = "ecs.ecsk.io/apprunner-build"
"""Labels a revised build's build stage with the build's id: it is left as an untagged image
once the run image is built, and the deploy removes it by this label."""


def dockerfile(config: Config, base: str, build_id: str = "") -> str:
    """The Dockerfile of a managed-runtime build on `base` (the build context is the source).

    Original build: one image, built in /app, then run there. Revised build: the build stage's
    /app is copied into a fresh image of the same runtime, where pre-run runs (what it installs
    outside /app, such as global packages, lives only there)."""
    env = config.build_env
    lines = [
        f"# Generated by ecsk from {CONFIG_FILE} (runtime {config.runtime.name}); not written to the source.",
        f"FROM {base}" + (" AS build" if config.runtime.revised else ""),
        f"WORKDIR {APP_DIR}",
        f"COPY . {APP_DIR}/",
    ]
    for phase in (config.pre_build, config.build, config.post_build):
        if phase:
            lines.append(_shell(phase, env))
    if config.runtime.revised:
        lines += [f"LABEL {BUILD_STAGE_LABEL}={build_id or 'stage'}"]
        lines += [f"FROM {base}", f"WORKDIR {APP_DIR}", f"COPY --from=build {APP_DIR} {APP_DIR}"]
        if config.pre_run:
            lines.append(_shell(config.pre_run, env))
    port_env = [f"{name}={config.port}" for name in ("PORT", config.port_env) if name]
    lines += [
        f"LABEL ecs.ecsk.io/apprunner-runtime={config.runtime.name}",
        "ENV " + " ".join(dict.fromkeys(port_env)),
        f"EXPOSE {config.port}",
        "ENTRYPOINT []",
        "CMD " + json.dumps(["/bin/sh", "-c", config.command]),
    ]
    return "\n".join(lines) + "\n"
