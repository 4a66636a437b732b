"""Shared fixtures for the cross-package tests (importlib mode: test modules cannot import each other)."""

import pathlib

import pytest

REPO_ROOT = pathlib.Path(__file__).resolve().parent.parent


@pytest.fixture
def repo_root():
    """The monorepo root (examples/, packages/, tests/ live here)."""
    return REPO_ROOT
