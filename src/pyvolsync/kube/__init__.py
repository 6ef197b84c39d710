"""The only code that talks to the Kubernetes API server.

Everything above this layer works with plain JSON-like objects; this layer turns them into API
calls (with lightkube) and API errors into the small error tree of ``kube.errors``.
"""
