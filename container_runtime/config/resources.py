"""`resourceconfig.json`: which hosts the job has and which one this is."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, NamedTuple

from container_runtime.config.exec_strings import check_exec_string
from container_runtime.config.files import json_type_name
from container_runtime.errors import ConfigError

DEFAULT_HOST = "algo-1"
DEFAULT_INSTANCE_TYPE = "local"
DEFAULT_GROUP_NAME = "homogeneousCluster"
DEFAULT_INTERFACE = "eth0"


class InstanceGroup(NamedTuple):
    name: str
    instance_type: str
    hosts: tuple[str, ...]

    def as_json(self) -> dict[str, Any]:
        return {
            "instance_group_name": self.name,
            "instance_type": self.instance_type,
            "hosts": list(self.hosts),
        }


class ResourceConfig(NamedTuple):
    """The validated content of `resourceconfig.json`; `raw` is the file as given."""

    current_host: str
    hosts: tuple[str, ...]
    current_instance_type: str
    current_group_name: str
    instance_groups: tuple[InstanceGroup, ...]
    network_interface_name: str
    topology: tuple[Any, ...]
    raw: Mapping[str, Any]

    @property
    def current_group_hosts(self) -> tuple[str, ...]:
        for group in self.instance_groups:
            if group.name == self.current_group_name:
                return group.hosts
        return ()


def single_host_resource_config() -> ResourceConfig:
    """The configuration used when `resourceconfig.json` is absent: one host, `algo-1`."""
    raw = {"current_host": DEFAULT_HOST, "hosts": [DEFAULT_HOST]}
    return parse_resource_config(raw, source="resourceconfig.json (default)")


def parse_resource_config(raw: Mapping[str, Any], *, source: str) -> ResourceConfig:
    """Validate the parsed file; every error names `source` and the key at fault."""
    current_host = _string(raw, "current_host", source, required=True)
    hosts = _host_list(raw.get("hosts"), "hosts", source, required=True)
    if current_host not in hosts:
        raise ConfigError(source, f"current_host {current_host!r} is not in hosts {list(hosts)}")
    groups = _instance_groups(raw.get("instance_groups"), source)
    topology = raw.get("topology") or []
    if not isinstance(topology, list):
        raise ConfigError(source, f"key 'topology': expected an array, got {json_type_name(topology)}")
    return ResourceConfig(
        current_host=current_host,
        hosts=hosts,
        current_instance_type=_string(raw, "current_instance_type", source) or DEFAULT_INSTANCE_TYPE,
        current_group_name=_string(raw, "current_group_name", source) or DEFAULT_GROUP_NAME,
        instance_groups=groups,
        network_interface_name=_string(raw, "network_interface_name", source) or DEFAULT_INTERFACE,
        topology=tuple(topology),
        raw=MappingProxyType(dict(raw)),
    )


def _string(raw: Mapping[str, Any], key: str, source: str, *, required: bool = False) -> str:
    value = raw.get(key)
    if value is None:
        if required:
            raise ConfigError(source, f"missing key {key!r}")
        return ""
    if not isinstance(value, str) or (required and not value):
        raise ConfigError(source, f"key {key!r}: expected a non-empty string, got {value!r}")
    # Each of these becomes an SM_* variable or an mpirun argument.
    return check_exec_string(value, source=source, what=f"key {key!r}")


def _host_list(value: Any, key: str, source: str, *, required: bool) -> tuple[str, ...]:
    if value is None and not required:
        return ()
    if not isinstance(value, list) or (required and not value):
        raise ConfigError(source, f"key {key!r}: expected a non-empty array of host names, got {value!r}")
    for host in value:
        if not isinstance(host, str) or not host or "/" in host or host.strip() != host:
            raise ConfigError(source, f"key {key!r}: invalid host name {host!r}")
        check_exec_string(host, source=source, what=f"key {key!r}, host name")
    if len(set(value)) != len(value):
        raise ConfigError(source, f"key {key!r}: host names repeat: {value}")
    return tuple(value)


def _instance_groups(value: Any, source: str) -> tuple[InstanceGroup, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise ConfigError(source, f"key 'instance_groups': expected an array, got {json_type_name(value)}")
    groups = []
    for index, item in enumerate(value):
        where = f"instance_groups[{index}]"
        if not isinstance(item, dict):
            raise ConfigError(source, f"key {where!r}: expected an object, got {json_type_name(item)}")
        name = _string(item, "instance_group_name", f"{source} {where}", required=True)
        groups.append(
            InstanceGroup(
                name=name,
                instance_type=_string(item, "instance_type", f"{source} {where}") or DEFAULT_INSTANCE_TYPE,
                hosts=_host_list(item.get("hosts", []), f"{where}.hosts", source, required=False),
            )
        )
    return tuple(groups)
