"""HTTP entry points: thin routes that validate, call a service and translate the answer."""
