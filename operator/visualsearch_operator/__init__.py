"""Kubernetes operator for visual-search: reconciles VisualSearchIndex and CatalogSource resources.

Layers, pointing down only: ``cli`` → ``handlers`` (thin kopf entry points) → ``services``
(reconcile logic, no kopf) → ``builders`` (pure manifest functions) and ``kube`` (the one
Kubernetes API adapter) → ``spec``/``constants``/``exceptions``.
"""

__all__: list[str] = []
