"""Tests of the Helm charts, images' Dockerfiles and local-cluster configuration."""
