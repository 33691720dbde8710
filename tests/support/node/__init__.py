"""A real one-node Kubernetes cluster in a sandbox of its own, for the end-to-end test.

See README.md: ``python -m tests.support.node run -- COMMAND`` starts it, runs COMMAND, stops it
and checks that the host was left unchanged.
"""
