"""The docker-compose sandbox: one Elasticsearch node and Kibana for live rule tests.

The compose CLI starts the stack (it owns ordering, networks and volume creation); everything
else, status, logs, stopping and the pre-flight checks, goes through the Docker SDK so that it
works from the container labels alone and can be tested against a fake Engine API.
"""
