"""Bundled field tables (JSON), read by ``kmsdet.fields.registry``; see scripts/README.md."""
