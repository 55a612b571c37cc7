from __future__ import annotations

from pathlib import Path

import pytest

from devagent.config import Config, Paths, load, load_yaml_model
from devagent.errors import ConfigError
from devagent.templates import discover, get


def test_defaults_without_a_file(paths: Paths) -> None:
    config = load(paths)
    assert config == Config()
    assert (config.resources.memory, config.resources.cpus, config.resources.pids) == (
        "4g",
        2.0,
        512,
    )


def test_a_valid_file(paths: Paths) -> None:
    paths.config_dir.mkdir()
    paths.config_file.write_text(
        "runtime: podman\nallowlist: ['*.example.com']\nresources: {memory: 512m, pids: 100}\n"
    )
    config = load(paths)
    assert config.runtime == "podman" and config.allowlist == ["*.example.com"]
    assert config.resources.memory == "512m" and config.resources.cpus == 2.0


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (
            "allowlist: [a.com, b.com, c.com, 'http://x']",
            "config.yaml: allowlist[3]: 'http://x' is a URL",
        ),
        (
            "runtime: kubernetes",
            "config.yaml: runtime: Input should be 'auto', 'docker' or 'podman'",
        ),
        ("resources: {memory: lots}", "config.yaml: resources.memory: 'lots' is not a size"),
        ("colour: blue", "config.yaml: colour: Extra inputs are not permitted"),
        ("allowlist: [", "not valid YAML"),
    ],
)
def test_invalid_files_say_where_and_what(paths: Paths, content: str, says: str) -> None:
    paths.config_dir.mkdir()
    paths.config_file.write_text(content)
    with pytest.raises(ConfigError) as error:
        load(paths)
    assert str(paths.config_file) in str(error.value)
    assert says in str(error.value)
    assert len(str(error.value).splitlines()) == 1  # one line: file, key, what was expected


def test_builtin_and_user_templates(paths: Paths) -> None:
    assert "basic" in [t.name for t in discover(paths)]
    custom = paths.user_templates_dir / "mine"
    custom.mkdir(parents=True)
    (custom / "Dockerfile").write_text("FROM debian:bookworm-slim\n")
    (custom / "template.yaml").write_text("description: mine\nallowlist: [pypi.org]\n")
    template = get("mine", paths)
    assert not template.builtin and template.manifest.allowlist == ["pypi.org"]


def test_unknown_template_lists_the_known_ones(paths: Paths) -> None:
    with pytest.raises(ConfigError, match="unknown template 'nope'") as error:
        get("nope", paths)
    assert "basic" in error.value.hint


def test_invalid_template_manifest_names_the_file(paths: Paths) -> None:
    bad = paths.user_templates_dir / "bad"
    bad.mkdir(parents=True)
    (bad / "Dockerfile").write_text("FROM x\n")
    (bad / "template.yaml").write_text("allowlist: ['a b']\n")
    with pytest.raises(ConfigError, match=r"template.yaml: allowlist\[0\]"):
        get("bad", paths)


def test_allowlist_entries_can_be_mappings_for_passthrough(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("allowlist:\n  - a.test\n  - {host: pinned.test, passthrough: true}\n")
    assert load_yaml_model(path, Config).allowlist == ["a.test", "pinned.test passthrough"]
    path.write_text("allowlist:\n  - {host: pinned.test, intercept: false}\n")
    with pytest.raises(ConfigError, match=r"allowlist\[0\]: an entry as a mapping"):
        load_yaml_model(path, Config)


def test_allowlist_mappings_take_a_mode_and_the_private_flag(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(
        "allowlist:\n  - {host: a.test, mode: tunnel}\n  - {host: b.test, private: true}\n"
        "  - {host: c.test, mode: tunnel, private: true}\n"
    )
    assert load_yaml_model(path, Config).allowlist == [
        "a.test tunnel",
        "b.test private",
        "c.test tunnel private",
    ]
    path.write_text("allowlist:\n  - {host: a.test, mode: sideways}\n")
    with pytest.raises(ConfigError, match=r"allowlist\[0\]"):
        load_yaml_model(path, Config)
