"""Pure planners: from a spec and the observed cluster state to the Kubernetes objects we want.

Nothing here talks to the API server; ``kube`` applies what these functions return.
"""
