"""node/cluster/config.py: cluster.* from FERRITE_CLUSTER_* and the FERRITE_CONFIG TOML file."""

from __future__ import annotations

import dataclasses
import json
import sys

import pytest

from node.cluster.config import ClusterConfig, ConfigError, load_config

DEFAULTS = {"consensus": "raft", "shards": None, "replicas": 3, "meta_voters": 5,
            "learners_per_shard": 0, "seeds": None,
            "bootstrap_nodes": 0, "replace_dead_after": 10}


def files(**contents: str):
    """A fake read_file over {path: text}; other paths raise FileNotFoundError; records reads."""
    reads: list[str] = []

    def read_file(path: str) -> bytes:
        reads.append(path)
        if path not in contents:
            raise FileNotFoundError(2, "No such file or directory", path)
        return contents[path].encode("utf-8")
    read_file.reads = reads  # type: ignore[attr-defined]
    return read_file


def error(environ, read_file=None) -> str:
    with pytest.raises(ConfigError) as info:
        load_config(environ, read_file)
    return str(info.value)


# --- defaults and the dataclass ----------------------------------------------------------------

def test_defaults():
    config = load_config({})
    assert config == ClusterConfig()
    assert config.to_dict() == DEFAULTS


def test_unrelated_environment_is_ignored():
    env = {"PATH": "/bin", "FERRITE_TIMING": "x", "FERRITE_CLUSTER": "1",
           "ferrite_cluster_shards": "x", "FERRITE_CLUSTERX": "1"}
    assert load_config(env) == ClusterConfig()


def test_config_is_frozen_hashable_and_json_safe():
    config = ClusterConfig(shards=3, seeds=("n1", "n2"))
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.shards = 4  # type: ignore[misc]
    assert hash(config) == hash(ClusterConfig(shards=3, seeds=("n1", "n2")))
    d = config.to_dict()
    assert d["seeds"] == ["n1", "n2"]
    assert ClusterConfig.from_dict(json.loads(json.dumps(d))) == config
    assert ClusterConfig.from_dict({}) == ClusterConfig()
    assert ClusterConfig(seeds=["n1"]).seeds == ("n1",)


@pytest.mark.parametrize("kwargs", [
    {"shards": 0}, {"shards": 16385}, {"shards": True}, {"shards": 2.0}, {"replicas": 0},
    {"replicas": "3"}, {"meta_voters": 0}, {"learners_per_shard": -1}, {"consensus": "paxos"},
    {"consensus": None}, {"seeds": "n1,n2"}, {"seeds": ("n1", "n1")}, {"seeds": ("",)},
])
def test_constructor_validates(kwargs):
    with pytest.raises(ConfigError) as info:
        ClusterConfig(**kwargs)
    assert f"cluster.{next(iter(kwargs))} = " in str(info.value)


def test_from_dict_rejects_unknown_keys():
    with pytest.raises(ConfigError, match="sharts"):
        ClusterConfig.from_dict({"sharts": 3})


# --- the environment ---------------------------------------------------------------------------

def test_every_key_from_the_environment():
    env = {"FERRITE_CLUSTER_CONSENSUS": "raft", "FERRITE_CLUSTER_SHARDS": "3",
           "FERRITE_CLUSTER_REPLICAS": " 5 ", "FERRITE_CLUSTER_META_VOTERS": "7",
           "FERRITE_CLUSTER_LEARNERS_PER_SHARD": "0", "FERRITE_CLUSTER_SEEDS": "n1, n2,n10"}
    assert load_config(env) == ClusterConfig("raft", 3, 5, 7, 0, ("n1", "n2", "n10"))


def test_gossip_is_accepted_by_load_config():
    config = load_config({"FERRITE_CLUSTER_CONSENSUS": "gossip"})
    assert config.consensus == "gossip"


def test_the_example_message():
    assert error({"FERRITE_CLUSTER_SHARDS": "x"}) == \
        "FERRITE_CLUSTER_SHARDS='x': not a positive integer"


