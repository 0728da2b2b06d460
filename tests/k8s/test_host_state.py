"""down() puts the host's sysctls back as up() found them (no cluster needed: a fake /proc/sys).

The real round trip is checked by the `k8s_cluster` fixture when the session started the cluster.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from devtools.cluster import network


@pytest.fixture
def fake_proc_sys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "sys"
    for name in network.RECORDED_SYSCTLS:
        path = root / name.replace(".", "/")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("0\n")
    monkeypatch.setattr(network, "_sysctl_path", lambda name: root / name.replace(".", "/"))
    return root


def test_sysctls_are_recorded_once_and_restored(fake_proc_sys: Path, tmp_path: Path) -> None:
    record = tmp_path / "record.json"
    network.record_sysctls(record)
    network.apply_sysctls()
    assert network.read_sysctl("net.ipv4.ip_forward") == "1"
    # What the kubelet does behind our back.
    network.write_sysctl("kernel.panic", "10")
    # A second up (say after a crash) must not record the changed values as the originals.
    network.record_sysctls(record)
    network.restore_sysctls(record)
    assert {name: network.read_sysctl(name) for name in network.RECORDED_SYSCTLS} == dict.fromkeys(
        network.RECORDED_SYSCTLS, "0"
    )
    assert not record.exists()
