"""Product images: ``base`` (the interface and key rules), ``s3``, ``local``."""