@pytest.mark.parametrize("name, text, problem", [
    ("SHARDS", "0", "not a positive integer"),
    ("SHARDS", "-2", "not a positive integer"),
    ("SHARDS", "2.5", "not a positive integer"),
    ("SHARDS", "", "not a positive integer"),
    ("SHARDS", "٣", "not a positive integer"),        # int() would take Arabic-Indic digits
    ("SHARDS", "1_000", "not a positive integer"),    # int() would take underscores
    ("SHARDS", "16385", "must be at most 16384"),
    ("SHARDS", "9" * 5000, "not a positive integer"),
    ("REPLICAS", "0", "not a positive integer"),
    ("REPLICAS", "three", "not a positive integer"),
    ("META_VOTERS", "0", "not a positive integer"),
    ("LEARNERS_PER_SHARD", "-1", "not a non-negative integer"),
    ("LEARNERS_PER_SHARD", "x", "not a non-negative integer"),
    ("CONSENSUS", "paxos", "not one of 'raft', 'gossip'"),
    ("CONSENSUS", "Raft", "not one of 'raft', 'gossip'"),
    ("SEEDS", "n1,,n2", "'' is not a node id"),
    ("SEEDS", "n1,n1", "a node id repeats"),
    ("SEEDS", "n1,bad id", "'bad id' is not a node id"),
    ("SEEDS", "-n1", "'-n1' is not a node id"),
])
def test_bad_environment_values(name, text, problem):
    message = error({f"FERRITE_CLUSTER_{name}": text})
    assert message.startswith(f"FERRITE_CLUSTER_{name}=")
    assert message.endswith(problem) or problem in message
    assert len(message) < 300


def test_learners_may_be_zero_and_seeds_may_be_empty():
    config = load_config({"FERRITE_CLUSTER_LEARNERS_PER_SHARD": "0",
                          "FERRITE_CLUSTER_SEEDS": ""})
    assert config.learners_per_shard == 0 and config.seeds == ()


@pytest.mark.parametrize("name", ["FERRITE_CLUSTER_SHARD", "FERRITE_CLUSTER_", "FERRITE_CLUSTER_Shards",
                                  "FERRITE_CLUSTER_RAFT_TIMEOUT"])
def test_unknown_cluster_variables(name):
    message = error({name: "3"})
    assert message.startswith(f"{name}: unknown variable")
    assert "FERRITE_CLUSTER_SHARDS" in message  # says what is known


# --- the TOML file -----------------------------------------------------------------------------

TOML = """
title = "a ferrite config: other tables are not ours"
[server]
port = 6379
[cluster]
consensus = "raft"
shards = 3
replicas = 3
meta_voters = 3
learners_per_shard = 1
seeds = ["n1", "n2"]
"""


def test_every_key_from_a_file():
    read = files(**{"/etc/ferrite.toml": TOML})
    config = load_config({"FERRITE_CONFIG": "/etc/ferrite.toml"}, read)
    assert config == ClusterConfig("raft", 3, 3, 3, 1, ("n1", "n2"))
    assert read.reads == ["/etc/ferrite.toml"]


def test_no_file_read_without_ferrite_config():
    read = files()
    assert load_config({"FERRITE_CONFIG": ""}, read) == ClusterConfig()
    assert load_config({}, read) == ClusterConfig()
    assert read.reads == []


def test_a_file_without_a_cluster_table_gives_defaults():
    assert load_config({"FERRITE_CONFIG": "f"}, files(f="[server]\nport = 1\n")) == ClusterConfig()
    assert load_config({"FERRITE_CONFIG": "f"}, files(f="")) == ClusterConfig()


def test_environment_wins_over_the_file():
    env = {"FERRITE_CONFIG": "f", "FERRITE_CLUSTER_SHARDS": "8", "FERRITE_CLUSTER_SEEDS": "n9"}
    config = load_config(env, files(f=TOML))
    assert config.shards == 8 and config.seeds == ("n9",)
    assert config.meta_voters == 3 and config.learners_per_shard == 1   # the file's
    assert config.replicas == 3 and config.consensus == "raft"


def test_file_gossip_then_environment_raft():
    f = files(f='[cluster]\nconsensus = "gossip"\n')
    assert load_config({"FERRITE_CONFIG": "f"}, f).consensus == "gossip"
    assert load_config({"FERRITE_CONFIG": "f", "FERRITE_CLUSTER_CONSENSUS": "raft"}, f) \
        == ClusterConfig()


def test_a_real_file_on_disk(tmp_path):
    path = tmp_path / "ferrite.toml"
    path.write_text("[cluster]\nshards = 4\nreplicas = 2\n", encoding="utf-8")
    config = load_config({"FERRITE_CONFIG": str(path), "FERRITE_CLUSTER_REPLICAS": "1"})
    assert config == ClusterConfig(shards=4, replicas=1)


