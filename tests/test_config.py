"""Each setting is defined once, in ``config.SETTINGS``: the ``Config`` dataclass,
both command lines (the server's and the agent's) and the environment all
derive from it, and flags win over the environment, the environment over
defaults."""

from dataclasses import fields
from pathlib import Path

import pytest

from logstream import cli, config
from logstream.config import AGENT, DEFAULTS, SERVE, SETTINGS, Config, ConfigError


def options(parser) -> set[str]:
    return {a.dest for a in parser._actions if a.dest not in ("help", "version")}


def test_config_has_one_attribute_per_setting_with_the_tables_default():
    assert [f.name for f in fields(Config)] == [s.name for s in SETTINGS]
    made = Config()
    for s in SETTINGS:
        assert getattr(made, s.name) == (list(s.default) if s.repeat else s.default), s.name
    assert DEFAULTS["port"] == made.port == 8080


def test_config_is_built_from_keywords_and_keeps_its_lists_apart(tmp_path):
    one, two = Config(root=str(tmp_path), port=0), Config(root=tmp_path)
    assert one.root == two.root == Path(tmp_path) and one.port == 0
    one.cors_origin.append("https://a.example")
    assert two.cors_origin == []
    assert "token" not in repr(Config(root=tmp_path, token="secret-token"))


@pytest.mark.parametrize("make,command", [(cli.parser, SERVE), (cli.agent_parser, AGENT)])
def test_each_command_line_takes_exactly_its_commands_settings(make, command):
    assert options(make()) == {s.name for s in SETTINGS if command in s.commands}


@pytest.mark.parametrize("flag", ["--name", "--maxlen"])
def test_the_server_refuses_the_agents_own_flags(flag, capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.parser().parse_args([".", flag, "1"])
    assert exit_.value.code == 2
    assert "unrecognized arguments" in capsys.readouterr().err


@pytest.mark.parametrize("flag,value_name", [
    ("--port", "PORT"), ("--max-per-ip", "N"), ("--max-connections", "N"), ("--retry", "MS"),
    ("--heartbeat", "SECONDS"), ("--write-timeout", "SECONDS"), ("--max-line", "BYTES"), ("--redis", "URL"),
    ("--tls-cert", "PATH"), ("--base-path", "PATH"), ("--cors-origin", "ORIGIN"), ("--log-level", "LEVEL"),
])
def test_help_names_what_each_value_is(flag, value_name):
    assert f"{flag} {value_name}" in cli.parser().format_help()


def test_flags_win_over_the_environment_and_the_environment_over_defaults(tmp_path):
    args = cli.parser().parse_args(["--port", "1", "--cors-origin", "https://a.example"])
    env = {"LOGSTREAM_ROOT": str(tmp_path), "LOGSTREAM_PORT": "2", "LOGSTREAM_HEARTBEAT": "3",
           "LOGSTREAM_CORS_ORIGIN": "https://b.example, https://c.example", "LOGSTREAM_LOG_LEVEL": "DEBUG"}
    cfg = config.from_sources(args, env)
    assert (cfg.root, cfg.port, cfg.heartbeat, cfg.backlog) == (tmp_path.resolve(), 1, 3.0, 100)
    assert cfg.cors_origin == ["https://a.example"] and cfg.log_level == "DEBUG"
    assert config.from_sources(None, env).cors_origin == ["https://b.example", "https://c.example"]


@pytest.mark.parametrize("env,message", [
    ({"LOGSTREAM_LOG_LEVEL": "LOUD"}, "LOGSTREAM_LOG_LEVEL: expected one of DEBUG, INFO, WARNING, ERROR"),
    ({"LOGSTREAM_PORT": "x"}, "LOGSTREAM_PORT: expected int"),
    ({"LOGSTREAM_ROOT": ""}, "no log directory"),
])
def test_a_bad_variable_is_named_in_the_error(env, message, tmp_path):
    with pytest.raises(ConfigError, match=message):
        config.from_sources(None, {"LOGSTREAM_ROOT": str(tmp_path), **env})


def test_the_agent_reads_only_its_own_settings_from_the_environment(tmp_path):
    env = {"LOGSTREAM_PORT": "not a port", "LOGSTREAM_TOKEN": "short", "LOGSTREAM_REDIS": "redis://127.0.0.1:1/0",
           "LOGSTREAM_MAXLEN": "5"}
    cfg = config.from_sources(cli.agent_parser().parse_args([str(tmp_path)]), env, command=AGENT)
    assert (cfg.port, cfg.token, cfg.maxlen) == (8080, None, 5)
