"""What the cluster runs on top of the control plane: CoreDNS and the default StorageClass.

Manifests live in devtools/cluster/manifests (`${NAME}` placeholders filled in here); the
PersistentVolumes are generated: `VOLUMES` directories under `paths.VOLUMES_DIR`.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from string import Template

from .images import coredns_ref
from .kube import kubectl
from .network import CLUSTER_DOMAIN, DNS_SERVICE_IP
from .paths import VOLUMES_DIR

MANIFESTS = Path(__file__).resolve().parent / "manifests"
STORAGE_CLASS = "local"
VOLUME_LABEL = "tweet-sentiment.local/static-volume"
# (name prefix, count, size): claims bind to the smallest volume that fits.
VOLUMES = (("ts-vol-5g", 12, "5Gi"), ("ts-vol-20g", 4, "20Gi"))


def _render(name: str) -> str:
    values = {
        "CLUSTER_DOMAIN": CLUSTER_DOMAIN,
        "DNS_SERVICE_IP": DNS_SERVICE_IP,
        "COREDNS_IMAGE": coredns_ref(),
        "VOLUME_COUNT": str(sum(n for _, n, _ in VOLUMES)),
    }
    return Template((MANIFESTS / name).read_text()).substitute(values)


def _volume_dir(name: str) -> Path:
    path = VOLUMES_DIR / name
    path.mkdir(parents=True, exist_ok=True)
    # Pods run as arbitrary non-root uids (185, 10001, ...) and local volumes get no fsGroup.
    path.chmod(0o777)
    return path


def _volume(name: str, size: str) -> dict[str, object]:
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolume",
        "metadata": {"name": name, "labels": {VOLUME_LABEL: "true"}},
        "spec": {
            "capacity": {"storage": size},
            "accessModes": ["ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany"],
            "persistentVolumeReclaimPolicy": "Retain",
            "storageClassName": STORAGE_CLASS,
            "volumeMode": "Filesystem",
            "local": {"path": str(_volume_dir(name))},
            "nodeAffinity": {
                "required": {
                    "nodeSelectorTerms": [
                        {
                            "matchExpressions": [
                                {"key": "kubernetes.io/hostname", "operator": "In", "values": ["localhost"]}
                            ]
                        }
                    ]
                }
            },
        },
    }


def apply() -> None:
    kubectl("apply", "-f", "-", stdin=_render("coredns.yaml"))
    kubectl("apply", "-f", "-", stdin=_render("storage.yaml"))
    volumes = [_volume(f"{prefix}-{i:02d}", size) for prefix, count, size in VOLUMES for i in range(count)]
    kubectl("apply", "-f", "-", stdin=json.dumps({"apiVersion": "v1", "kind": "List", "items": volumes}))


def recycle_volumes() -> list[str]:
    """Make released static volumes available again (their data wiped); returns their names."""
    out = kubectl("get", "pv", "-l", VOLUME_LABEL, "-o", "json")
    recycled = []
    for pv in json.loads(out)["items"]:
        if pv.get("status", {}).get("phase") not in {"Released", "Failed"}:
            continue
        name = pv["metadata"]["name"]
        path = VOLUMES_DIR / name
        shutil.rmtree(path, ignore_errors=True)
        _volume_dir(name)
        kubectl("patch", "pv", name, "--type", "json", "-p", '[{"op": "remove", "path": "/spec/claimRef"}]')
        recycled.append(name)
    return recycled
