"""The reliability corpus (docs/reliability.md). A package, so that its test files may share a name with
tests elsewhere (tests/reliability/test_captioning.py and tests/apps/test_captioning.py)."""
