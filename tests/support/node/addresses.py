"""Addresses of the one-node cluster, all inside its own network namespace."""

#: Node address (on a veth inside the namespace) and its prefix length.
NODE_IP = "10.203.0.2"
NODE_PREFIX = 24
#: Service ClusterIPs (the only route in the namespace) and pod addresses (CNI bridge).
SERVICE_CIDR = "10.96.0.0/12"
POD_CIDR = "10.88.0.0/16"
NODE_NAME = "vs-e2e-node"
