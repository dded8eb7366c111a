"""A real kube-apiserver (built from Debian's `kubernetes` source) and Debian's etcd, for the Kubernetes provider."""
