"""A real Kubernetes control plane on this machine, for integration tests and the demo.

There is no container engine or kind here, so kube-apiserver, kube-controller-manager and etcd are
built from the official Go modules (`build/`) and run as local processes (`controlplane`).
The node agent (`nodeagent`) plays kubelet, CSI driver and snapshot controller.
"""
