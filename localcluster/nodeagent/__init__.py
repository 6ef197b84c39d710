"""The node agent: one local "node" for the local control plane.

A real cluster needs a scheduler, a kubelet, a container runtime, a CSI driver with its external
provisioner and snapshotter, and a snapshot controller before a single backup Job can run. None
of those exist on a developer machine without containers, so this package plays all of them with
local directories and processes, talking only to the real kube-apiserver. Everything it does is
visible through the API exactly as a kubelet or provisioner would report it, so the operator
under test cannot tell the difference for the behaviour it relies on.
"""