def test_a_missing_real_file(tmp_path):
    path = tmp_path / "nope.toml"
    assert error({"FERRITE_CONFIG": str(path)}) == \
        f"FERRITE_CONFIG={str(path)!r}: cannot read the file: No such file or directory"


def test_a_directory_is_unreadable(tmp_path):
    assert error({"FERRITE_CONFIG": str(tmp_path)}).startswith(
        f"FERRITE_CONFIG={str(tmp_path)!r}: cannot read the file")


@pytest.mark.parametrize("text, problem", [
    ("[cluster]\nshards = \n", "invalid TOML"),
    ("[cluster\n", "invalid TOML"),
    ("[cluster]\nshards = 1\nshards = 2\n", "invalid TOML"),
    ("cluster = 3\n", "'cluster' must be a table"),
    ("cluster = [1]\n", "'cluster' must be a table"),
])
def test_invalid_toml(text, problem):
    message = error({"FERRITE_CONFIG": "c.toml"}, files(**{"c.toml": text}))
    assert message.startswith("FERRITE_CONFIG='c.toml': ") and problem in message


def test_not_utf8():
    def read(path):
        return b"[cluster]\nconsensus = \"\xff\"\n"
    assert "not UTF-8" in error({"FERRITE_CONFIG": "c.toml"}, read)


@pytest.mark.parametrize("line, problem", [
    ("shards = 0", "cluster.shards = 0 in c.toml (FERRITE_CONFIG): not a positive integer"),
    ("shards = \"3\"", "cluster.shards = '3' in c.toml (FERRITE_CONFIG): not a positive integer"),
    ("shards = 3.0", "cluster.shards = 3.0 in c.toml (FERRITE_CONFIG): not a positive integer"),
    ("shards = true", "cluster.shards = True in c.toml (FERRITE_CONFIG): not a positive integer"),
    ("shards = 16385", "cluster.shards = 16385 in c.toml (FERRITE_CONFIG): must be at most 16384"),
    ("replicas = -3", "cluster.replicas = -3 in c.toml (FERRITE_CONFIG): not a positive integer"),
    ("meta_voters = 0", "cluster.meta_voters = 0 in c.toml (FERRITE_CONFIG): not a positive integer"),
    ("learners_per_shard = -1",
     "cluster.learners_per_shard = -1 in c.toml (FERRITE_CONFIG): not a non-negative integer"),
    ("consensus = \"paxos\"",
     "cluster.consensus = 'paxos' in c.toml (FERRITE_CONFIG): not one of 'raft', 'gossip'"),
    ("consensus = 1", "cluster.consensus = 1 in c.toml (FERRITE_CONFIG): not one of 'raft', 'gossip'"),
    ("seeds = \"n1,n2\"",
     "cluster.seeds = 'n1,n2' in c.toml (FERRITE_CONFIG): not a list of node ids"),
    ("seeds = [\"n1\", 2]", "cluster.seeds = ['n1', 2] in c.toml (FERRITE_CONFIG): 2 is not a node id"),
    ("sharts = 3", "cluster.sharts in c.toml (FERRITE_CONFIG): unknown key"),
])
def test_bad_file_values(line, problem):
    message = error({"FERRITE_CONFIG": "c.toml"}, files(**{"c.toml": f"[cluster]\n{line}\n"}))
    assert message.startswith(problem)


def test_learners_zero_in_a_file():
    f = files(f="[cluster]\nlearners_per_shard = 0\nseeds = []\n")
    assert load_config({"FERRITE_CONFIG": "f"}, f) == ClusterConfig(learners_per_shard=0, seeds=())


def test_a_bad_file_value_is_an_error_even_if_the_environment_overrides_it():
    f = files(f="[cluster]\nshards = 0\n")
    assert "in f (FERRITE_CONFIG)" in error({"FERRITE_CONFIG": "f", "FERRITE_CLUSTER_SHARDS": "2"}, f)


def test_python_310_without_tomllib(monkeypatch):
    monkeypatch.setitem(sys.modules, "tomllib", None)   # `import tomllib` raises ImportError
    message = error({"FERRITE_CONFIG": "f"}, files(f=TOML))
    assert message.startswith("FERRITE_CONFIG='f': reading a TOML file needs Python 3.11")
    assert "FERRITE_CLUSTER_" in message
    assert load_config({"FERRITE_CLUSTER_SHARDS": "2"}) == ClusterConfig(shards=2)  # env still works
