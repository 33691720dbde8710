"""Services: the product's logic, free of HTTP and Kubernetes (entry points translate to them)."""
