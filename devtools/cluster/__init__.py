"""A local single-node Kubernetes cluster for tests/k8s (see README.md in this folder).

Public API: build(), up(), down(), is_up(), status(), leftovers(), kubeconfig(), load_image(tar),
kubectl(*args);
the network constants live in devtools.cluster.network.
"""

from __future__ import annotations

from .cluster import build, down, is_up, kubeconfig, leftovers, status, up
from .images import load_image
from .kube import kubectl

__all__ = ["build", "down", "is_up", "kubeconfig", "kubectl", "leftovers", "load_image", "status", "up"]
